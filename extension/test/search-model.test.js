// The CRM search page's pure rules: filter rows -> crm.search params, row checks, paging text.

import { test } from "node:test";
import assert from "node:assert/strict";

import {
  canGoBack,
  canGoOn,
  changeField,
  newRow,
  operatorLabel,
  pageSummary,
  rowFilter,
  searchParams,
} from "../search/search-model.js";

/** @typedef {import("../search/search-model.js").FilterField} FilterField */
/** @typedef {import("../search/search-model.js").SearchResult} SearchResult */

/** @type {FilterField[]} */
const FIELDS = [
  { field: "title", label: "Title", widget: "text", operators: ["contains", "exactly", "is_empty"], options: [] },
  {
    field: "custom:88001",
    label: "Seniority",
    widget: "option",
    operators: ["exactly", "is_empty"],
    options: [{ value: "Senior", label: "Senior" }],
  },
  { field: "custom:88002", label: "Met", widget: "date", operators: ["greater_than", "less_than", "between", "is_empty"], options: [] },
  { field: "custom:88003", label: "Years", widget: "number", operators: ["exactly", "greater_than", "between"], options: [] },
  { field: "is_hot", label: "Hot", widget: "checkbox", operators: ["exactly"], options: [] },
  { field: "owner_id", label: "Owner", widget: "user", operators: ["exactly", "is_empty"], options: [{ value: 4006, label: "Rita" }] },
];
const [TITLE, SENIORITY, MET, YEARS, HOT, OWNER] = FIELDS;

/** @param {Partial<SearchResult>} partial @returns {SearchResult} */
function result(partial) {
  return {
    record_type: "candidates",
    page: 1,
    per_page: 25,
    total: 57,
    pages: 3,
    has_next: true,
    columns: [],
    rows: [{ id: 1, name: "A", url: null, cells: {} }],
    site_known: true,
    ...partial,
  };
}

test("rows become crm.search filters in the encoding the daemon checks", () => {
  const rows = [
    { ...newRow(TITLE), value: " engineer " },
    { ...newRow(SENIORITY), value: "Senior" },
    { ...newRow(MET), op: /** @type {const} */ ("between"), value: "2026-01-01", value2: "2026-02-01" },
    { ...newRow(YEARS), op: /** @type {const} */ ("greater_than"), value: "5" },
    { ...newRow(HOT), value: "false" },
    { ...newRow(OWNER), value: "4006" },
    { ...newRow(TITLE), op: /** @type {const} */ ("is_empty") },
  ];
  const built = searchParams({ recordType: "candidates", rows, query: "  rust ", page: 2 }, FIELDS);
  assert.deepEqual(built, {
    params: {
      record_type: "candidates",
      page: 2,
      per_page: 25,
      query: "rust",
      filters: [
        { field: "title", op: "contains", value: "engineer" },
        { field: "custom:88001", op: "exactly", value: "Senior" },
        { field: "custom:88002", op: "between", value: ["2026-01-01", "2026-02-01"] },
        { field: "custom:88003", op: "greater_than", value: 5 },
        { field: "is_hot", op: "exactly", value: false },
        { field: "owner_id", op: "exactly", value: 4006 },
        { field: "title", op: "is_empty", value: true },
      ],
    },
  });
});

test("an empty search asks for the first page without filters or text", () => {
  assert.deepEqual(searchParams({ recordType: "contacts", rows: [], query: " ", page: 1 }, FIELDS), {
    params: { record_type: "contacts", filters: [], page: 1, per_page: 25 },
  });
});

test("bad rows are reported by row and nothing is sent", () => {
  const empty = newRow(TITLE);
  const badDate = { ...newRow(MET), value: "01/02/2026" };
  const reversed = { ...newRow(YEARS), op: /** @type {const} */ ("between"), value: "9", value2: "3" };
  const good = { ...newRow(TITLE), value: "x" };
  const built = searchParams({ recordType: "candidates", rows: [empty, badDate, reversed, good], query: "", page: 1 }, FIELDS);
  assert.deepEqual(built, {
    errors: {
      [empty.id]: "Enter some text",
      [badDate.id]: "Enter a date (YYYY-MM-DD)",
      [reversed.id]: "The first value must not be after the second",
    },
  });
});

test("a value outside the options, or a field no longer filterable, is refused", () => {
  assert.deepEqual(rowFilter(SENIORITY, { ...newRow(SENIORITY), value: "Junior" }), { error: "Choose one of the options" });
  assert.deepEqual(rowFilter(undefined, newRow(TITLE)), { error: "This field is no longer filterable" });
  assert.deepEqual(rowFilter(TITLE, { ...newRow(TITLE), op: "greater_than", value: "a" }), {
    error: '"more than" does not apply here',
  });
});

test("changing a row's field keeps the operator only when the new field has it", () => {
  const row = { ...newRow(TITLE), op: /** @type {const} */ ("is_empty"), value: "x" };
  assert.deepEqual([changeField(row, SENIORITY).op, changeField(row, SENIORITY).value], ["is_empty", ""]);
  assert.equal(changeField(row, YEARS).op, "exactly");
  assert.equal(changeField(row, HOT).value, "true");
});

test("dates read after/before, numbers more/less than", () => {
  assert.equal(operatorLabel("date", "greater_than"), "after");
  assert.equal(operatorLabel("number", "less_than"), "less than");
  assert.equal(operatorLabel("text", "exactly"), "is");
});

test("the page summary and the pager follow CATS's totals and next link", () => {
  const second = result({ page: 2, rows: Array.from({ length: 25 }, (_, i) => ({ id: i, name: "x", url: null, cells: {} })) });
  assert.equal(pageSummary(second), "Records 26–50 of 57 · page 2 of 3");
  assert.equal(pageSummary(result({ total: null, pages: null })), "Records 1–1");
  assert.equal(pageSummary(result({ rows: [] })), "No matching records");
  assert.deepEqual([canGoBack(second), canGoOn(second)], [true, true]);
  const last = result({ page: 3, has_next: false });
  assert.deepEqual([canGoBack(last), canGoOn(last)], [true, false]);
});
