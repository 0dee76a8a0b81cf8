// The card's company section with a fake daemon: its status dot and cache line say offline, a
// locked keyring or no key in their own words, and come back to "Connected" by themselves.

import { test } from "node:test";
import assert from "node:assert/strict";
import { parseHTML } from "linkedom";

import { CompanySection } from "../content/company-section.js";

const SYNCED = "2026-12-06T09:00:00Z";
const OFFLINE = {
  state: "offline", companies: 20, last_success_at: SYNCED, age_seconds: 600, offline_reason: "network",
  message: "Offline: companies as of 2026-12-06 09:00 UTC (CATS cannot be reached).",
};
/** @type {import("../content/extract.js").Person} */
const ADA = {
  name: "Ada", headline: null, title: null, company: "Northwind", companyUrl: null, location: null,
  profileUrl: null, companies: [], sources: {},
};
const READY = { state: "ready", companies: 20, last_success_at: SYNCED, age_seconds: 5, message: null, offline_reason: null };

/** A daemon whose CATS state and cache the test changes; it records the events subscribed to. */
function fakeDaemon() {
  const world = {
    cats: { state: "unreachable", checked_at: new Date().toISOString(), detail: "cats.network: refused" },
    cache: /** @type {Record<string, unknown>} */ (OFFLINE),
    /** @type {Map<string, (data: any) => void>} */
    listeners: new Map(),
  };
  const client = {
    /** @param {string} type */
    async send(type) {
      if (type === "status") return { cats: world.cats, team: { joined: false }, cache: world.cache };
      if (type === "company.lookup") {
        return { level: "similar", match: null, confirmed: false, warnings: [], company: [], cache: world.cache };
      }
      throw { code: "request.unknown_type", message: type };
    },
    /** @param {string} name @param {(data: any) => void} callback */
    subscribe(name, callback) {
      world.listeners.set(name, callback);
      return () => world.listeners.delete(name);
    },
    connection: async () => ({ phase: "connected", error: null }),
    close() {},
  };
  return { world, client };
}

function mount() {
  const { document } = parseHTML("<!doctype html><html><body><section></section><footer></footer></body></html>");
  const { world, client } = fakeDaemon();
  /** @type {{ tone: string, text: string, state?: string }[]} */
  const health = [];
  const container = /** @type {HTMLElement} */ (document.querySelector("section"));
  const footer = /** @type {HTMLElement} */ (document.querySelector("footer"));
  const section = new CompanySection(document, container, {
    client: /** @type {any} */ (client),
    announce: () => {},
    onCompany: () => {},
    onHealth: (tone, text, state) => health.push({ tone, text, state }),
    footer,
  });
  return { section, world, health, footer };
}

test("offline: the dot and the cache line say since when and why, and go back to Connected on the daemon's event", async (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const { section, world, health, footer } = mount();
  section.setPerson(ADA);
  await settle();
  const offline = health.at(-1);
  assert.equal(offline?.tone, "warn");
  assert.equal(offline?.state, "offline");
  assert.equal(offline?.text, "Offline — companies as of 2026-12-06 09:00 UTC (CATS cannot be reached)");
  assert.equal(footer.textContent, "Offline — companies as of 2026-12-06 09:00 UTC (CATS cannot be reached).");

  // CATS answers again: the daemon's next sync succeeds and it says so; nobody clicks anything.
  world.cats = { state: "connected", checked_at: new Date().toISOString(), detail: "connected to the CATS site 'acme'" };
  world.cache = READY;
  world.listeners.get("cache.state")?.(READY);
  await settle();
  assert.deepEqual(health.at(-1), { tone: "ok", text: "Connected", state: "connected" });
  assert.match(String(footer.textContent), /^Cache synced just now · 20 companies/);
});

test("without the event, a section that is not green looks again by itself", async (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const { section, world, health } = mount();
  world.cats = { state: "keyring_locked", checked_at: new Date().toISOString(), detail: "key.keyring_locked: locked" };
  world.cache = READY;
  section.setPerson(ADA);
  await settle();
  assert.equal(health.at(-1)?.state, "keyring_locked");
  assert.equal(health.at(-1)?.tone, "bad");
  assert.match(String(health.at(-1)?.text), /Keyring locked: unlock it/);

  world.cats = { state: "connected", checked_at: new Date().toISOString(), detail: "connected" };
  t.mock.timers.tick(30_000);
  await settle();
  assert.equal(health.at(-1)?.state, "connected");
  assert.equal(health.at(-1)?.tone, "ok");
});

/** Let the section's promises settle (bounded turns of the microtask queue; setTimeout is mocked). */
async function settle() {
  for (let i = 0; i < 20; i += 1) await Promise.resolve();
}
