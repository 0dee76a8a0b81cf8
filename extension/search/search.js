// The CRM search page: CATS candidates or contacts, filtered by the team's filterable fields,
// one CATS request per page (`crm.search`), rows linking to the records in CATS.
//
// Talks to the daemon through the service worker with the shared client (shared/client.js).

import {
  canGoBack,
  canGoOn,
  changeField,
  newRow,
  operatorLabel,
  pageSummary,
  searchParams,
} from "./search-model.js";
import { choose } from "../content/panel-widgets.js";
import { createClient } from "../shared/client.js";

/**
 * @typedef {import("./search-model.js").FilterField} FilterField
 * @typedef {import("./search-model.js").FilterRow} FilterRow
 * @typedef {import("./search-model.js").FieldsReply} FieldsReply
 * @typedef {import("./search-model.js").SearchResult} SearchResult
 * @typedef {import("./search-model.js").RecordType} RecordType
 * @typedef {{ code: string, message: string }} ErrorInfo
 */

/**
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, string>} [attrs]
 * @param {string} [text]
 * @returns {HTMLElementTagNameMap[K]}
 */
function el(tag, attrs = {}, text) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

/** @param {string} id */
function byId(id) {
  const node = document.getElementById(id);
  if (!node) throw new Error(`search.html lacks #${id}`);
  return node;
}

/** @param {unknown} error */
function describe(error) {
  const info = /** @type {Partial<ErrorInfo>} */ (error && typeof error === "object" ? error : {});
  if (info.code === "daemon.unavailable") return `The companion app is not running: ${info.message || ""}`;
  if (info.code === "key.missing") return info.message || "Connect the companion to CATS first (settings window).";
  return info.message || info.code || String(error);
}

/** @param {(type: string, params: Record<string, unknown>) => Promise<any>} send */
export function startSearchPage(send) {
  const state = {
    /** @type {RecordType} */ recordType: "candidates",
    /** @type {FilterField[]} */ fields: [],
    /** @type {FilterRow[]} */ rows: [],
    /** @type {Record<number, string>} */ errors: {},
    page: 1,
    /** @type {SearchResult | null} */ result: null,
    busy: false,
  };
  const form = /** @type {HTMLFormElement} */ (byId("search-form"));
  const query = /** @type {HTMLInputElement} */ (byId("query"));
  const filters = byId("filters");
  const status = byId("status");
  const unusable = byId("unusable");
  const table = byId("results");
  const pager = byId("pager");
  const summary = byId("page-summary");
  const prev = /** @type {HTMLButtonElement} */ (byId("prev"));
  const next = /** @type {HTMLButtonElement} */ (byId("next"));
  const addFilter = /** @type {HTMLButtonElement} */ (byId("add-filter"));

  /** @param {string} text @param {boolean} [bad] */
  function say(text, bad = false) {
    status.textContent = text;
    status.classList.toggle("bad", bad);
  }

  /** @param {FilterRow} row @param {FilterField} field @param {"value" | "value2"} key */
  function valueInput(row, field, key) {
    const label = `${field.label} value${key === "value2" ? " (to)" : ""}`;
    if (field.widget === "option" || field.widget === "user" || field.widget === "checkbox") {
      const select = el("select", { class: "value", "aria-label": label, "data-value": key });
      const options =
        field.widget === "checkbox"
          ? [
              { value: "true", label: "Yes" },
              { value: "false", label: "No" },
            ]
          : [{ value: "", label: "Choose…" }, ...field.options.map((o) => ({ value: String(o.value), label: o.label }))];
      for (const option of options) select.append(el("option", { value: option.value }, option.label));
      choose(select, row[key]);
      select.addEventListener("change", () => (row[key] = select.value));
      return select;
    }
    const type = field.widget === "date" ? "date" : "text";
    const input = el("input", { type, class: "value", "aria-label": label, "data-value": key });
    if (field.widget === "number" || field.widget === "company") input.setAttribute("inputmode", "numeric");
    if (field.widget === "company") input.setAttribute("placeholder", "CATS company id");
    input.value = row[key];
    input.addEventListener("input", () => (row[key] = input.value));
    return input;
  }

  function drawFilters() {
    filters.replaceChildren();
    for (const row of state.rows) {
      const field = state.fields.find((f) => f.field === row.field);
      if (!field) continue;
      const line = el("div", { class: "filter", "data-filter": row.field });
      line.classList.toggle("invalid", Boolean(state.errors[row.id]));
      const fieldSelect = el("select", { class: "field", "aria-label": "Field" });
      for (const f of state.fields) fieldSelect.append(el("option", { value: f.field }, f.label));
      choose(fieldSelect, row.field);
      fieldSelect.addEventListener("change", () => {
        const chosen = state.fields.find((f) => f.field === fieldSelect.value);
        if (!chosen) return;
        state.rows = state.rows.map((r) => (r.id === row.id ? changeField(r, chosen) : r));
        delete state.errors[row.id];
        drawFilters();
      });
      const opSelect = el("select", { class: "op", "aria-label": "Condition" });
      for (const op of field.operators) opSelect.append(el("option", { value: op }, operatorLabel(field.widget, op)));
      choose(opSelect, row.op);
      opSelect.addEventListener("change", () => {
        row.op = /** @type {FilterRow["op"]} */ (opSelect.value);
        drawFilters();
      });
      line.append(fieldSelect, opSelect);
      if (row.op !== "is_empty") line.append(valueInput(row, field, "value"));
      if (row.op === "between") line.append(el("span", {}, "and"), valueInput(row, field, "value2"));
      const remove = el("button", { type: "button", class: "remove", "aria-label": `Remove the ${field.label} filter` }, "✕");
      remove.addEventListener("click", () => {
        state.rows = state.rows.filter((r) => r.id !== row.id);
        drawFilters();
      });
      line.append(remove);
      if (state.errors[row.id]) line.append(el("span", { class: "error", role: "alert" }, state.errors[row.id]));
      filters.append(line);
    }
    addFilter.disabled = state.fields.length === 0;
  }

  function drawResults() {
    const result = state.result;
    const head = /** @type {HTMLTableSectionElement} */ (table.querySelector("thead"));
    const body = /** @type {HTMLTableSectionElement} */ (table.querySelector("tbody"));
    head.replaceChildren();
    body.replaceChildren();
    table.hidden = !result || result.rows.length === 0;
    pager.hidden = !result;
    if (!result) return;
    const headRow = el("tr");
    headRow.append(el("th", { scope: "col" }, "Name"));
    for (const column of result.columns) headRow.append(el("th", { scope: "col" }, column.label));
    head.append(headRow);
    for (const row of result.rows) {
      const tr = el("tr", { "data-record": String(row.id) });
      const name = el("td");
      if (row.url) name.append(el("a", { href: row.url, target: "_blank", rel: "noopener" }, row.name));
      else name.textContent = row.name;
      tr.append(name);
      for (const column of result.columns) tr.append(el("td", {}, row.cells[column.key] || ""));
      body.append(tr);
    }
    summary.textContent = pageSummary(result);
    prev.disabled = !canGoBack(result) || state.busy;
    next.disabled = !canGoOn(result) || state.busy;
  }

  /** @param {number} page */
  async function run(page) {
    const built = searchParams({ recordType: state.recordType, rows: state.rows, query: query.value, page }, state.fields);
    if ("errors" in built) {
      state.errors = built.errors;
      drawFilters();
      say("Fix the marked filters first.", true);
      return;
    }
    state.errors = {};
    drawFilters();
    state.busy = true;
    say("Searching CATS…");
    try {
      state.result = /** @type {SearchResult} */ (await send("crm.search", built.params));
      state.page = state.result.page;
      say(state.result.site_known ? "" : "Links to CATS appear once the companion knows your CATS site.");
      document.body.dataset.state = "results";
    } catch (error) {
      say(describe(error), true);
      document.body.dataset.state = "error";
    } finally {
      state.busy = false;
      drawResults();
    }
  }

  /** @param {RecordType} recordType */
  async function loadFields(recordType) {
    state.recordType = recordType;
    state.rows = [];
    state.errors = {};
    state.result = null;
    for (const button of document.querySelectorAll("[data-record-type]")) {
      button.setAttribute("aria-pressed", String(button.getAttribute("data-record-type") === recordType));
    }
    drawResults();
    say("Loading the filters…");
    try {
      const reply = /** @type {FieldsReply} */ (await send("crm.fields", { record_type: recordType }));
      state.fields = reply.fields;
      unusable.hidden = reply.unusable.length === 0;
      unusable.textContent = reply.unusable.length
        ? `Not available as filters: ${reply.unusable.map((u) => `${u.field} (${u.reason})`).join("; ")}`
        : "";
      say(state.fields.length ? "" : "Your team has no filterable fields for this record type; text search still works.");
      document.body.dataset.state = "ready";
    } catch (error) {
      state.fields = [];
      say(describe(error), true);
      document.body.dataset.state = "error";
    }
    drawFilters();
  }

  addFilter.addEventListener("click", () => {
    const used = new Set(state.rows.map((r) => r.field));
    const field = state.fields.find((f) => !used.has(f.field)) || state.fields[0];
    if (!field) return;
    state.rows = [...state.rows, newRow(field)];
    drawFilters();
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void run(1);
  });
  prev.addEventListener("click", () => void run(state.page - 1));
  next.addEventListener("click", () => void run(state.page + 1));
  for (const button of document.querySelectorAll("[data-record-type]")) {
    button.addEventListener("click", () => {
      const type = button.getAttribute("data-record-type") === "contacts" ? "contacts" : "candidates";
      if (type !== state.recordType) void loadFields(type);
    });
  }
  const wanted = new URLSearchParams(location.search).get("type");
  void loadFields(wanted === "contacts" ? "contacts" : "candidates");
}

if (typeof chrome !== "undefined" && chrome.runtime && chrome.runtime.id && typeof document !== "undefined") {
  const client = createClient(chrome);
  startSearchPage((type, params) => client.send(type, params));
}
