// The person panel drawn into a DOM (linkedom) with a fake daemon: what it sends, what it shows.

import { test } from "node:test";
import assert from "node:assert/strict";
import { parseHTML } from "linkedom";

import { renderPersonPanel } from "../content/person-panel.js";
import { choose } from "../content/panel-widgets.js";

/** @typedef {import("../content/panel-model.js").PersonForm} PersonForm */

/** @returns {PersonForm} */
function personForm() {
  /** @param {string} field @param {Record<string, unknown>} [extra] */
  const f = (field, extra = {}) => ({ field, label: field, type: "text", widget: /** @type {const} */ ("text"), options: [], mandatory: false, value: null, ...extra });
  return {
    default_record_type: "candidates",
    site: "acme",
    forms: {
      candidates: {
        record_type: "candidates",
        unknown_mandatory: [],
        fields: [
          f("first_name", { mandatory: true, value: "Ada" }),
          f("last_name", { mandatory: true, value: "Lovelace" }),
          f("custom:88001", { label: "Seniority", type: "dropdown", widget: "dropdown", mandatory: true, options: [{ value: "Senior", label: "Senior" }] }),
        ],
      },
      contacts: {
        record_type: "contacts",
        unknown_mandatory: [],
        fields: [f("first_name", { mandatory: true, value: "Ada" }), f("last_name", { mandatory: true, value: "Lovelace" })],
      },
    },
  };
}

/** A fake daemon: answers by type, records every call, and lets the test publish events. */
function fakeDaemon(/** @type {Record<string, (params: any) => any>} */ answers) {
  /** @type {{ type: string, params: any }[]} */
  const calls = [];
  /** @type {Map<string, (data: any) => void>} */
  const listeners = new Map();
  return {
    calls,
    /** @param {string} type @param {any} params */
    async send(type, params) {
      calls.push({ type, params });
      const answer = answers[type];
      if (!answer) throw { code: "request.unknown_type", message: type };
      return answer(params);
    },
    /** @param {string} name @param {(data: any) => void} callback */
    subscribe(name, callback) {
      listeners.set(name, callback);
      return () => listeners.delete(name);
    },
    /** @param {string} name @param {unknown} data */
    publish(name, data) {
      const listener = listeners.get(name);
      if (listener) listener(data);
    },
  };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

function mount() {
  const { document } = parseHTML("<!doctype html><html><body><div id=host></div></body></html>");
  return /** @type {HTMLElement} */ (document.getElementById("host"));
}

/** @param {Element} node @param {string} type */
function fire(node, type) {
  const view = node.ownerDocument.defaultView;
  assert.ok(view);
  node.dispatchEvent(new view.Event(type));
}

/** @param {HTMLElement} host @param {string} selector */
function click(host, selector) {
  const node = host.querySelector(selector);
  assert.ok(node, `nothing matches ${selector}`);
  fire(node, "click");
}

const PERSON = { name: "Ada Lovelace", profileUrl: "https://www.linkedin.com/in/ada-l/" };
const QUEUED = { id: 41, kind: "record", person_id: 7, record_type: "candidates", status: "queued" };

test("a mandatory field left empty stops the push before anything is sent", async (t) => {
  const host = mount();
  const daemon = fakeDaemon({ "person.form": personForm, "person.status": () => ({ person_id: null, records: [], items: [] }), "campaign.list": () => [] });
  t.after(renderPersonPanel(host, { person: PERSON, send: daemon.send, subscribe: daemon.subscribe }));
  await settle();
  assert.ok(host.querySelector("[data-row='custom:88001'] .cc-required"), "the mandatory mark is shown");
  assert.equal(host.querySelector("[data-known]")?.getAttribute("data-known"), "no");

  click(host, "[data-action=push]");
  await settle();
  assert.equal(host.querySelector("[data-error-for='custom:88001']")?.textContent, "Required");
  assert.ok(!daemon.calls.some((c) => c.type === "person.push"));
  assert.ok(!daemon.calls.some((c) => c.type === "person.status" && c.params.check_cats), "no CATS search on a page view");
});

test("a push sends the edits and follows the item to synced with a link to CATS", async (t) => {
  const host = mount();
  const daemon = fakeDaemon({
    "person.form": personForm,
    "person.status": () => ({ person_id: null, records: [], items: [] }),
    "campaign.list": () => ({ campaigns: [] }),
    "person.push": () => ({ person_id: 7, items: [QUEUED] }),
  });
  const cleanup = renderPersonPanel(host, { person: PERSON, send: daemon.send, subscribe: daemon.subscribe });
  t.after(cleanup);
  await settle();
  const select = /** @type {HTMLSelectElement} */ (host.querySelector("select[data-field='custom:88001']"));
  choose(select, "Senior");
  fire(select, "change");
  click(host, "[data-action=push]");
  await settle();

  const push = daemon.calls.find((c) => c.type === "person.push");
  assert.deepEqual(push?.params, {
    person: {
      full_name: "Ada Lovelace",
      profile_url: "https://www.linkedin.com/in/ada-l/",
      linkedin: "https://www.linkedin.com/in/ada-l/",
      source: "LinkedIn",
      field_values: { "custom:88001": "Senior" },
    },
    record_type: "candidates",
  });
  assert.equal(host.querySelector("[data-item='41']")?.getAttribute("data-state"), "queued");

  daemon.publish("push.state", { ...QUEUED, status: "synced", cats_id: 700123 });
  const link = host.querySelector("[data-item='41'] a");
  assert.equal(link?.getAttribute("href"), "https://acme.catsone.com/index.php?m=candidates&a=show&candidateID=700123");
  assert.equal(host.querySelector("[data-known]")?.getAttribute("data-known"), "candidates");
  daemon.publish("push.state", { ...QUEUED, id: 99, person_id: 8, status: "failed" });
  assert.equal(host.querySelector("[data-item='99']"), null, "another person's item is not shown");
});

test("the daemon's mandatory refusal is shown next to the field", async (t) => {
  const host = mount();
  const daemon = fakeDaemon({
    "person.form": personForm,
    "person.status": () => ({ person_id: null, records: [], items: [] }),
    "campaign.list": () => [],
    "person.push": () => {
      throw { code: "push.mandatory_missing", message: "mandatory fields are empty: Last name", fields: [{ field: "last_name", label: "Last name" }] };
    },
  });
  t.after(renderPersonPanel(host, { person: PERSON, send: daemon.send, subscribe: daemon.subscribe }));
  await settle();
  click(host, "[data-sync-as=contacts]");
  click(host, "[data-action=push]");
  await settle();
  assert.equal(host.querySelector("[data-error-for=last_name]")?.textContent, "Required by your team");
  assert.match(host.querySelector("[data-role=message]")?.textContent || "", /mandatory fields are empty/);
  assert.equal(daemon.calls.find((c) => c.type === "person.push")?.params.record_type, "contacts");
});

test("outreach buttons wait for campaign membership, then record idempotent events", async (t) => {
  const host = mount();
  const daemon = fakeDaemon({
    "person.form": personForm,
    "person.status": () => ({ person_id: 7, records: [{ record_type: "candidates", cats_id: 5, url: null, how: "created" }], items: [] }),
    "campaign.list": () => [{ id: 3, name: "Spring hiring" }],
    "event.record": (params) => ({ person_id: 7, items: params.type === "outreach" ? [{ ...QUEUED, id: 50, kind: "note", summary: "other note" }] : [] }),
  });
  t.after(renderPersonPanel(host, { person: PERSON, send: daemon.send, subscribe: daemon.subscribe }));
  await settle();
  assert.equal(host.querySelector("[data-known]")?.textContent, "In CATS as Candidate #5");
  assert.ok(/** @type {HTMLButtonElement} */ (host.querySelector("[data-outreach=inmail]")).disabled);

  const select = /** @type {HTMLSelectElement} */ (host.querySelector("[data-role=campaign]"));
  choose(select, "3");
  fire(select, "change");
  click(host, "[data-action=add-to-campaign]");
  await settle();
  click(host, "[data-outreach=inmail]");
  await settle();

  const events = daemon.calls.filter((c) => c.type === "event.record").map((c) => c.params);
  assert.deepEqual(events.map((e) => [e.type, e.outreach, e.campaign_id, e.person_id]), [
    ["added", undefined, 3, 7],
    ["outreach", "inmail", 3, 7],
  ]);
  assert.equal(events[0].record_type, "candidates");
  assert.notEqual(events[0].id, events[1].id);
  assert.equal(host.querySelector("[data-item='50']")?.getAttribute("data-kind"), "note");
});

test("a state change missed while the worker was stopped is caught up from the companion", async (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const host = mount();
  let synced = false;
  const daemon = fakeDaemon({
    "person.form": personForm,
    "person.status": () => ({ person_id: 7, records: [], items: synced ? [{ ...QUEUED, status: "synced", cats_id: 9 }] : [] }),
    "campaign.list": () => [],
    "person.push": () => ({ person_id: 7, items: [QUEUED] }),
  });
  const cleanup = renderPersonPanel(host, { person: PERSON, send: daemon.send, subscribe: daemon.subscribe });
  t.after(cleanup);
  for (let i = 0; i < 5; i++) await Promise.resolve();
  await new Promise((resolve) => setImmediate(resolve));
  const select = /** @type {HTMLSelectElement} */ (host.querySelector("select[data-field='custom:88001']"));
  choose(select, "Senior");
  fire(select, "change");
  click(host, "[data-action=push]");
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(host.querySelector("[data-item='41']")?.getAttribute("data-state"), "queued");

  synced = true; // the worker was stopped: no push.state event ever comes
  const before = daemon.calls.filter((c) => c.type === "person.status").length;
  t.mock.timers.tick(2500);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(daemon.calls.filter((c) => c.type === "person.status").length, before + 1);
  assert.equal(host.querySelector("[data-item='41']")?.getAttribute("data-state"), "synced");
  t.mock.timers.tick(10_000);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(daemon.calls.filter((c) => c.type === "person.status").length, before + 1, "nothing left to follow");
});
