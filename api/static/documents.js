// The documents panel: the chosen collection's documents (all of them when all are
// chosen) with a confirmed delete, announced with a "rag:documents" event (filters.js
// offers them), and the service status line (documents and passages indexed, whether
// writes need a key; once keys exist, /health counts nothing and the caller's
// collections are counted instead).

import { api, el, plural, setStatus, viewUrl } from "./common.js";
import { refreshCollections } from "./collections.js";
import { ensureKey, setKeyRequired, updateKeyUi, writeFailed } from "./key.js";
import { currentCollection } from "./scope.js";

const $ = (id) => document.getElementById(id);
const ui = {
  serviceStatus: $("service-status"),
  docList: $("doc-list"),
  docCount: $("doc-count"),
  docListStatus: $("doc-list-status"),
  docsScope: $("docs-scope"),
};

let afterDelete = () => {};
let counted = true; // whether /health counts the documents (not once keys exist)
let readable = null; // the caller's collections, as last listed

function showCounts(documents, passages) {
  ui.serviceStatus.textContent = `${plural(documents, "document")} · ${plural(passages, "passage")}`;
}

/** Once keys exist: the documents and passages of the collections the key may read. */
function showReadableCounts() {
  if (counted || !readable) return;
  const sum = (name) => readable.reduce((n, c) => n + (Number(c[name]) || 0), 0);
  showCounts(sum("documents"), sum("passages"));
}

/** `options.afterDelete`: where the focus goes once a document is deleted. */
export function initDocuments(options = {}) {
  afterDelete = options.afterDelete || afterDelete;
  document.addEventListener("rag:scope", (event) => {
    if (event.detail?.collection) refreshDocuments();
  });
  document.addEventListener("rag:collections", (event) => {
    readable = event.detail || [];
    showReadableCounts();
  });
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
      await Promise.all([refreshDocuments(), refreshHealth(), refreshCollections()]);
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
  const collection = currentCollection();
  ui.docsScope.textContent = collection ? `In ${collection}` : "In all collections";
  try {
    const query = collection ? `?collection=${encodeURIComponent(collection)}` : "";
    const data = await api(`/documents${query}`);
    if (collection !== currentCollection()) return; // another was chosen meanwhile
    const docs = data?.documents || [];
    document.dispatchEvent(new CustomEvent("rag:documents", { detail: docs }));
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
    counted = health?.documents !== null && health?.documents !== undefined;
    if (counted) showCounts(Number(health.documents) || 0, Number(health?.chunks) || 0);
    else if (readable) showReadableCounts();
    else ui.serviceStatus.textContent = "Connected";
    ui.serviceStatus.dataset.state = "ok";
  } catch (err) {
    ui.serviceStatus.textContent = "Service unavailable";
    ui.serviceStatus.title = err.message || String(err);
    ui.serviceStatus.dataset.state = "down";
  }
  updateKeyUi();
}
