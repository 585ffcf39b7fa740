// The collection picker: the collections the caller's key may read (GET /collections),
// "All collections" first; the choice is kept by scope.js. A chosen collection that is
// gone, or no longer readable, falls back to all. The list is announced with a
// "rag:collections" event (filters.js reads each one's fields, documents.js its counts).

import { api, el, plural, setStatus } from "./common.js";
import { currentCollection, setCollection } from "./scope.js";

const $ = (id) => document.getElementById(id);
const ui = {
  picker: $("collection"),
  status: $("collection-status"),
};

let known = []; // [{ name, documents, passages }]

/** The collections last listed. */
export function collections() {
  return known;
}

function option(value, text) {
  return el("option", { text, attrs: { value } });
}

function render() {
  const chosen = currentCollection();
  ui.picker.replaceChildren(
    option("", "All collections"),
    ...known.map((c) => option(c.name, `${c.name} (${plural(c.documents, "document")})`)),
  );
  // Until the list comes, the remembered choice is shown as it is.
  if (chosen && !known.some((c) => c.name === chosen)) ui.picker.append(option(chosen, chosen));
  ui.picker.value = chosen;
}

/** List the collections again; fall back to all when the chosen one is not among them. */
export async function refreshCollections() {
  try {
    const data = await api("/collections");
    known = Array.isArray(data?.collections) ? data.collections : [];
  } catch (err) {
    setStatus(ui.status, `Couldn’t list the collections: ${err.message || err}`, "error");
    return;
  }
  const chosen = currentCollection();
  if (chosen && !known.some((c) => c.name === chosen)) {
    setStatus(ui.status, `The collection “${chosen}” is not available; asking in all collections.`);
    setCollection("");
  } else if (ui.status.dataset.kind === "error") {
    setStatus(ui.status, "");
  }
  render();
  document.dispatchEvent(new CustomEvent("rag:collections", { detail: known }));
}

/** The picker: choosing a collection narrows questions, the documents and uploads. */
export function initCollections() {
  render();
  ui.picker.addEventListener("change", () => {
    setStatus(ui.status, "");
    setCollection(ui.picker.value);
  });
}
