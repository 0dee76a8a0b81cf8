// The pure view models: the company section, problems, health, formatting, quick-lookup queries.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { cacheLine, companyView, hitLine, lookupParams, problemView, sameLookup } from "../content/company-model.js";
import { isProfilePage, personKey } from "../content/watch.js";
import { budgetMeter, confidenceLabel, formatAge } from "../shared/format.js";
import { queryFromText } from "../shared/lookup-query.js";
import { CONNECTED_FRESH_MS, connectionDot, healthView, offlineView, teamView } from "../shared/status-model.js";

/** @type {import("../content/company-model.js").CacheInfo} */
const READY = { state: "ready", companies: 1200, last_success_at: "2026-01-01T00:00:00Z", age_seconds: 300, message: null };

/** @param {Partial<import("../content/company-model.js").LookupResult>} overrides */
function result(overrides = {}) {
  return {
    level: "similar",
    match: { company_id: 7, company_name: "Northwind Analytics GmbH", basis: "linkedin_page", confidence: "high", score: 100, reason: "Same LinkedIn company page." },
    confirmed: false,
    warnings: [],
    company: [
      { key: "owner", label: "Owner", value: "Dana Smith" },
      { key: "phone", label: "Phone", value: null },
    ],
    cache: READY,
    ...overrides,
  };
}

describe("company section", () => {
  it("asks with the company's name and LinkedIn page, or not at all", () => {
    assert.deepEqual(lookupParams({ company: "Acme", companyUrl: "https://www.linkedin.com/company/acme/" }), {
      name: "Acme", linkedin_url: "https://www.linkedin.com/company/acme/",
    });
    assert.equal(lookupParams({ company: null, companyUrl: null }), null);
    assert.ok(sameLookup({ company: "A", companyUrl: null }, { company: "A", companyUrl: null }));
    assert.ok(!sameLookup({ company: "A", companyUrl: null }, { company: "B", companyUrl: null }));
  });

  it("shows a match with its confidence, reason and only the fields that have values", () => {
    const view = companyView(result());
    assert.equal(view.state, "match");
    assert.equal(view.heading, "Northwind Analytics GmbH");
    assert.deepEqual(view.badge, { text: "Strong match", tone: "ok" });
    assert.deepEqual(view.fields, [{ label: "Owner", value: "Dana Smith" }]);
    assert.equal(view.canUnconfirm, false);
  });

  it("shows a confirmed match as confirmed, with a way to undo it", () => {
    const view = companyView(result({ confirmed: true }));
    assert.equal(view.state, "confirmed");
    assert.equal(view.badge?.text, "Confirmed");
    assert.ok(view.canUnconfirm);
  });

  it("shows no match with the look-alike warnings", () => {
    const view = companyView(result({ match: null, warnings: [{ kind: "similar_name", message: "CATS has Northwind Analytic (93% similar).", company_ids: [8], score: 93 }] }));
    assert.equal(view.state, "no-match");
    assert.deepEqual(view.warnings, [{ kind: "similar_name", message: "CATS has Northwind Analytic (93% similar)." }]);
  });

  it("says when the profile names no company", () => {
    assert.equal(companyView(null).state, "no-company");
  });

  it("says how fresh the cache is, and when it is empty, stale or offline", () => {
    assert.deepEqual(cacheLine(READY, "connected"), { text: "Cache synced 5 min ago · 1,200 companies", tone: "muted" });
    assert.equal(cacheLine(READY, "unreachable").tone, "warn");
    assert.match(cacheLine(READY, "unreachable").text, /Offline from CATS/);
    assert.equal(cacheLine({ ...READY, age_seconds: 3 * 86400 }, null).tone, "warn");
    assert.equal(cacheLine({ ...READY, state: "never_synced", age_seconds: null, message: null }, null).tone, "bad");
    assert.equal(cacheLine({ ...READY, state: "empty", message: "Nothing cached." }, null).text, "Nothing cached.");
  });

  it("tells how to fix a missing or stopped companion", () => {
    assert.match(String(problemView({ code: "host.not_installed", message: "m" }).fix), /install-host/);
    assert.match(String(problemView({ code: "daemon.unavailable", message: "m" }).fix), /serve/);
    assert.equal(problemView({ code: "extension.reloaded", message: "m" }).retry, false);
    assert.equal(problemView({ code: "something.new", message: "Detail" }).detail, "Detail");
    // The host's message already names the command: the hint is not repeated.
    assert.equal(problemView({ code: "daemon.unavailable", message: "start it with `cats-companion serve`" }).fix, null);
  });

  it("describes a picker hit", () => {
    assert.deepEqual(hitLine({ id: 1, name: "Acme", website: "https://www.acme.com/", city: "Berlin", country_code: "DE" }), {
      name: "Acme", detail: "Berlin, DE · acme.com",
    });
  });
});

describe("page watching", () => {
  it("shows the card on a profile's main page only", () => {
    assert.ok(isProfilePage("https://www.linkedin.com/in/lena-fischer/"));
    assert.ok(isProfilePage("http://127.0.0.1:9000/in/lena"));
    assert.ok(!isProfilePage("https://www.linkedin.com/in/lena/details/experience/"));
    assert.ok(!isProfilePage("https://www.linkedin.com/feed/"));
  });

  it("ignores where values came from when deciding whether the person changed", () => {
    const base = { name: "A", headline: null, title: null, company: null, companyUrl: null, location: null, profileUrl: null, companies: [] };
    assert.equal(personKey({ ...base, sources: { name: "top-card" } }), personKey({ ...base, sources: { name: "page-title" } }));
    assert.notEqual(personKey({ ...base, sources: {} }), personKey({ ...base, company: "B", sources: {} }));
  });
});

describe("formatting and health", () => {
  it("formats ages", () => {
    assert.equal(formatAge(null), "never");
    assert.equal(formatAge(10), "just now");
    assert.equal(formatAge(600), "10 min ago");
    assert.equal(formatAge(7200), "2 h ago");
    assert.equal(formatAge(3 * 86400), "3 days ago");
  });

  it("turns the rate budget into a meter", () => {
    assert.deepEqual(budgetMeter({ limit: 500, remaining: 450, used: 50 }), { fraction: 0.1, label: "450 of 500 requests left this hour", tone: "ok" });
    assert.equal(budgetMeter({ limit: 500, remaining: 20 })?.tone, "bad");
    assert.equal(budgetMeter(null), null);
  });

  it("words the match's confidence as the daemon says", () => {
    const exact = { company_id: 7, company_name: "Northwind", basis: "exact_name", confidence: "high", score: 100, reason: "Same name.", label: "Match" };
    assert.deepEqual(companyView(result({ match: exact })).badge, { text: "Match", tone: "ok" });
    const possible = { ...exact, basis: "similar_name", confidence: "low", label: "Possible match" };
    assert.deepEqual(companyView(result({ match: possible })).badge, { text: "Possible match", tone: "warn" });
  });

  it("labels confidences", () => {
    assert.equal(confidenceLabel("confirmed"), "Confirmed");
    assert.equal(confidenceLabel("low"), "Possible match");
  });

  it("says green Connected only when CATS answered with this key recently; every other state in its own words", () => {
    const now = Date.parse("2026-12-06T10:00:00Z");
    const at = (/** @type {number} */ ms) => new Date(now - ms).toISOString();
    const dot = (/** @type {string | null} */ state, checked = at(60_000), cache = READY) =>
      connectionDot(state ? { state, checked_at: checked } : null, cache, now);
    assert.deepEqual(dot("connected"), { tone: "ok", state: "connected", text: "Connected" });
    assert.equal(dot("connected", at(CONNECTED_FRESH_MS + 1000)).tone, "muted");
    const others = ["not_configured", "keyring_locked", "bad_key", "unreachable", "unknown", null].map((state) => dot(state));
    assert.ok(others.every((view) => view.tone !== "ok" && view.text !== "Connected"), JSON.stringify(others));
    // Each known state its own words ("unknown" and no status at all are the same: not known yet).
    assert.equal(new Set(others.map((view) => view.text)).size, others.length - 1);
    assert.deepEqual(others.map((view) => view.state), ["no_key", "keyring_locked", "bad_key", "unreachable", "unknown", "unknown"]);
    assert.match(dot("keyring_locked").text, /Keyring locked: unlock it/);
    // A connection that answered but whose cache was never filled is not green either.
    assert.equal(dot("connected", at(1000), { ...READY, state: "never_synced", last_success_at: null }).state, "not_synced");
    // Offline wins: since when, and why.
    const offline = { ...READY, state: /** @type {const} */ ("offline"), last_success_at: "2026-12-06T09:05:00Z", offline_reason: "rate_limited" };
    assert.deepEqual(dot("connected", at(1000), offline), {
      tone: "warn", state: "offline",
      text: "Offline — companies as of 2026-12-06 09:05 UTC (the hourly CATS request budget is spent)",
    });
    assert.equal(dot("bad_key", at(1000), { ...offline, offline_reason: "bad_key" }).tone, "bad");
  });

  it("says offline since when and why, for each reason", () => {
    const base = { ...READY, state: /** @type {const} */ ("offline"), last_success_at: "2026-12-06T09:05:00Z" };
    assert.deepEqual(
      ["network", "bad_key", "rate_limited", "team_offline"].map((reason) => offlineView({ ...base, offline_reason: reason })?.why),
      ["CATS cannot be reached", "CATS refuses the API key", "the hourly CATS request budget is spent", "the team's database cannot be reached"],
    );
    assert.equal(offlineView({ ...base, last_success_at: null, offline_reason: "network" })?.title, "Offline — companies as of the first sync");
    assert.equal(offlineView(READY), null);
    const line = cacheLine({ ...base, offline_reason: "network" }, "unreachable");
    assert.deepEqual(line, { text: "Offline — companies as of 2026-12-06 09:05 UTC (CATS cannot be reached).", tone: "warn" });
  });

  it("tells a locked keyring from a missing key in the popup, with how to unlock it", () => {
    const locked = healthView({ cats: { state: "keyring_locked", detail: "key.keyring_locked: locked" } }, null);
    assert.equal(locked.tone, "bad");
    assert.equal(locked.title, "The keyring is locked");
    assert.match(String(locked.fix), /Unlock it: .*gnome-keyring-daemon --unlock/);
    assert.doesNotMatch(`${locked.title} ${locked.detail} ${locked.fix}`, /add the key/i);
    const offline = healthView({
      cats: { state: "unreachable" },
      cache: { state: "offline", last_success_at: "2026-12-06T09:05:00Z", offline_reason: "network" },
    }, null);
    assert.equal(offline.tone, "warn");
    assert.equal(offline.title, "Offline — companies as of 2026-12-06 09:05 UTC");
    assert.match(offline.detail, /^CATS cannot be reached\. Lookups answer from this computer's cache/);
  });

  it("reads the health from the status message or the failure", () => {
    assert.equal(healthView({ cats: { state: "connected", detail: "site acme" } }, null).tone, "ok");
    assert.equal(healthView({ cats: { state: "bad_key" } }, null).tone, "bad");
    assert.equal(healthView({ cats: { state: "unreachable" } }, null).tone, "warn");
    const missing = healthView(null, { code: "host.not_installed", message: "no host" });
    assert.equal(missing.tone, "bad");
    assert.match(String(missing.fix), /install-host/);
  });

  it("says the team state: connected with who syncs, offline with why, lag and waiting confirmations", () => {
    /** @type {import("../shared/status-model.js").TeamStatus} */
    const connected = {
      joined: true, state: "connected", reason: null, role: "bob", access: "member", syncer: "alice", is_syncer: false,
      replication: { applied_change_no: 40, head_change_no: 40, lag_changes: 0, last_applied_at: null },
      aliases: { applied_change_no: 3, head_change_no: 3, lag_changes: 0, pending: 0 },
    };
    assert.equal(teamView({ joined: false, state: "not_joined", reason: null }), null);
    assert.equal(teamView(undefined), null);
    assert.deepEqual(teamView({ joined: false, state: "not_joined", reason: "team.json is damaged" }), {
      tone: "warn", title: "Team mode off", detail: "team.json is damaged", line: "Team mode off",
    });
    assert.deepEqual(teamView(connected), {
      tone: "ok", title: "Connected to the team", detail: "alice syncs the team's companies from CATS.", line: "Team: alice syncs",
    });
    assert.equal(teamView({ ...connected, is_syncer: true, syncer: "bob" })?.line, "Team: you sync");
    const behind = teamView({
      ...connected,
      replication: { lag_changes: 120 },
      aliases: { lag_changes: 1, pending: 2 },
    });
    assert.equal(behind?.tone, "warn");
    assert.equal(behind?.line, "Team: alice syncs · 121 behind");
    assert.match(String(behind?.detail), /121 changes still to copy from the team\. 2 confirmations waiting to reach the team\./);
    assert.equal(teamView({ ...connected, syncer: null })?.tone, "warn");
    const offline = teamView({ ...connected, state: "offline", reason: "could not connect to the team database" });
    assert.equal(offline?.tone, "warn");
    assert.match(String(offline?.detail), /could not connect to the team database\. Lookups answer from this computer's cache\./);
    assert.equal(teamView({ ...connected, state: "connecting" })?.title, "Connecting to the team…");
    const removed = teamView({ ...connected, state: "removed", reason: "'bob' was removed from the team" });
    assert.equal(removed?.title, "Removed from the team");
    assert.equal(removed?.line, "Removed from the team: working alone");
  });

  it("says on the card that the cache is the team's copy, who confirmed a company and the team line", () => {
    const team = { joined: true, state: "connected", syncer: "alice", is_syncer: false };
    assert.equal(cacheLine(READY, "connected", team).text, "Cache synced 5 min ago · 1,200 companies · copied from the team");
    assert.equal(cacheLine(READY, "connected", { ...team, is_syncer: true }).text, "Cache synced 5 min ago · 1,200 companies");
    // A removed member's cache is its own again.
    assert.equal(cacheLine(READY, "connected", { ...team, state: "removed" }).text, "Cache synced 5 min ago · 1,200 companies");
    const view = companyView(
      result({ confirmed: true, confirmed_by: "alice", confirmed_at: "2026-12-06T02:51:00+00:00" }), "connected", team,
    );
    assert.equal(view.reason, "Confirmed for the team by alice on 6 Dec 2026.");
    assert.deepEqual(view.team, { text: "Team: alice syncs", tone: "ok" });
    // Confirmed here, not stamped by the team yet (or outside a team): no name to give.
    assert.equal(companyView(result({ confirmed: true, confirmed_by: null })).reason, "Same LinkedIn company page.");
    assert.equal(companyView(result()).team, null);
  });

  it("reads a quick-lookup query as a name, website, e-mail or LinkedIn page", () => {
    assert.deepEqual(queryFromText(" Acme Ltd "), { name: "Acme Ltd" });
    assert.deepEqual(queryFromText("acme.com"), { website: "acme.com" });
    assert.deepEqual(queryFromText("jo@acme.com"), { email: "jo@acme.com" });
    assert.deepEqual(queryFromText("https://www.linkedin.com/company/acme/"), { linkedin_url: "https://www.linkedin.com/company/acme/" });
    assert.equal(queryFromText("   "), null);
  });
});
