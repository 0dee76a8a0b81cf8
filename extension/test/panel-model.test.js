// The person panel's pure rules: the Person it builds, form values, validation, push states.

import { test } from "node:test";
import assert from "node:assert/strict";

import {
  changedFieldValues,
  concernsPanel,
  eventParams,
  fieldError,
  initialValues,
  itemView,
  pushParams,
  recordLink,
  refusalErrors,
  toRulesPerson,
  upsertItem,
  validate,
  wireValue,
} from "../content/panel-model.js";

/** @typedef {import("../content/panel-model.js").FormField} FormField */
/** @typedef {import("../content/panel-model.js").RecordForm} RecordForm */
/** @typedef {import("../content/panel-model.js").OutboxItem} OutboxItem */

/**
 * @param {Partial<FormField> & { field: string }} partial
 * @returns {FormField}
 */
function field(partial) {
  return { label: partial.field, type: "text", widget: "text", options: [], mandatory: false, value: null, ...partial };
}

/** @type {RecordForm} */
const FORM = {
  record_type: "candidates",
  unknown_mandatory: [],
  fields: [
    field({ field: "first_name", mandatory: true, value: "Ada" }),
    field({ field: "last_name", mandatory: true, value: "Lovelace" }),
    field({ field: "emails", type: "emails", widget: "list", value: ["ada@example.org", "ada@work.example"] }),
    field({ field: "custom:88001", type: "dropdown", widget: "dropdown", options: [{ value: "Senior", label: "Senior" }] }),
    field({ field: "custom:88003", type: "number", widget: "number", mandatory: true }),
    field({ field: "date_available", type: "date", widget: "date" }),
    field({ field: "is_hot", type: "checkbox", widget: "checkbox", mandatory: true, value: false }),
    field({ field: "custom:88005", type: "checkboxes", widget: "checkboxes", value: ["Rust"] }),
    field({ field: "owner_id", type: "user", widget: "user", options: [{ value: 4006, label: "Rita" }], value: 4006 }),
  ],
};

/** @param {Partial<OutboxItem>} partial @returns {OutboxItem} */
function item(partial) {
  return { id: 1, kind: "record", person_id: 7, record_type: "candidates", status: "queued", ...partial };
}

test("a LinkedIn profile becomes the rules' person with its LinkedIn links and source", () => {
  const person = toRulesPerson({
    name: " Ada Lovelace ",
    headline: "Engines",
    title: "Data Engineer",
    company: "Analytical Engines",
    companyUrl: "https://www.linkedin.com/company/analytical-engines/",
    location: "London",
    profileUrl: "https://www.linkedin.com/in/ada-l/",
  });
  assert.deepEqual(person, {
    full_name: "Ada Lovelace",
    headline: "Engines",
    title: "Data Engineer",
    current_company: "Analytical Engines",
    location: "London",
    profile_url: "https://www.linkedin.com/in/ada-l/",
    linkedin: "https://www.linkedin.com/in/ada-l/",
    company_linkedin: "https://www.linkedin.com/company/analytical-engines/",
    source: "LinkedIn",
  });
});

test("links that are not LinkedIn's stay out of the LinkedIn fields", () => {
  const person = toRulesPerson({
    name: "Ada",
    profileUrl: "https://linkedin.com.evil.example/in/ada",
    companyUrl: "https://www.linkedin.com/search/results/all/?keywords=x",
  });
  assert.equal(person.linkedin, undefined);
  assert.equal(person.company_linkedin, undefined);
  assert.equal(person.source, undefined);
  assert.equal(person.profile_url, "https://linkedin.com.evil.example/in/ada");
});

test("the form starts from the mapped values in each widget's terms", () => {
  assert.deepEqual(initialValues(FORM), {
    first_name: "Ada",
    last_name: "Lovelace",
    emails: "ada@example.org, ada@work.example",
    "custom:88001": "",
    "custom:88003": "",
    date_available: "",
    is_hot: false,
    "custom:88005": ["Rust"],
    owner_id: "4006",
  });
});

test("mandatory fields left empty are marked, and bad shapes are named", () => {
  const values = { ...initialValues(FORM), first_name: "  ", "custom:88001": "Junior", date_available: "12/03/2026" };
  assert.deepEqual(validate(FORM, values), {
    first_name: "Required",
    "custom:88001": "Choose one of the options",
    "custom:88003": "Required",
    date_available: "Use the form YYYY-MM-DD",
  });
});

test("a filled form is valid, an unticked mandatory checkbox included", () => {
  const values = { ...initialValues(FORM), "custom:88003": "12.5", date_available: "2026-03-12" };
  assert.deepEqual(validate(FORM, values), {});
});

test("numbers, emails and pickers are checked one by one", () => {
  const number = field({ field: "n", widget: "number" });
  assert.equal(fieldError(number, "1e3"), null);
  assert.equal(fieldError(number, "ten"), "Enter a number");
  const emails = field({ field: "emails", type: "emails", widget: "list" });
  assert.equal(fieldError(emails, "a@b.io; nope"), "Not an email address: nope");
  const company = field({ field: "company_id", widget: "company", mandatory: true });
  assert.equal(fieldError(company, ""), "Required");
  assert.equal(fieldError(company, "Acme"), "Choose the company in the company section");
  assert.equal(fieldError(company, "9001"), null);
});

test("only what the user changed is sent, in the encoding the daemon takes", () => {
  const values = {
    ...initialValues(FORM),
    emails: "ada@example.org; new@example.org",
    "custom:88003": "7",
    owner_id: "",
    is_hot: true,
  };
  assert.deepEqual(changedFieldValues(FORM, values), {
    emails: ["ada@example.org", "new@example.org"],
    "custom:88003": 7,
    owner_id: null,
    is_hot: true,
  });
  assert.deepEqual(changedFieldValues(FORM, initialValues(FORM)), {});
});

test("the push names the record type and, once known, the companion's person", () => {
  const params = pushParams({ name: "Ada Lovelace" }, FORM, { ...initialValues(FORM), last_name: "King" }, { personId: 12 });
  assert.deepEqual(params, {
    person: { full_name: "Ada Lovelace", field_values: { last_name: "King" } },
    record_type: "candidates",
    person_id: 12,
  });
});

test("a contact is pushed with the company the form shows", () => {
  /** @type {RecordForm} */
  const contacts = {
    record_type: "contacts",
    unknown_mandatory: [],
    fields: [field({ field: "company_id", type: "company", widget: "company", mandatory: true, value: 9001 })],
  };
  assert.equal(pushParams({ name: "Ada" }, contacts, initialValues(contacts)).company_id, 9001);
  assert.equal(pushParams({ name: "Ada" }, contacts, { company_id: "" }).company_id, undefined);
  assert.equal(pushParams({ name: "Ada" }, FORM, { ...initialValues(FORM), company_id: "9001" }).company_id, undefined);
});

test("widget values become wire values by widget", () => {
  assert.equal(wireValue(field({ field: "u", widget: "user" }), "4006"), 4006);
  assert.equal(wireValue(field({ field: "t" }), "  "), null);
  assert.deepEqual(wireValue(field({ field: "p", widget: "list" }), "+31 6 1, +31 6 2\n"), ["+31 6 1", "+31 6 2"]);
});

test("campaign events carry their id for idempotency and the sync-as only when added", () => {
  const base = { id: "ext-1", campaignId: 3, recordType: /** @type {const} */ ("contacts"), person: { full_name: "A" } };
  assert.deepEqual(eventParams({ ...base, type: "added" }), {
    id: "ext-1",
    campaign_id: 3,
    type: "added",
    person: { full_name: "A" },
    record_type: "contacts",
  });
  assert.deepEqual(eventParams({ ...base, type: "outreach", outreach: "inmail", personId: 9 }), {
    id: "ext-1",
    campaign_id: 3,
    type: "outreach",
    person: { full_name: "A" },
    person_id: 9,
    outreach: "inmail",
  });
});

test("the daemon's mandatory refusal is shown next to each named field", () => {
  const errors = refusalErrors({
    code: "push.mandatory_missing",
    message: "Cannot push",
    fields: [{ field: "custom:88003", label: "Years" }, { field: "title", label: "Title" }],
  });
  assert.deepEqual(errors, { "custom:88003": "Required by your team", title: "Required by your team" });
  assert.deepEqual(refusalErrors({ code: "cats.network", message: "offline" }), {});
});

test("each push state reads as the recruiter needs it", () => {
  const site = "acme";
  assert.equal(itemView(item({ status: "queued" }), site).label, "Queued");
  const offline = itemView(item({ status: "waiting", waiting_for: "network" }), site);
  assert.equal(offline.tone, "waiting");
  assert.match(offline.detail, /queued and will be sent when CATS is back/);
  const rate = itemView(item({ status: "waiting", waiting_for: "rate", not_before: "2026-03-01T10:45:00+00:00" }), site);
  assert.match(rate.detail, /rate budget \(until 10:45 UTC\)/);
  const synced = itemView(item({ status: "synced", cats_id: 700123 }), site);
  assert.equal(synced.link, "https://acme.catsone.com/index.php?m=candidates&a=show&candidateID=700123");
  const failed = itemView(item({ status: "failed", error: { code: "cats.validation", message: "title too long" } }), site);
  assert.deepEqual([failed.tone, failed.retry], ["error", true]);
  assert.match(failed.detail, /title too long/);
  const note = itemView(item({ kind: "note", status: "synced", cats_id: 5, summary: "email note on the candidate" }), site);
  assert.equal(note.link, null);
});

test("a push's line says what the team's person claims decided", () => {
  const site = "acme";
  const waiting = itemView(item({ status: "waiting", waiting_for: "until", team_claim: "waiting" }), site);
  assert.match(waiting.detail, /a teammate is adding this person to CATS/);
  const joined = itemView(item({ status: "synced", cats_id: 9, team_claim: "teammate" }), site);
  assert.match(joined.detail, /#9 \(added by a teammate/);
  const alone = itemView(item({ status: "synced", cats_id: 9, team_claim: "unavailable" }), site);
  assert.match(alone.detail, /team database was unreachable/);
  assert.equal(itemView(item({ status: "synced", cats_id: 9, team_claim: "claimed" }), site).detail, "Candidate #9");
  assert.equal(itemView(item({ status: "synced", cats_id: 9, team_claim: null }), site).detail, "Candidate #9");
});

test("record links need a plausible subdomain", () => {
  assert.equal(recordLink("acme", "contacts", 7), "https://acme.catsone.com/index.php?m=contacts&a=show&contactID=7");
  assert.equal(recordLink(null, "contacts", 7), null);
  assert.equal(recordLink("evil.example/x?", "contacts", 7), null);
});

test("items are replaced by id, newest first, and events about other people are ignored", () => {
  let items = upsertItem([], item({ id: 3 }));
  items = upsertItem(items, item({ id: 5, status: "sending" }));
  items = upsertItem(items, item({ id: 3, status: "synced" }));
  assert.deepEqual(items.map((i) => [i.id, i.status]), [[5, "sending"], [3, "synced"]]);
  assert.equal(concernsPanel(item({ id: 99, person_id: 7 }), items, 7), true);
  assert.equal(concernsPanel(item({ id: 99, person_id: 8 }), items, 7), false);
  assert.equal(concernsPanel(item({ id: 3, person_id: 8 }), items, null), true);
  assert.equal(concernsPanel({ nope: true }, items, 7), false);
});
