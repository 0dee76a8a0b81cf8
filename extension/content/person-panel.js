// The person panel of the profile card: "already in CATS", sync as Candidate or Contact, the team's
// displayed fields, Push, Add to campaign, outreach / reply / interest buttons, and each push's
// live state (from `push.state` events).
//
// The card shell (card.js) mounts it: `renderPersonPanel(container, { person, send, subscribe, company })`
// and calls the function it returns before mounting it again. `send(type, params)` resolves with the
// reply's data or rejects with `{ code, message }`; `subscribe(event, callback)` returns an
// unsubscribe function; `company` is the card's CATS company for this profile ({company_id,
// company_name, confirmed} or null), and the card's "card.company" event says when the recruiter
// picks another: a Contact is pushed with the company the card shows. The pure rules live in
// panel-model.js; this module only draws and wires. CATS allows ~500 requests an hour, so nothing
// here searches CATS by itself: "already in CATS" comes from what the companion pushed before,
// and "Check CATS" asks CATS only when clicked.

import {
  MESSAGES,
  OUTREACH,
  RECORD_LABELS,
  RESPONSES,
  concernsPanel,
  eventParams,
  initialValues,
  itemView,
  newEventId,
  personWithEdits,
  pushParams,
  recordLink,
  refusalErrors,
  toRulesPerson,
  upsertItem,
  validate,
} from "./panel-model.js";
import { choose, el, fieldRow, showFieldError } from "./panel-widgets.js";
import { PANEL_CSS } from "./panel-styles.js";

/**
 * @typedef {import("./panel-model.js").ExtractedPerson} ExtractedPerson
 * @typedef {import("./panel-model.js").PersonForm} PersonForm
 * @typedef {import("./panel-model.js").RecordType} RecordType
 * @typedef {import("./panel-model.js").FormValues} FormValues
 * @typedef {import("./panel-model.js").FieldErrors} FieldErrors
 * @typedef {import("./panel-model.js").OutboxItem} OutboxItem
 * @typedef {{ code?: string, message?: string, fields?: { field: string, label?: string, message?: string }[] }} PanelError
 * @typedef {(type: string, params?: Record<string, unknown>) => Promise<any>} Send
 * @typedef {(event: string, callback: (data: any) => void) => () => void} Subscribe
 * @typedef {{ record_type: RecordType, cats_id: number, url: string | null, how: string }} KnownRecord
 * @typedef {{ id: number, name: string, archived?: boolean }} Campaign
 * @typedef {{ company_id: number, company_name: string, confirmed: boolean } | null} CardCompany
 */

/** Outbox states on the way to CATS, and how often the panel re-reads them meanwhile (ms). */
const PENDING = new Set(["queued", "sending", "waiting"]);
const CATCH_UP_MS = 2500;

/** The card's event when the recruiter picks or confirms the profile's company. */
const COMPANY_EVENT = "card.company";

/** @type {readonly RecordType[]} */
const RECORD_TYPES = ["candidates", "contacts"];

/** @param {unknown} error @returns {PanelError} */
function asError(error) {
  if (error && typeof error === "object") return /** @type {PanelError} */ (error);
  return { code: "internal", message: String(error) };
}

/** @param {PanelError} error */
function describe(error) {
  if (error.code === "daemon.unavailable") {
    return `The companion app is not running: ${error.message || "start it and try again"}`;
  }
  return error.message || error.code || "Something went wrong";
}

/** @param {unknown} data @returns {Campaign[]} */
function campaignsOf(data) {
  const list = Array.isArray(data) ? data : data && typeof data === "object" ? /** @type {any} */ (data).campaigns : null;
  return Array.isArray(list) ? list.filter((c) => c && typeof c.id === "number" && !c.archived) : [];
}

/**
 * Draw the panel into `container` and keep it live. Returns the clean-up, which stops listening.
 * @param {HTMLElement} container
 * @param {{ person: ExtractedPerson, send: Send, subscribe: Subscribe, company?: CardCompany }} deps
 * @returns {() => void}
 */
export function renderPersonPanel(container, { person, send, subscribe, company = null }) {
  const doc = container.ownerDocument;
  const rulesPerson = toRulesPerson(person);
  const state = {
    /** @type {PersonForm | null} */ form: null,
    /** @type {RecordType} */ recordType: "candidates",
    /** @type {Record<RecordType, FormValues>} */ values: { candidates: {}, contacts: {} },
    /** @type {FieldErrors} */ errors: {},
    /** @type {OutboxItem[]} */ items: [],
    /** @type {KnownRecord[]} */ known: [],
    /** @type {number | null} */ personId: null,
    /** @type {Campaign[]} */ campaigns: [],
    /** @type {number | null} */ campaignId: null,
    /** @type {Set<number>} */ memberOf: new Set(),
    busy: false,
  };

  container.replaceChildren();
  const root = el(doc, "div", { class: "cc-panel", "data-panel": "person" });
  root.append(el(doc, "style", {}, PANEL_CSS));
  const knownBox = el(doc, "div", { class: "cc-known", "data-role": "known", "aria-live": "polite" });
  const formSection = el(doc, "section", { "aria-label": "Push to CATS" });
  const itemsList = el(doc, "ul", { class: "cc-items", "data-role": "items", "aria-live": "polite" });
  const campaignSection = el(doc, "section", { "aria-label": "Campaign" });
  root.append(knownBox, formSection, campaignSection);
  container.append(root);
  formSection.append(el(doc, "div", { class: "cc-loading" }, "Loading the push form…"));

  const message = el(doc, "div", { class: "cc-message", "data-role": "message", role: "status" });

  /** @param {string} text @param {boolean} [bad] */
  function say(text, bad = false) {
    message.textContent = text;
    message.classList.toggle("cc-bad", bad);
  }

  // --- "already in CATS" ------------------------------------------------------------------------

  function drawKnown() {
    knownBox.replaceChildren();
    if (state.known.length === 0) {
      knownBox.append(el(doc, "span", { class: "cc-badge cc-out", "data-known": "no" }, "Not known in CATS"));
      const check = el(doc, "button", { type: "button", class: "cc-link", "data-action": "check-cats" }, "Check CATS");
      check.title = `Search CATS for this person as a ${RECORD_LABELS[state.recordType]} (uses a few of the hourly CATS requests)`;
      check.addEventListener("click", () => void checkCats());
      knownBox.append(check);
      return;
    }
    for (const record of state.known) {
      const text = `In CATS as ${RECORD_LABELS[record.record_type]} #${record.cats_id}`;
      const badge = el(doc, "span", { class: "cc-badge cc-in", "data-known": record.record_type }, text);
      knownBox.append(badge);
      const url = record.url || recordLink(state.form ? state.form.site : null, record.record_type, record.cats_id);
      if (url) knownBox.append(el(doc, "a", { href: url, target: "_blank", rel: "noopener" }, "Open in CATS"));
    }
  }

  /** @param {any} status */
  function applyStatus(status) {
    if (!status) return;
    if (typeof status.person_id === "number") state.personId = status.person_id;
    if (Array.isArray(status.records)) state.known = status.records;
    if (Array.isArray(status.items)) {
      for (const item of status.items) state.items = upsertItem(state.items, item);
    }
    drawKnown();
    drawItems();
  }

  async function checkCats() {
    say(`Searching CATS for this ${RECORD_LABELS[state.recordType].toLowerCase()}…`);
    try {
      const status = await send(MESSAGES.status, {
        person: rulesPerson,
        check_cats: true,
        record_type: state.recordType,
      });
      applyStatus(status);
      const found = state.known.some((r) => r.record_type === state.recordType);
      say(found ? "Found in CATS." : `No ${RECORD_LABELS[state.recordType]} record found in CATS.`);
    } catch (error) {
      say(describe(asError(error)), true);
    }
  }

  // --- the form -----------------------------------------------------------------------------------

  function drawForm() {
    formSection.replaceChildren();
    const form = state.form;
    if (!form) return;
    formSection.append(el(doc, "h3", {}, "Sync as"));
    const toggle = el(doc, "div", { class: "cc-sync-as", role: "group", "aria-label": "Sync as" });
    for (const type of RECORD_TYPES) {
      const button = el(doc, "button", { type: "button", "data-sync-as": type }, RECORD_LABELS[type]);
      button.setAttribute("aria-pressed", String(type === state.recordType));
      button.addEventListener("click", () => {
        if (state.recordType === type) return;
        state.recordType = type;
        state.errors = {};
        drawForm();
        drawKnown();
      });
      toggle.append(button);
    }
    formSection.append(toggle);

    const recordForm = form.forms[state.recordType];
    const values = state.values[state.recordType];
    const fields = el(doc, "div", { "data-role": "fields", "data-record-type": state.recordType });
    for (const field of recordForm.fields) {
      fields.append(
        fieldRow(doc, field, `cc-${state.recordType}`, values[field.field], (value) => {
          values[field.field] = value;
          if (state.errors[field.field]) {
            delete state.errors[field.field];
            showFieldError(fields, field.field, undefined);
          }
        }),
      );
    }
    formSection.append(fields);
    if (recordForm.unknown_mandatory.length) {
      formSection.append(
        el(
          doc,
          "div",
          { class: "cc-message cc-bad" },
          `Mandatory fields unknown to this companion: ${recordForm.unknown_mandatory.join(", ")}. Refresh the field catalogue in the settings window.`,
        ),
      );
    }
    const actions = el(doc, "div", { class: "cc-actions" });
    const push = el(doc, "button", { type: "button", class: "cc-primary", "data-action": "push" }, "Push to CATS");
    push.addEventListener("click", () => void pushNow());
    actions.append(push, message);
    formSection.append(actions, itemsList);
    for (const [ref, text] of Object.entries(state.errors)) showFieldError(fields, ref, text);
  }

  /** @param {FieldErrors} errors */
  function showErrors(errors) {
    state.errors = errors;
    const fields = formSection.querySelector("[data-role=fields]");
    if (!fields) return;
    for (const field of state.form ? state.form.forms[state.recordType].fields : []) {
      showFieldError(fields, field.field, errors[field.field]);
    }
  }

  async function pushNow() {
    if (!state.form || state.busy) return;
    const recordForm = state.form.forms[state.recordType];
    const values = state.values[state.recordType];
    const errors = validate(recordForm, values);
    showErrors(errors);
    const count = Object.keys(errors).length;
    if (count) {
      say(`Fill in ${count === 1 ? "the marked field" : `the ${count} marked fields`} first.`, true);
      return;
    }
    state.busy = true;
    say("Sending to the companion…");
    try {
      const accepted = await send(MESSAGES.push, pushParams(person, recordForm, values, { personId: state.personId }));
      if (typeof accepted.person_id === "number") state.personId = accepted.person_id;
      for (const item of accepted.items || []) state.items = upsertItem(state.items, item);
      drawItems();
      say(`Queued for CATS as a ${RECORD_LABELS[state.recordType]}.`);
    } catch (raw) {
      const error = asError(raw);
      const fieldErrors = refusalErrors(error);
      showErrors(fieldErrors);
      say(describe(error), true);
    } finally {
      state.busy = false;
    }
  }

  // --- push states --------------------------------------------------------------------------------

  function drawItems() {
    followPending();
    itemsList.replaceChildren();
    const site = state.form ? state.form.site : null;
    for (const item of state.items) {
      const view = itemView(item, site);
      const li = el(doc, "li", { "data-item": String(item.id), "data-state": item.status, "data-kind": item.kind });
      li.append(
        el(doc, "span", { class: "cc-state", "data-tone": view.tone }, view.label),
        el(doc, "span", { class: "cc-detail" }, view.detail),
      );
      if (view.link) li.append(el(doc, "a", { href: view.link, target: "_blank", rel: "noopener" }, "Open"));
      if (view.retry) {
        const retry = el(doc, "button", { type: "button", class: "cc-link", "data-action": "retry" }, "Retry");
        retry.addEventListener("click", () => void retryItem(item.id));
        li.append(retry);
      }
      itemsList.append(li);
    }
    // A record that reached CATS is "already in CATS" from now on.
    for (const item of state.items) {
      if (item.kind === "record" && item.status === "synced" && item.cats_id) {
        if (!state.known.some((r) => r.record_type === item.record_type)) {
          state.known = [
            ...state.known,
            { record_type: item.record_type, cats_id: item.cats_id, url: recordLink(site, item.record_type, item.cats_id), how: "created" },
          ];
          drawKnown();
        }
      }
    }
  }

  /** @param {number} id */
  async function retryItem(id) {
    try {
      const reply = await send(MESSAGES.retry, { id });
      const item = reply && typeof reply === "object" && "item" in reply ? reply.item : reply;
      if (item && typeof item.id === "number") state.items = upsertItem(state.items, item);
      drawItems();
    } catch (error) {
      say(describe(asError(error)), true);
    }
  }

  // --- campaigns and events -----------------------------------------------------------------------

  function drawCampaign() {
    campaignSection.replaceChildren(el(doc, "h3", {}, "Campaign"));
    const row = el(doc, "div", { class: "cc-campaign" });
    const select = el(doc, "select", { "aria-label": "Campaign", "data-role": "campaign" });
    select.append(el(doc, "option", { value: "" }, state.campaigns.length ? "Choose a campaign…" : "No campaign yet"));
    for (const campaign of state.campaigns) select.append(el(doc, "option", { value: String(campaign.id) }, campaign.name));
    choose(select, state.campaignId ? String(state.campaignId) : "");
    select.addEventListener("change", () => {
      state.campaignId = select.value ? Number(select.value) : null;
      drawCampaign();
    });
    const name = el(doc, "input", { type: "text", placeholder: "New campaign", "aria-label": "New campaign name", "data-role": "new-campaign" });
    const create = el(doc, "button", { type: "button", "data-action": "create-campaign" }, "Create");
    create.addEventListener("click", () => void createCampaign(name.value));
    const add = el(doc, "button", { type: "button", "data-action": "add-to-campaign" }, "Add to campaign");
    add.disabled = state.campaignId === null;
    add.addEventListener("click", () => void record("added", null, "Added to the campaign"));
    row.append(select, add, name, create);
    campaignSection.append(row);

    const member = state.campaignId !== null && state.memberOf.has(state.campaignId);
    const outreach = el(doc, "div", { class: "cc-buttons", role: "group", "aria-label": "Record outreach" });
    for (const kind of OUTREACH) {
      const button = el(doc, "button", { type: "button", "data-outreach": kind.outreach }, kind.label);
      button.disabled = !member;
      button.addEventListener("click", () => void record("outreach", kind.outreach, `${kind.label} recorded`));
      outreach.append(button);
    }
    const responses = el(doc, "div", { class: "cc-buttons", role: "group", "aria-label": "Record a response" });
    for (const kind of RESPONSES) {
      const button = el(doc, "button", { type: "button", "data-event": kind.type }, kind.label);
      button.disabled = !member;
      button.addEventListener("click", () => void record(kind.type, null, `${kind.label} recorded`));
      responses.append(button);
    }
    campaignSection.append(el(doc, "div", { class: "cc-hint" }, member ? "Record what happened:" : "Add the person to a campaign to record outreach."), outreach, responses);
  }

  /** @param {string} raw */
  async function createCampaign(raw) {
    const name = raw.trim();
    if (!name) {
      say("Name the new campaign first.", true);
      return;
    }
    try {
      const campaign = await send(MESSAGES.createCampaign, { name });
      state.campaigns = [...state.campaigns.filter((c) => c.id !== campaign.id), campaign];
      state.campaignId = campaign.id;
      drawCampaign();
      say(`Campaign "${campaign.name}" created.`);
    } catch (error) {
      say(describe(asError(error)), true);
    }
  }

  /**
   * @param {string} type
   * @param {string | null} outreach
   * @param {string} done
   */
  async function record(type, outreach, done) {
    if (state.campaignId === null || !state.form) return;
    const recordForm = state.form.forms[state.recordType];
    const params = eventParams({
      id: newEventId(),
      campaignId: state.campaignId,
      type,
      outreach,
      recordType: state.recordType,
      person: personWithEdits(person, recordForm, state.values[state.recordType]),
      personId: state.personId,
      at: new Date().toISOString(),
    });
    try {
      const accepted = await send(MESSAGES.event, params);
      if (typeof accepted.person_id === "number") state.personId = accepted.person_id;
      if (type === "added") state.memberOf.add(state.campaignId);
      for (const item of accepted.items || []) state.items = upsertItem(state.items, item);
      drawItems();
      drawCampaign();
      const queued = (accepted.items || []).length;
      say(queued ? `${done}; ${queued} CATS update${queued === 1 ? "" : "s"} queued.` : `${done}.`);
    } catch (raw) {
      const error = asError(raw);
      if (error.code === "campaign.not_member") state.memberOf.delete(state.campaignId);
      showErrors(refusalErrors(error));
      say(describe(error), true);
      drawCampaign();
    }
  }

  // --- the card's company ---------------------------------------------------------------------------

  /** The card's latest company; kept until the form has loaded. @type {CardCompany} */
  let latestCompany = company;

  /**
   * A Contact is pushed with the company the card shows: the recruiter's confirmed choice always,
   * a match only where the companion found none itself (the field shows it and can be changed).
   * @param {CardCompany} chosen
   */
  function useCompany(chosen) {
    if (chosen) latestCompany = chosen;
    if (!chosen || !state.form) return;
    const field = state.form.forms.contacts.fields.find((f) => f.field === "company_id");
    if (!field) return;
    const values = state.values.contacts;
    if (!chosen.confirmed && values.company_id) return;
    values.company_id = String(chosen.company_id);
    state.form.forms.contacts.fields = state.form.forms.contacts.fields.map((f) =>
      f === field ? { ...f, hint: chosen.company_name } : f,
    );
    if (state.recordType === "contacts") drawForm();
  }

  // --- catching up ----------------------------------------------------------------------------------

  // Events are best effort: one published while the worker was stopped (Chrome stops it when idle)
  // never arrives. While an item is still on its way, the panel re-reads the person's items from
  // the companion now and then (local data: no CATS request), which also reopens the event stream.
  /** @type {ReturnType<typeof setTimeout> | null} */
  let catchUp = null;
  let closed = false;

  function followPending() {
    if (closed || catchUp !== null) return;
    if (!state.items.some((item) => PENDING.has(item.status))) return;
    catchUp = setTimeout(() => {
      catchUp = null;
      send(MESSAGES.status, { person: rulesPerson }).then(
        (status) => {
          applyStatus(status);
          followPending();
        },
        () => followPending(),
      );
    }, CATCH_UP_MS);
  }

  // --- start --------------------------------------------------------------------------------------

  const unsubscribeCompany = subscribe(COMPANY_EVENT, (data) => useCompany(data));
  const unsubscribe = subscribe("push.state", (data) => {
    const item = data && typeof data === "object" && "item" in data ? data.item : data;
    if (!concernsPanel(item, state.items, state.personId)) return;
    state.items = upsertItem(state.items, item);
    drawItems();
  });

  async function start() {
    try {
      /** @type {Record<string, unknown>} */
      const params = { person: rulesPerson };
      if (latestCompany && latestCompany.confirmed) params.company_id = latestCompany.company_id;
      const form = /** @type {PersonForm} */ (await send(MESSAGES.form, params));
      state.form = form;
      state.recordType = form.default_record_type;
      for (const type of RECORD_TYPES) state.values[type] = initialValues(form.forms[type]);
      useCompany(latestCompany);
      drawForm();
      drawKnown();
      drawCampaign();
    } catch (error) {
      formSection.replaceChildren(el(doc, "div", { class: "cc-message cc-bad", "data-role": "message" }, describe(asError(error))));
      return;
    }
    // Local knowledge only: no CATS request on a page view.
    send(MESSAGES.status, { person: rulesPerson }).then(applyStatus, () => undefined);
    send(MESSAGES.campaigns, {}).then(
      (data) => {
        state.campaigns = campaignsOf(data);
        drawCampaign();
      },
      () => undefined,
    );
  }

  void start();
  return () => {
    closed = true;
    if (catchUp !== null) clearTimeout(catchUp);
    unsubscribe();
    unsubscribeCompany();
    container.replaceChildren();
  };
}
