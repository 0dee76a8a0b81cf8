// The CRM search page's pure logic: filter rows, their checks, the `crm.search` params, paging text.
//
// The daemon describes the filterable fields (`crm.fields`: widget, operators, options) and checks
// every filter again before it spends a CATS request; checking here too means a typo is shown next
// to its row at once instead of coming back as an error.

/**
 * @typedef {"text" | "option" | "checkbox" | "date" | "number" | "user" | "company"} FilterWidget
 * @typedef {"contains" | "exactly" | "is_empty" | "greater_than" | "less_than" | "between"} Operator
 * @typedef {"candidates" | "contacts"} RecordType
 * @typedef {{ value: string | number, label: string }} Option
 * @typedef {{ field: string, label: string, widget: FilterWidget, operators: Operator[], options: Option[] }} FilterField
 * @typedef {{ field: string, reason: string }} UnusableField
 * @typedef {{ key: string, label: string }} Column
 * @typedef {{ record_type: RecordType, fields: FilterField[], unusable: UnusableField[], columns: Column[] }} FieldsReply
 * @typedef {{ id: number, field: string, op: Operator, value: string, value2: string }} FilterRow
 *   One row of the page; values are kept as the inputs hold them (text).
 * @typedef {{ field: string, op: Operator, value?: unknown }} Filter  As `crm.search` takes it.
 * @typedef {{ id: number, name: string, url: string | null, cells: Record<string, string> }} ResultRow
 * @typedef {{
 *   record_type: RecordType, page: number, per_page: number, total: number | null, pages: number | null,
 *   has_next: boolean, columns: Column[], rows: ResultRow[], site_known: boolean,
 * }} SearchResult
 */

export const PER_PAGE = 25;

/** The page's words for each operator; dates read "after/before", numbers "more/less than". */
const LABELS = {
  contains: "contains",
  exactly: "is",
  is_empty: "is empty",
  greater_than: "more than",
  less_than: "less than",
  between: "between",
};

/**
 * @param {FilterWidget} widget
 * @param {Operator} op
 */
export function operatorLabel(widget, op) {
  if (widget === "date" && op === "greater_than") return "after";
  if (widget === "date" && op === "less_than") return "before";
  return LABELS[op];
}

let nextRowId = 1;

/**
 * A new row on `field` with its first operator.
 * @param {FilterField} field
 * @returns {FilterRow}
 */
export function newRow(field) {
  const value = field.widget === "checkbox" ? "true" : "";
  return { id: nextRowId++, field: field.field, op: field.operators[0], value, value2: "" };
}

/**
 * The row moved to another field: the operator is kept when the new field has it.
 * @param {FilterRow} row
 * @param {FilterField} field
 * @returns {FilterRow}
 */
export function changeField(row, field) {
  const op = field.operators.includes(row.op) ? row.op : field.operators[0];
  return { ...row, field: field.field, op, value: field.widget === "checkbox" ? "true" : "", value2: "" };
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/**
 * One value of a row in the encoding `crm.search` takes, or an error message.
 * @param {FilterField} field
 * @param {string} raw
 * @returns {{ value: unknown } | { error: string }}
 */
function convert(field, raw) {
  const text = raw.trim();
  switch (field.widget) {
    case "checkbox":
      return { value: text === "true" };
    case "date":
      return DATE.test(text) && !Number.isNaN(Date.parse(text)) ? { value: text } : { error: "Enter a date (YYYY-MM-DD)" };
    case "number":
      return NUMBER.test(text) ? { value: Number(text) } : { error: "Enter a number" };
    case "user":
    case "company":
      return /^[1-9]\d*$/.test(text) ? { value: Number(text) } : { error: `Choose a ${field.widget}` };
    case "option":
      if (!text) return { error: "Choose an option" };
      return field.options.length && !field.options.some((o) => String(o.value) === text)
        ? { error: "Choose one of the options" }
        : { value: text };
    default:
      return text ? { value: text } : { error: "Enter some text" };
  }
}

/**
 * The filter a row stands for, or why it cannot be sent.
 * @param {FilterField | undefined} field
 * @param {FilterRow} row
 * @returns {{ filter: Filter } | { error: string }}
 */
export function rowFilter(field, row) {
  if (!field) return { error: "This field is no longer filterable" };
  if (!field.operators.includes(row.op)) return { error: `"${operatorLabel(field.widget, row.op)}" does not apply here` };
  if (row.op === "is_empty") return { filter: { field: row.field, op: "is_empty", value: true } };
  const first = convert(field, row.value);
  if ("error" in first) return first;
  if (row.op !== "between") return { filter: { field: row.field, op: row.op, value: first.value } };
  const second = convert(field, row.value2);
  if ("error" in second) return second;
  const [low, high] = [first.value, second.value];
  if (/** @type {any} */ (low) > /** @type {any} */ (high)) return { error: "The first value must not be after the second" };
  return { filter: { field: row.field, op: "between", value: [low, high] } };
}

/**
 * The `crm.search` params, or the error of each bad row (by row id).
 * @param {{ recordType: RecordType, rows: FilterRow[], query: string, page: number, perPage?: number }} search
 * @param {FilterField[]} fields
 * @returns {{ params: Record<string, unknown> } | { errors: Record<number, string> }}
 */
export function searchParams(search, fields) {
  const byRef = new Map(fields.map((f) => [f.field, f]));
  /** @type {Filter[]} */
  const filters = [];
  /** @type {Record<number, string>} */
  const errors = {};
  for (const row of search.rows) {
    const result = rowFilter(byRef.get(row.field), row);
    if ("error" in result) errors[row.id] = result.error;
    else filters.push(result.filter);
  }
  if (Object.keys(errors).length) return { errors };
  /** @type {Record<string, unknown>} */
  const params = {
    record_type: search.recordType,
    filters,
    page: Math.max(1, Math.floor(search.page)),
    per_page: search.perPage || PER_PAGE,
  };
  if (search.query.trim()) params.query = search.query.trim();
  return { params };
}

/**
 * "Records 26–50 of 57 · page 2 of 3".
 * @param {SearchResult} result
 */
export function pageSummary(result) {
  if (result.rows.length === 0) return result.page > 1 ? "No records on this page" : "No matching records";
  const first = (result.page - 1) * result.per_page + 1;
  const last = first + result.rows.length - 1;
  const of = result.total === null ? "" : ` of ${result.total}`;
  const pages = result.pages === null ? "" : ` · page ${result.page} of ${result.pages}`;
  return `Records ${first}–${last}${of}${pages}`;
}

/** @param {SearchResult} result */
export function canGoBack(result) {
  return result.page > 1;
}

/** @param {SearchResult} result */
export function canGoOn(result) {
  return result.has_next;
}
