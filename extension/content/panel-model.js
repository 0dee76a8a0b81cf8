// The person panel's pure logic: form values, validation, the messages it sends, and push states.
//
// No DOM and no chrome.* here, so every rule is unit-tested in Node (test/panel-model.test.js).
// The daemon describes the form (`person.form`: fields with their catalogue type, widget, options,
// mandatory mark and the value the team's mapping would push); this module turns what the user
// sees into the rules' Person plus `field_values` for `person.push`, checks mandatory fields and
// value shapes before anything is sent, and says how each outbox item's state reads.

/**
 * @typedef {"text" | "textarea" | "number" | "date" | "checkbox" | "dropdown" | "radio" | "checkboxes"
 *   | "user" | "list" | "company"} PanelWidget
 * @typedef {"candidates" | "contacts"} RecordType
 * @typedef {{ value: string | number, label: string }} FormOption
 * @typedef {{
 *   field: string, label: string, type: string, widget: PanelWidget, options: FormOption[],
 *   mandatory: boolean, value: unknown, hint?: string | null,
 * }} FormField
 * @typedef {{ record_type: RecordType, fields: FormField[], unknown_mandatory: string[] }} RecordForm
 * @typedef {{ default_record_type: RecordType, forms: Record<RecordType, RecordForm>, site: string | null }} PersonForm
 * @typedef {string | boolean | string[]} WidgetValue  What a widget holds: text, a tick, or ticked options.
 * @typedef {Record<string, WidgetValue>} FormValues
 * @typedef {Record<string, string>} FieldErrors  Field reference -> what is wrong with it.
 * @typedef {{
 *   name?: string | null, headline?: string | null, title?: string | null, company?: string | null,
 *   companyUrl?: string | null, location?: string | null, profileUrl?: string | null,
 * }} ExtractedPerson  What the content script read from the page (content/extract.js).
 * @typedef {{
 *   id: number, kind: "record" | "note", person_id: number, record_type: RecordType, status: string,
 *   waiting_for?: string | null, not_before?: string | null, cats_id?: number | null,
 *   error?: { code: string | null, message: string | null } | null, summary?: string,
 *   team_claim?: string | null,
 * }} OutboxItem  An outbox item in its public form (push replies and `push.state` events).
 * @typedef {{
 *   label: string, tone: "pending" | "waiting" | "ok" | "error" | "muted", detail: string,
 *   link: string | null, retry: boolean,
 * }} ItemView
 */

/** The daemon's message types the panel uses, in one place. */
export const MESSAGES = Object.freeze({
  form: "person.form",
  status: "person.status",
  push: "person.push",
  campaigns: "campaign.list",
  createCampaign: "campaign.create",
  event: "event.record",
  retry: "outbox.retry",
});

/** @type {readonly { outreach: string, label: string }[]} */
export const OUTREACH = Object.freeze([
  { outreach: "email_sent", label: "Email" },
  { outreach: "linkedin_connection_request", label: "Connection request" },
  { outreach: "linkedin_message", label: "LinkedIn message" },
  { outreach: "inmail", label: "InMail" },
  { outreach: "call", label: "Call" },
  { outreach: "text_message", label: "Text message" },
]);

/** Campaign events other than outreach that the panel records. */
/** @type {readonly { type: string, label: string }[]} */
export const RESPONSES = Object.freeze([
  { type: "replied", label: "Replied" },
  { type: "interested", label: "Interested" },
  { type: "not_interested", label: "Not interested" },
]);

export const RECORD_LABELS = Object.freeze({ candidates: "Candidate", contacts: "Contact" });

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s.]+$/;
const SUBDOMAIN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * @param {string | null | undefined} url
 * @param {RegExp} path
 */
function linkedinUrl(url, path) {
  if (!url) return null;
  try {
    const parsed = new URL(url);
    const host = parsed.hostname.toLowerCase();
    if ((host === "linkedin.com" || host.endsWith(".linkedin.com")) && path.test(parsed.pathname)) return url;
  } catch {
    return null;
  }
  return null;
}

/**
 * The rules' Person (companion/rules/person.py) from what the page showed. LinkedIn links go to
 * `linkedin` / `company_linkedin` only when they are LinkedIn's; the page is always `profile_url`.
 * @param {ExtractedPerson} extracted
 * @returns {Record<string, unknown>}
 */
export function toRulesPerson(extracted) {
  /** @type {Record<string, unknown>} */
  const person = {};
  /** @param {string} key @param {string | null | undefined} value */
  const put = (key, value) => {
    if (typeof value === "string" && value.trim()) person[key] = value.trim();
  };
  put("full_name", extracted.name);
  put("headline", extracted.headline);
  put("title", extracted.title);
  put("current_company", extracted.company);
  put("location", extracted.location);
  put("profile_url", extracted.profileUrl);
  const linkedin = linkedinUrl(extracted.profileUrl, /^\/in\//);
  put("linkedin", linkedin);
  put("company_linkedin", linkedinUrl(extracted.companyUrl, /^\/company\//));
  if (linkedin) person.source = "LinkedIn";
  return person;
}

/**
 * A form value in the widget's terms: lists as comma-separated text, ids and numbers as text.
 * @param {FormField} field
 * @param {unknown} value
 * @returns {WidgetValue}
 */
export function widgetValue(field, value) {
  if (field.widget === "checkbox") return value === true;
  if (field.widget === "checkboxes") {
    if (Array.isArray(value)) return value.map(String);
    return typeof value === "string" && value ? value.split(",").map((v) => v.trim()).filter(Boolean) : [];
  }
  if (value === null || value === undefined) return "";
  if (Array.isArray(value)) return value.map(String).join(", ");
  return String(value);
}

/**
 * The values the form starts with: what the team's mapping would push.
 * @param {RecordForm} form
 * @returns {FormValues}
 */
export function initialValues(form) {
  /** @type {FormValues} */
  const values = {};
  for (const field of form.fields) values[field.field] = widgetValue(field, field.value);
  return values;
}

/** @param {WidgetValue | undefined} value */
function isBlank(value) {
  if (value === undefined || value === false) return false;
  if (Array.isArray(value)) return value.length === 0;
  return typeof value === "string" && value.trim() === "";
}

/** @param {string} text */
function splitList(text) {
  return text.split(/[,;\n]/).map((part) => part.trim()).filter(Boolean);
}

/**
 * What is wrong with one field's value, or null. Mandatory checkboxes are satisfied either way.
 * @param {FormField} field
 * @param {WidgetValue | undefined} value
 * @returns {string | null}
 */
export function fieldError(field, value) {
  if (isBlank(value) || value === undefined) return field.mandatory && field.widget !== "checkbox" ? "Required" : null;
  if (typeof value !== "string") return null;
  const text = value.trim();
  switch (field.widget) {
    case "number":
      return NUMBER.test(text) ? null : "Enter a number";
    case "date":
      return DATE.test(text) && !Number.isNaN(Date.parse(text)) ? null : "Use the form YYYY-MM-DD";
    case "dropdown":
    case "radio":
    case "user":
      return field.options.length === 0 || field.options.some((o) => String(o.value) === text)
        ? null
        : "Choose one of the options";
    case "company":
      return /^[1-9]\d*$/.test(text) ? null : "Choose the company in the company section";
    case "list":
      if (field.type === "emails") {
        const bad = splitList(text).find((item) => !EMAIL.test(item));
        return bad ? `Not an email address: ${bad}` : null;
      }
      return null;
    default:
      return null;
  }
}

/**
 * Every field's problem; an empty object means the form may be sent.
 * @param {RecordForm} form
 * @param {FormValues} values
 * @returns {FieldErrors}
 */
export function validate(form, values) {
  /** @type {FieldErrors} */
  const errors = {};
  for (const field of form.fields) {
    const problem = fieldError(field, values[field.field]);
    if (problem) errors[field.field] = problem;
  }
  return errors;
}

/**
 * A widget value in the encoding `field_values` takes (companion/rules/values.py).
 * @param {FormField} field
 * @param {WidgetValue} value
 * @returns {unknown}
 */
export function wireValue(field, value) {
  if (typeof value === "boolean" || Array.isArray(value)) return value;
  const text = value.trim();
  if (text === "") return null;
  switch (field.widget) {
    case "number":
      return Number(text);
    case "user":
    case "company":
      return /^\d+$/.test(text) ? Number(text) : text;
    case "list":
      return splitList(text);
    default:
      return text;
  }
}

/** @param {WidgetValue | undefined} a @param {WidgetValue | undefined} b */
function same(a, b) {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => v === b[i]);
  return a === b;
}

/**
 * Only what the user changed: the daemon applies the team's mapping to everything else, so an
 * untouched field is pushed exactly as the form showed it.
 * @param {RecordForm} form
 * @param {FormValues} values
 * @returns {Record<string, unknown>}
 */
export function changedFieldValues(form, values) {
  const start = initialValues(form);
  /** @type {Record<string, unknown>} */
  const changed = {};
  for (const field of form.fields) {
    const value = values[field.field];
    if (value !== undefined && !same(value, start[field.field])) changed[field.field] = wireValue(field, value);
  }
  return changed;
}

/**
 * The rules' Person with the user's edits, as `person.push` and `event.record` take it.
 * @param {ExtractedPerson} extracted
 * @param {RecordForm} form
 * @param {FormValues} values
 */
export function personWithEdits(extracted, form, values) {
  return { ...toRulesPerson(extracted), field_values: changedFieldValues(form, values) };
}

/**
 * @param {ExtractedPerson} extracted
 * @param {RecordForm} form
 * @param {FormValues} values
 * @param {{ personId?: number | null }} [known]
 */
export function pushParams(extracted, form, values, known = {}) {
  /** @type {Record<string, unknown>} */
  const params = { person: personWithEdits(extracted, form, values), record_type: form.record_type };
  if (known.personId) params.person_id = known.personId;
  // The company the form shows wins over the daemon's own resolution (push.py `company_id`).
  const company = values.company_id;
  if (form.record_type === "contacts" && typeof company === "string" && /^[1-9]\d*$/.test(company.trim())) {
    params.company_id = Number(company.trim());
  }
  return params;
}

/**
 * A campaign event about this person. `id` makes it idempotent: a retry of the same click is
 * recorded once.
 * @param {{
 *   id: string, campaignId: number, type: string, outreach?: string | null, recordType: RecordType,
 *   person: Record<string, unknown>, personId?: number | null, at?: string,
 * }} event
 */
export function eventParams(event) {
  /** @type {Record<string, unknown>} */
  const params = { id: event.id, campaign_id: event.campaignId, type: event.type, person: event.person };
  if (event.personId) params.person_id = event.personId;
  if (event.outreach) params.outreach = event.outreach;
  if (event.type === "added") params.record_type = event.recordType;
  if (event.at) params.at = event.at;
  return params;
}

/**
 * The daemon's refusal of a push for missing mandatory fields, as per-field messages.
 * @param {{ code?: string, message?: string, fields?: { field: string, label?: string, message?: string }[] }} error
 * @returns {FieldErrors}
 */
export function refusalErrors(error) {
  /** @type {FieldErrors} */
  const errors = {};
  if (!error || !Array.isArray(error.fields)) return errors;
  const text = error.code === "push.mandatory_missing" ? "Required by your team" : "CATS cannot take this value";
  for (const item of error.fields) {
    if (item && typeof item.field === "string") errors[item.field] = item.message || text;
  }
  return errors;
}

/**
 * The record's page in the CATS web UI (companion/services/cats_site.py), or null.
 * @param {string | null} site
 * @param {RecordType} recordType
 * @param {number | null | undefined} id
 */
export function recordLink(site, recordType, id) {
  if (!site || !SUBDOMAIN.test(site) || !id) return null;
  const [module, param] = recordType === "contacts" ? ["contacts", "contactID"] : ["candidates", "candidateID"];
  return `https://${site}.catsone.com/index.php?m=${module}&a=show&${param}=${Number(id)}`;
}

/** @param {string | null | undefined} iso */
function clock(iso) {
  if (!iso) return "";
  const when = new Date(iso);
  if (Number.isNaN(when.getTime())) return "";
  return when.toISOString().slice(11, 16) + " UTC";
}

/**
 * What the team's person claims add to a synced record's line (native-messaging/PROTOCOL.md, team_claim).
 * @type {Readonly<Record<string, string>>}
 */
const TEAM_NOTES = Object.freeze({
  "": "",
  claimed: "",
  no_keys: "",
  stale: "",
  waiting: "",
  teammate: " (added by a teammate; this push joined it)",
  unavailable: " (the team database was unreachable: only CATS's duplicate check kept a teammate from adding it too)",
});

/**
 * How an outbox item reads in the panel.
 * @param {OutboxItem} item
 * @param {string | null} site
 * @returns {ItemView}
 */
export function itemView(item, site) {
  const what = item.kind === "note" ? item.summary || "Note" : RECORD_LABELS[item.record_type] || "Record";
  switch (item.status) {
    case "queued":
      return { label: "Queued", tone: "pending", detail: `${what}: waiting to be sent`, link: null, retry: false };
    case "sending":
      return { label: "Sending", tone: "pending", detail: `${what}: sending to CATS`, link: null, retry: false };
    case "waiting": {
      const until = clock(item.not_before);
      const detail =
        item.team_claim === "waiting"
          ? `${what}: a teammate is adding this person to CATS; this push joins their record`
          : item.waiting_for === "network"
          ? `${what}: CATS is unreachable; it is queued and will be sent when CATS is back`
          : item.waiting_for === "rate"
            ? `${what}: waiting for the CATS rate budget${until ? ` (until ${until})` : ""}`
            : `${what}: waiting${until ? ` until ${until}` : ""}`;
      return { label: "Waiting", tone: "waiting", detail, link: null, retry: false };
    }
    case "synced":
      return {
        label: "In CATS",
        tone: "ok",
        detail: (item.cats_id ? `${what} #${item.cats_id}` : what) + TEAM_NOTES[item.team_claim || ""],
        link: item.kind === "record" ? recordLink(site, item.record_type, item.cats_id) : null,
        retry: false,
      };
    case "failed":
      return {
        label: "Failed",
        tone: "error",
        detail: `${what}: ${(item.error && item.error.message) || "CATS refused it"}`,
        link: null,
        retry: true,
      };
    case "cancelled":
      return { label: "Cancelled", tone: "muted", detail: what, link: null, retry: false };
    default:
      return { label: item.status, tone: "muted", detail: what, link: null, retry: false };
  }
}

/**
 * The item list with `item` added or replaced (by id), newest first, at most `limit` long.
 * @param {OutboxItem[]} items
 * @param {OutboxItem} item
 * @param {number} [limit]
 */
export function upsertItem(items, item, limit = 8) {
  const rest = items.filter((existing) => existing.id !== item.id);
  return [item, ...rest].sort((a, b) => b.id - a.id).slice(0, limit);
}

/**
 * Whether an event is about one of this panel's items.
 * @param {unknown} data
 * @param {OutboxItem[]} items
 * @param {number | null} personId
 * @returns {data is OutboxItem}
 */
export function concernsPanel(data, items, personId) {
  if (!data || typeof data !== "object") return false;
  const item = /** @type {Partial<OutboxItem>} */ (data);
  if (typeof item.id !== "number" || typeof item.status !== "string") return false;
  return items.some((known) => known.id === item.id) || (personId !== null && item.person_id === personId);
}

/** A fresh event id for an idempotent `event.record`. */
export function newEventId() {
  const random = globalThis.crypto && "randomUUID" in globalThis.crypto ? globalThis.crypto.randomUUID() : null;
  return `ext-${random || `${Date.now()}-${Math.random().toString(36).slice(2)}`}`;
}
