// The metadata part of the filter: rows of "field, comparison, value(s)", ANDed. A field
// and its values come from GET /collections/{name}/fields; "is" takes one or more values
// (any of them), "≥" and "≤" one, and only for numbers and dates. Each edit is handed
// to scope.js at once.

import { el } from "./common.js";
import { conditions, fieldName, setConditions, shownValue } from "./scope.js";

const $ = (id) => document.getElementById(id);
const ui = {
  list: $("conditions"),
  add: $("add-condition"),
  hint: $("fields-hint"),
};

const COMPARISONS = [
  ["==", "is"],
  [">=", "is at least (≥)"],
  ["<=", "is at most (≤)"],
];

let fields = {}; // { "meta.year": [2019, 2024], ... }
let rows = []; // [{ field, operator, values }]

const isDate = (v) => typeof v === "string" && /^\d{4}-\d{2}-\d{2}/.test(v);

/** Whether a field's values can be ordered: all numbers, or all dates. */
function ordered(field) {
  const values = fields[field] || [];
  return values.length > 0 && (values.every((v) => typeof v === "number") || values.every(isDate));
}

function publish() {
  setConditions(rows);
}

function select(label, options, chosen) {
  const node = el("select", { attrs: { "aria-label": label } });
  for (const [value, text] of options) {
    const option = el("option", { text, attrs: { value } });
    option.selected = value === chosen;
    node.append(option);
  }
  return node;
}

/** "is": a checkbox per known value; "≥"/"≤": one value from a list. */
function valuesControl(row) {
  const known = fields[row.field] || [];
  const name = fieldName(row.field);
  if (row.operator !== "==") {
    const options = [["", "Choose a value"], ...known.map((v, i) => [String(i), shownValue(v)])];
    const at = known.findIndex((v) => v === row.values[0]);
    const node = select(`Value of ${name}`, options, at < 0 ? "" : String(at));
    node.addEventListener("change", () => {
      row.values = node.value === "" ? [] : [known[Number(node.value)]];
      publish();
    });
    return node;
  }
  const group = el("div", { class: "condition-values", attrs: { role: "group", "aria-label": `Values of ${name}` } });
  known.forEach((value) => {
    const box = el("input", { attrs: { type: "checkbox" } });
    box.checked = row.values.includes(value);
    box.addEventListener("change", () => {
      row.values = known.filter((v) => (v === value ? box.checked : row.values.includes(v)));
      publish();
    });
    group.append(el("label", { class: "chip" }, box, shownValue(value)));
  });
  return group;
}

function rowNode(row, index) {
  const names = Object.keys(fields);
  const field = select(
    "Field",
    [["", "Choose a field"], ...names.map((f) => [f, fieldName(f)])],
    row.field,
  );
  const comparisons = ordered(row.field) ? COMPARISONS : COMPARISONS.slice(0, 1);
  const comparison = select("Comparison", comparisons, row.operator);
  const remove = el("button", {
    class: "btn btn-small btn-ghost",
    text: "Remove",
    attrs: { type: "button", "aria-label": `Remove condition ${index + 1}` },
  });
  const values = row.field ? valuesControl(row) : null;
  const one = values?.tagName === "SELECT"; // "≥"/"≤": its value goes on the same line
  const node = el(
    "li",
    { class: "condition", attrs: { "aria-label": `Condition ${index + 1}` } },
    el("div", { class: "condition-head" }, field, comparison, one ? values : null, remove),
    one ? null : values,
  );
  field.addEventListener("change", () => {
    Object.assign(row, { field: field.value, operator: "==", values: [] });
    redraw(node, row, index, "Field");
  });
  comparison.addEventListener("change", () => {
    row.operator = comparison.value;
    row.values = row.values.slice(0, row.operator === "==" ? undefined : 1);
    redraw(node, row, index, "Comparison");
  });
  remove.addEventListener("click", () => {
    rows.splice(index, 1);
    publish();
    render();
    (ui.list.querySelector("select") || ui.add).focus();
  });
  return node;
}

/** Draw a row again after its field or comparison changed; the focus stays put. */
function redraw(node, row, index, focused) {
  publish();
  const fresh = rowNode(row, index);
  node.replaceWith(fresh);
  fresh.querySelector(`select[aria-label="${focused}"]`)?.focus();
}

function render() {
  ui.list.replaceChildren(...rows.map(rowNode));
  const some = Object.keys(fields).length > 0;
  ui.add.hidden = !some;
  ui.hint.textContent = some ? "" : "These documents have no metadata to filter by.";
}

/** The fields of the chosen collection came: rows naming fields no longer there go. */
export function setFields(found) {
  fields = found || {};
  rows = conditions()
    .filter((c) => c.field === "" || c.field in fields)
    .map((c) => ({ ...c, values: [...c.values] }));
  if (rows.length !== conditions().length) publish();
  render();
}

/** Show the conditions scope.js holds (after the filter was cleared). */
export function resetConditions() {
  rows = conditions().map((c) => ({ ...c, values: [...c.values] }));
  render();
}

export function initConditions() {
  ui.add.addEventListener("click", () => {
    rows.push({ field: "", operator: "==", values: [] });
    publish();
    render();
    ui.list.lastElementChild?.querySelector("select")?.focus();
  });
  render();
}
