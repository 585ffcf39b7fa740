// Where questions are asked: the chosen collection ("" for all of them, remembered in
// localStorage) and the filter (documents, and metadata conditions ANDed together, kept
// in sessionStorage for the tab), as /ask takes them and in plain words. Pure state:
// collections.js and filters.js show it; a change is announced with a "rag:scope" event.

const COLLECTION_STORAGE = "rag.collection";
const FILTER_STORAGE = "rag.filter";

/** The comparisons a condition can make, and how they read. */
export const OPERATORS = { "==": "is", ">=": "≥", "<=": "≤" };

const state = {
  collection: "",
  documents: [], // [{ doc_id, title }]
  conditions: [], // [{ field: "meta.year", operator: "==" | ">=" | "<=", values: [...] }]
};

function load() {
  try {
    state.collection = localStorage.getItem(COLLECTION_STORAGE) || "";
    const saved = JSON.parse(sessionStorage.getItem(FILTER_STORAGE) || "null");
    if (saved && saved.collection === state.collection) {
      state.documents = Array.isArray(saved.documents) ? saved.documents : [];
      state.conditions = Array.isArray(saved.conditions) ? saved.conditions : [];
    }
  } catch {
    // Storage disabled or damaged: all collections, no filter.
  }
}
load();

function save() {
  try {
    if (state.collection) localStorage.setItem(COLLECTION_STORAGE, state.collection);
    else localStorage.removeItem(COLLECTION_STORAGE);
    const { collection, documents, conditions } = state;
    if (documents.length || conditions.length) {
      sessionStorage.setItem(FILTER_STORAGE, JSON.stringify({ collection, documents, conditions }));
    } else {
      sessionStorage.removeItem(FILTER_STORAGE);
    }
  } catch {
    // Not kept across reloads, then.
  }
}

function changed(collection = false) {
  save();
  document.dispatchEvent(new CustomEvent("rag:scope", { detail: { collection } }));
}

/** The chosen collection's name, or "" for every collection the key may read. */
export function currentCollection() {
  return state.collection;
}

/** Where an upload goes: the chosen collection, or `default` when all are chosen. */
export function uploadCollection() {
  return state.collection || "default";
}

/** Choose a collection ("" for all); the filter, which named another's, is cleared. */
export function setCollection(name) {
  if (name === state.collection) return;
  state.collection = name;
  state.documents = [];
  state.conditions = [];
  changed(true);
}

export function chosenDocuments() {
  return state.documents;
}

export function setDocuments(documents) {
  state.documents = documents.map(({ doc_id, title }) => ({ doc_id, title }));
  changed();
}

export function conditions() {
  return state.conditions;
}

export function setConditions(list) {
  state.conditions = list.map(({ field, operator, values }) => ({ field, operator, values }));
  changed();
}

export function clearFilter() {
  setDocuments([]);
  setConditions([]);
}

/** The conditions that say something (a field and at least one value). */
function complete() {
  return state.conditions.filter((c) => c.field && c.values.length && OPERATORS[c.operator]);
}

export function hasFilter() {
  return state.documents.length > 0 || complete().length > 0;
}

/** The filter in /ask's syntax (docs/filters.md), or undefined for none. */
export function filterBody() {
  const parts = [];
  if (state.documents.length) {
    parts.push({ field: "doc_id", operator: "in", value: state.documents.map((d) => d.doc_id) });
  }
  for (const { field, operator, values } of complete()) {
    if (operator === "==" && values.length > 1) parts.push({ field, operator: "in", value: values });
    else parts.push({ field, operator, value: values[0] });
  }
  if (parts.length > 1) return { operator: "AND", conditions: parts };
  return parts[0];
}

/** What /ask takes besides the question: the collection and the filter, if any. */
export function askBody() {
  const body = {};
  if (state.collection) body.collections = [state.collection];
  const filters = filterBody();
  if (filters) body.filters = filters;
  return body;
}

/** A value as people read it: a date at midnight UTC as its day, others as they are. */
export function shownValue(value) {
  if (typeof value === "string") {
    const day = /^(\d{4}-\d{2}-\d{2})T00:00:00(\.0+)?Z$/.exec(value);
    if (day) return day[1];
    return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(value) ? value.replace("T", " ") : value;
  }
  return String(value);
}

export function fieldName(field) {
  return field.startsWith("meta.") ? field.slice(5) : field;
}

function quoted(title) {
  return `“${title || "Untitled document"}”`;
}

/** The filter's parts in plain words: "“Handbook”", "year ≥ 2020", "team is hr or ops". */
export function filterWords() {
  const words = [];
  const docs = state.documents;
  if (docs.length === 1) words.push(`document ${quoted(docs[0].title)}`);
  else if (docs.length === 2) words.push(`documents ${quoted(docs[0].title)} and ${quoted(docs[1].title)}`);
  else if (docs.length > 2) words.push(`${docs.length} chosen documents`);
  for (const { field, operator, values } of complete()) {
    const shown = values.map(shownValue);
    const list = shown.length > 1 ? `${shown.slice(0, -1).join(", ")} or ${shown.at(-1)}` : shown[0];
    words.push(`${fieldName(field)} ${OPERATORS[operator]} ${list}`);
  }
  return words;
}

/** The whole scope in plain words: "in legal, year ≥ 2020", "in all collections". */
export function describeScope() {
  const where = state.collection ? `in ${state.collection}` : "in all collections";
  return [where, ...filterWords()].join(", ");
}

/** Whether questions are asked in anything narrower than every collection. */
export function isNarrowed() {
  return Boolean(state.collection) || hasFilter();
}
