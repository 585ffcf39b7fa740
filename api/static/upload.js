// Adding documents: files (picked or dropped, one request and one progress line each)
// or pasted text, into the chosen collection (`default` when all are chosen), then the
// lists and the status line are refreshed. A large one is answered with a job (202),
// whose progress bar its line shows until it ends (jobs.js).

import { ApiError, api, describeError, el, plural, setStatus } from "./common.js";
import { refreshCollections } from "./collections.js";
import { refreshDocuments, refreshHealth } from "./documents.js";
import { followJob, isJob } from "./jobs.js";
import { ensureKey, writeFailed } from "./key.js";
import { currentCollection, uploadCollection } from "./scope.js";

const $ = (id) => document.getElementById(id);
const ui = {
  addForm: $("add-form"),
  docTitle: $("doc-title"),
  docFile: $("doc-file"),
  fileTypes: $("file-types"),
  docText: $("doc-text"),
  addSubmit: $("add-submit"),
  addStatus: $("add-status"),
  dropZone: $("drop-zone"),
  uploads: $("upload-progress"),
  addScope: $("add-scope"),
};

// Whether the key may use `default`, where uploads go while all collections are chosen.
let defaultListed = true;

/** The collection an upload goes into, or "" when none can be (asks to choose one). */
function target() {
  return (currentCollection() || defaultListed) ? uploadCollection() : "";
}

function showTarget() {
  ui.addScope.textContent = target()
    ? `Goes into the collection “${target()}”.`
    : "Choose a collection above to add documents to.";
}

// The file types the server reads, as /health lists them (one list, in rag's formats).
let fileTypes = [];
document.addEventListener("rag:health", (event) => {
  fileTypes = (event.detail?.file_types || []).map((t) => t.toLowerCase());
  ui.docFile.accept = fileTypes.join(",");
  ui.fileTypes.textContent = fileTypes.join(", ");
});
const supported = (name) =>
  !fileTypes.length || fileTypes.some((t) => name.toLowerCase().endsWith(t));

/** One line per file: its name, then what became of it (`show.line`: the item). */
function progressLine(name) {
  const status = el("span", { class: "upload-state", text: "waiting…" });
  const line = el("li", { class: "upload", attrs: { "data-state": "waiting" } },
    el("span", { class: "upload-name", text: name }), status);
  ui.uploads.append(line);
  const show = (text, kind) => {
    status.textContent = text;
    line.dataset.state = kind;
  };
  show.line = line;
  return show;
}

/**
 * The reply of an upload, or, when it is a job, what the job stored once it has ended
 * (its bar shown in the line meanwhile): `{documents, errors}` as a file upload answers.
 */
async function outcome(reply, show) {
  if (!isJob(reply)) return reply;
  show("accepted: runs on the server", "busy");
  const job = await followJob(reply, show.line);
  if (job.state === "done") return job;
  const detail = job.state === "cancelled" ? "the upload was cancelled" : job.error;
  throw new ApiError(job.status || 500, detail || "the upload failed");
}

function addedMessage(doc) {
  const name = doc?.title || "the document";
  return doc?.created === false
    ? `“${name}” was already indexed.`
    : `Added “${name}”. You can ask about it now.`;
}

async function uploadFiles(files, title) {
  ui.uploads.replaceChildren();
  let added = 0;
  let failed = 0;
  let last = null;
  for (const file of files) {
    const show = progressLine(file.name);
    if (!supported(file.name)) {
      show(`not added: only ${fileTypes.join(", ")} files`, "error");
      failed += 1;
      continue;
    }
    show("uploading…", "busy");
    const form = new FormData();
    form.append("files", file, file.name);
    form.append("collection", target());
    if (title && files.length === 1) form.append("title", title);
    try {
      const sent = await api("/documents/files", { method: "POST", form, auth: true });
      const reply = await outcome(sent, show);
      const doc = reply?.documents?.[0];
      last = doc;
      show(doc?.created === false ? `already indexed as “${doc.title}”` : `added as “${doc?.title}”`,
        "success");
      added += 1;
    } catch (err) {
      failed += 1;
      if (err instanceof ApiError && err.status === 401) {
        writeFailed(err, ui.addStatus);
        show("not added: the API key was refused", "error");
        break;
      }
      show(`not added: ${describeError(err)}`, "error");
    }
  }
  return { added, failed, last };
}

/** A long pasted text's job, followed in a line of its own; its document. */
async function pastedJob(job) {
  ui.uploads.replaceChildren();
  const show = progressLine("the pasted text");
  try {
    const doc = (await outcome(job, show)).documents[0];
    show(`added as “${doc?.title}”`, "success");
    return doc;
  } catch (err) {
    show(`not added: ${describeError(err)}`, "error");
    throw err;
  }
}

/** Add the picked or dropped files, or else the pasted text. */
async function addDocuments(event) {
  event.preventDefault();
  const files = [...(ui.docFile.files || [])];
  const text = ui.docText.value;
  const title = ui.docTitle.value.trim();
  if (!files.length && !text.trim()) {
    setStatus(ui.addStatus, "Choose or drop files, or paste some text, first.", "error");
    ui.docFile.focus();
    return;
  }
  if (!target()) {
    setStatus(ui.addStatus, "Choose a collection above first: this key has no “default”.", "error");
    document.getElementById("collection").focus();
    return;
  }
  if (!ensureKey()) return;
  ui.addSubmit.disabled = true;
  ui.addForm.setAttribute("aria-busy", "true");
  try {
    if (files.length) {
      setStatus(ui.addStatus, `Adding ${plural(files.length, "file")}…`);
      const { added, failed, last } = await uploadFiles(files, title);
      if (files.length === 1 && added) {
        setStatus(ui.addStatus, addedMessage(last), "success");
      } else if (ui.addStatus.dataset.kind !== "error" || !failed) {
        const unused = files.length > 1 && title ? " The title was not used: it names one file." : "";
        const summary = `${plural(added, "file")} added${failed ? `, ${failed} not` : ""}.`;
        setStatus(ui.addStatus, summary + unused, failed ? "error" : "success");
      }
    } else {
      setStatus(ui.addStatus, "Adding the text…");
      const sent = await api("/documents", {
        method: "POST",
        json: { ...(title ? { title } : {}), text, collection: target() },
        auth: true,
      });
      const reply = isJob(sent) ? await pastedJob(sent) : sent;
      setStatus(ui.addStatus, addedMessage(reply), "success");
    }
    ui.addForm.reset();
    await Promise.all([refreshDocuments(), refreshHealth(), refreshCollections()]);
  } catch (err) {
    writeFailed(err, ui.addStatus);
  } finally {
    ui.addSubmit.disabled = false;
    ui.addForm.removeAttribute("aria-busy");
  }
}

/** The add form and its drop zone. */
export function initUpload() {
  ui.addForm.addEventListener("submit", addDocuments);
  showTarget();
  document.addEventListener("rag:scope", showTarget);
  document.addEventListener("rag:collections", (event) => {
    defaultListed = (event.detail || []).some((c) => c.name === "default");
    showTarget();
  });

  for (const name of ["dragenter", "dragover"]) {
    ui.dropZone.addEventListener(name, (event) => {
      event.preventDefault();
      ui.dropZone.dataset.over = "true";
    });
  }
  for (const name of ["dragleave", "drop"]) {
    ui.dropZone.addEventListener(name, () => delete ui.dropZone.dataset.over);
  }
  ui.dropZone.addEventListener("drop", (event) => {
    event.preventDefault();
    if (event.dataTransfer?.files?.length) ui.docFile.files = event.dataTransfer.files;
  });
}
