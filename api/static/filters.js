// The filter panel and the line that says where questions are asked: "Asking in legal,
// year ≥ 2020" with "Clear filter". The panel picks documents of the chosen collection
// (a doc_id "in" filter) and metadata conditions (conditions.js), whose fields come from
// GET /collections/{name}/fields (for all collections, each one's, merged).

import { api, el } from "./common.js";
import { initConditions, resetConditions, setFields } from "./conditions.js";
import {
  chosenDocuments,
  clearFilter,
  currentCollection,
  describeScope,
  filterWords,
  hasFilter,
  isNarrowed,
  setDocuments,
} from "./scope.js";

const $ = (id) => document.getElementById(id);
const ui = {
  toggle: $("filter-toggle"),
  panel: $("filter-panel"),
  docs: $("filter-docs"),
  docsEmpty: $("filter-docs-empty"),
  words: $("scope-words"),
  clear: $("clear-filter"),
  composerScope: $("composer-scope"),
};

const MAX_VALUES = 50; // as the server caps each field's values
const MAX_COLLECTIONS = 20; // whose fields are merged when all collections are chosen
let offered = []; // the documents shown in the panel: the documents panel's list
let fieldsAsked = 0; // the latest fields request; older answers are dropped

/** The summary line, the toggle's count, and which documents are ticked. */
function showScope() {
  const words = describeScope();
  ui.words.textContent = `Asking ${words}`;
  ui.composerScope.textContent = isNarrowed() ? `Asking ${words} · ` : "";
  ui.clear.hidden = !hasFilter();
  const parts = filterWords().length;
  ui.toggle.textContent = parts ? `Filter (${parts})` : "Filter";
  const chosen = new Set(chosenDocuments().map((d) => d.doc_id));
  for (const box of ui.docs.querySelectorAll("input[type=checkbox]")) {
    box.checked = chosen.has(box.value);
  }
}

function tickedDocuments() {
  const ticked = new Set(
    [...ui.docs.querySelectorAll("input:checked")].map((box) => box.value),
  );
  return offered.filter((d) => ticked.has(d.doc_id));
}

function renderDocuments() {
  const chosen = new Set(chosenDocuments().map((d) => d.doc_id));
  ui.docs.replaceChildren(
    ...offered.map((doc) => {
      const box = el("input", { attrs: { type: "checkbox", value: doc.doc_id } });
      box.checked = chosen.has(doc.doc_id);
      box.addEventListener("change", () => setDocuments(tickedDocuments()));
      return el("li", {}, el("label", { class: "filter-doc" }, box, doc.title || "Untitled document"));
    }),
  );
  ui.docsEmpty.hidden = offered.length > 0;
}

/** The documents panel listed the chosen collection: offer them; forget deleted ones. */
function documentsListed(docs) {
  offered = docs;
  const here = new Set(docs.map((d) => d.doc_id));
  const kept = chosenDocuments().filter((d) => here.has(d.doc_id));
  if (kept.length !== chosenDocuments().length) setDocuments(kept);
  renderDocuments();
}

/** Each field's values over several collections, in the order the server gives. */
function merged(answers) {
  const fields = {};
  for (const answer of answers) {
    for (const [field, values] of Object.entries(answer?.fields || {})) {
      const list = (fields[field] ||= []);
      for (const v of values) if (!list.includes(v) && list.length < MAX_VALUES) list.push(v);
    }
  }
  return Object.fromEntries(Object.keys(fields).sort().map((f) => [f, fields[f]]));
}

/** Ask for the fields of the chosen collection, or of every listed one. */
async function refreshFields(listed) {
  const asked = ++fieldsAsked;
  const chosen = currentCollection();
  const names = chosen ? [chosen] : listed.slice(0, MAX_COLLECTIONS).map((c) => c.name);
  const field = (name) => api(`/collections/${encodeURIComponent(name)}/fields`);
  let answers;
  try {
    answers = await Promise.all(names.map(field));
  } catch {
    return; // the picker says what is wrong with the collections
  }
  if (asked === fieldsAsked) setFields(merged(answers));
}

function togglePanel() {
  const open = ui.panel.hidden;
  ui.panel.hidden = !open;
  ui.toggle.setAttribute("aria-expanded", String(open));
}

/** The panel, its toggle and "Clear filter"; kept in step with scope.js. */
export function initFilters() {
  initConditions();
  let listed = [];
  ui.toggle.addEventListener("click", togglePanel);
  ui.clear.addEventListener("click", () => {
    clearFilter();
    resetConditions();
    ui.toggle.focus();
  });
  document.addEventListener("rag:scope", (event) => {
    showScope();
    if (event.detail?.collection) {
      resetConditions();
      refreshFields(listed);
    }
  });
  document.addEventListener("rag:documents", (event) => documentsListed(event.detail || []));
  document.addEventListener("rag:collections", (event) => {
    listed = event.detail || [];
    refreshFields(listed);
  });
  showScope();
}
