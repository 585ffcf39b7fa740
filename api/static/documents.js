// The documents panel: the list with a confirmed delete, and the service status line
// (documents and passages indexed, whether writes need a key).

import { api, el, plural, setStatus, viewUrl } from "./common.js";
import { ensureKey, setKeyRequired, updateKeyUi, writeFailed } from "./key.js";

const $ = (id) => document.getElementById(id);
const ui = {
  serviceStatus: $("service-status"),
  docList: $("doc-list"),
  docCount: $("doc-count"),
  docListStatus: $("doc-list-status"),
};

let afterDelete = () => {};

/** `options.afterDelete`: where the focus goes once a document is deleted. */
export function initDocuments(options = {}) {
  afterDelete = options.afterDelete || afterDelete;
}

function confirmDelete(item, doc, actions) {
  const title = doc.title || "Untitled document";
  const yes = el("button", {
    class: "btn btn-small btn-danger",
    text: "Delete",
    attrs: { type: "button", "aria-label": `Yes, delete “${title}”` },
  });
  const no = el("button", { class: "btn btn-small", text: "Cancel", attrs: { type: "button" } });
  const status = el("p", { class: "form-status", attrs: { role: "status" } });
  const box = el(
    "div",
    { class: "confirm", attrs: { role: "group", "aria-label": `Delete “${title}”?` } },
    el("span", { class: "confirm-text", text: "Delete this document?" }),
    el("div", { class: "confirm-buttons" }, yes, no),
    status,
  );
  const cancel = () => {
    box.replaceWith(actions);
    actions.querySelector(".btn-delete")?.focus();
  };
  no.addEventListener("click", cancel);
  box.addEventListener("keydown", (event) => {
    if (event.key === "Escape") cancel();
  });
  yes.addEventListener("click", async () => {
    if (!ensureKey()) return;
    yes.disabled = true;
    no.disabled = true;
    setStatus(status, "Deleting…");
    try {
      await api(`/documents/${encodeURIComponent(doc.doc_id)}`, { method: "DELETE", auth: true });
      setStatus(ui.docListStatus, `Deleted “${title}”.`);
      item.remove();
      await Promise.all([refreshDocuments(), refreshHealth()]);
      afterDelete();
    } catch (err) {
      yes.disabled = false;
      no.disabled = false;
      writeFailed(err, status);
    }
  });
  actions.replaceWith(box);
  no.focus();
}

function documentItem(doc) {
  const title = doc.title || "Untitled document";
  const item = el("li", { class: "doc-item" });
  const remove = el("button", {
    class: "btn btn-small btn-ghost btn-delete",
    text: "Delete",
    attrs: { type: "button", "aria-label": `Delete “${title}”` },
  });
  const actions = el("div", { class: "doc-actions" }, remove);
  remove.addEventListener("click", () => confirmDelete(item, doc, actions));
  const characters = Number(doc.characters) || 0;
  const chunks = Number(doc.chunks) || 0;
  item.append(
    el(
      "div",
      { class: "doc-info" },
      el("a", { class: "doc-title", text: title, attrs: { href: viewUrl(doc.doc_id) } }),
      el("p", {
        class: "doc-meta",
        text: `${plural(characters, "character")} · ${plural(chunks, "passage")}`,
      }),
    ),
    actions,
  );
  return item;
}

export async function refreshDocuments() {
  try {
    const data = await api("/documents");
    const docs = data?.documents || [];
    ui.docList.replaceChildren(...docs.map(documentItem));
    ui.docCount.textContent = String(docs.length);
    ui.docCount.setAttribute("aria-label", plural(docs.length, "document"));
    if (!docs.length) setStatus(ui.docListStatus, "No documents yet. Add one below.");
    else if (ui.docListStatus.dataset.kind === "error") setStatus(ui.docListStatus, "");
  } catch (err) {
    setStatus(ui.docListStatus, `Couldn’t load the documents: ${err.message || err}`, "error");
  }
}

export async function refreshHealth() {
  try {
    const health = await api("/health");
    setKeyRequired(Boolean(health?.api_key_required));
    document.dispatchEvent(new CustomEvent("rag:health", { detail: health }));
    ui.serviceStatus.textContent = `${plural(Number(health?.documents) || 0, "document")} · ${plural(
      Number(health?.chunks) || 0,
      "passage",
    )}`;
    ui.serviceStatus.dataset.state = "ok";
  } catch (err) {
    ui.serviceStatus.textContent = "Service unavailable";
    ui.serviceStatus.title = err.message || String(err);
    ui.serviceStatus.dataset.state = "down";
  }
  updateKeyUi();
}
