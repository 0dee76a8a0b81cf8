// The company section's pure logic: what to ask the daemon, and what to show for each answer or failure.
//
// No DOM and no chrome.* here (unit-tested in Node). `company.lookup` answers from the companion's
// cache only (no CATS request), so it is asked on every profile; its answer carries the match with
// confidence and reason, look-alike warnings, the fields chosen in "Displayed company info", whether
// the match is a recruiter's confirmation, and the cache's state and age.

import { confidenceLabel, formatAge, isStale } from "../shared/format.js";
import { problemView } from "../shared/problems.js";
import { offlineView, teamView } from "../shared/status-model.js";

export { problemView };

/**
 * @typedef {import("./extract.js").Person} Person
 * @typedef {{ company_id: number, company_name: string, basis: string, confidence: string,
 *   score: number | null, reason: string, label?: string }} CompanyMatch
 * @typedef {{ kind: string, message: string, company_ids: number[], score: number | null }} DuplicateWarning
 * @typedef {{ key: string, label: string, value: string | null, ref_id?: number | null }} DisplayedField
 * @typedef {{ state: "never_synced" | "empty" | "ready" | "offline", companies: number, last_success_at: string | null,
 *   age_seconds: number | null, message: string | null, offline_reason?: string | null }} CacheInfo
 * @typedef {{ level: string, match: CompanyMatch | null, confirmed: boolean, warnings: DuplicateWarning[],
 *   company: DisplayedField[], cache: CacheInfo, confirmed_by?: string | null,
 *   confirmed_at?: string | null }} LookupResult
 * @typedef {{ id: number, name: string, website: string | null, city: string | null,
 *   country_code: string | null }} CompanyHit
 * @typedef {{ code: string, message: string }} ErrorInfo
 * @typedef {{ text: string, tone: "muted" | "warn" | "bad" }} CacheLine
 * @typedef {{
 *   state: "no-company" | "match" | "confirmed" | "no-match",
 *   heading: string,
 *   badge: { text: string, tone: "ok" | "info" | "warn" | "muted" } | null,
 *   reason: string | null,
 *   fields: { label: string, value: string }[],
 *   warnings: { kind: string, message: string }[],
 *   cache: CacheLine | null,
 *   team: { text: string, tone: string } | null,
 *   canConfirm: boolean,
 *   canUnconfirm: boolean,
 * }} CompanyView
 */

/**
 * The `company.lookup` params for a person, or null when the profile names no company.
 * @param {Pick<Person, "company" | "companyUrl">} person
 * @returns {{ name?: string, linkedin_url?: string } | null}
 */
export function lookupParams(person) {
  /** @type {{ name?: string, linkedin_url?: string }} */
  const params = {};
  if (person.company) params.name = person.company.slice(0, 500);
  if (person.companyUrl) params.linkedin_url = person.companyUrl;
  return Object.keys(params).length ? params : null;
}

/**
 * Whether two people need different lookups (the card re-asks only then).
 * @param {Pick<Person, "company" | "companyUrl"> | null} a
 * @param {Pick<Person, "company" | "companyUrl"> | null} b
 * @returns {boolean}
 */
export function sameLookup(a, b) {
  return JSON.stringify(a ? lookupParams(a) : null) === JSON.stringify(b ? lookupParams(b) : null);
}

/**
 * What the section shows for a lookup answer.
 * @param {LookupResult | null} result null when the profile names no company
 * @param {string | null} [catsState] the `status` message's cats.state, when known
 * @param {import("../shared/status-model.js").TeamStatus | null} [teamStatus] its `team`, when known
 * @returns {CompanyView}
 */
export function companyView(result, catsState = null, teamStatus = null) {
  const teamState = teamView(teamStatus);
  const team = teamState ? { text: teamState.line, tone: teamState.tone } : null;
  if (!result) {
    return {
      state: "no-company", heading: "No current company on this profile", badge: null,
      reason: "Choose the CATS company yourself if you know it.", fields: [], warnings: [],
      cache: null, team, canConfirm: true, canUnconfirm: false,
    };
  }
  const warnings = result.warnings.map((w) => ({ kind: w.kind, message: w.message }));
  const cache = cacheLine(result.cache, catsState, teamStatus);
  const match = result.match;
  if (!match) {
    return {
      state: "no-match",
      heading: "Not in CATS yet",
      badge: { text: "No match", tone: "muted" },
      reason: result.cache.state === "ready" || result.cache.state === "offline"
        ? "No CATS company matches this profile's company." : null,
      fields: [], warnings, cache, team, canConfirm: true, canUnconfirm: false,
    };
  }
  const fields = result.company
    .filter((field) => field.value !== null && field.value !== "")
    .map((field) => ({ label: field.label, value: /** @type {string} */ (field.value) }));
  const confirmed = result.confirmed || match.confidence === "confirmed";
  // A teammate's confirmation says whose it is (instead of the generic "a recruiter confirmed"): the
  // recruiter may trust it, or undo it for themselves.
  const by = confirmed && result.confirmed_by ? confirmedBy(result.confirmed_by, result.confirmed_at ?? null) : null;
  return {
    state: confirmed ? "confirmed" : "match",
    heading: match.company_name,
    badge: {
      // The daemon words the confidence (its thresholds are calibrated there); older daemons do not.
      text: confirmed ? confidenceLabel("confirmed") : match.label || confidenceLabel(match.confidence),
      tone: confirmed || match.confidence === "high" ? "ok" : match.confidence === "medium" ? "info" : "warn",
    },
    reason: by ?? match.reason,
    fields, warnings, cache, team,
    canConfirm: true,
    canUnconfirm: confirmed,
  };
}

/**
 * "Confirmed for the team by alice on 6 Dec 2026." for a confirmation made by a team member.
 * @param {string} member the member's login role
 * @param {string | null} at ISO 8601
 * @returns {string}
 */
export function confirmedBy(member, at) {
  const when = at ? new Date(at) : null;
  const date = when && !Number.isNaN(when.getTime())
    ? ` on ${when.toLocaleDateString("en-GB", { day: "numeric", month: "short", year: "numeric", timeZone: "UTC" })}`
    : "";
  return `Confirmed for the team by ${member}${date}.`;
}

/**
 * The cache line under the section: its age, and whether the answer can be trusted to be complete.
 * In a team whose syncer is another member, the cache is the team's copy: the line says so.
 * @param {CacheInfo} cache
 * @param {string | null} catsState
 * @param {import("../shared/status-model.js").TeamStatus | null} [team]
 * @returns {CacheLine}
 */
export function cacheLine(cache, catsState, team = null) {
  if (cache.state === "never_synced") {
    return { text: cache.message ?? "The company cache was never synced: open the companion's settings, Cache, Sync now.", tone: "bad" };
  }
  if (cache.state === "empty") {
    return { text: cache.message ?? "The company cache is empty: open the companion's settings, Cache, Sync now.", tone: "bad" };
  }
  const age = formatAge(cache.age_seconds);
  // The daemon says when its cache cannot be synced, and why (network, key, budget, team database).
  const down = offlineView(cache);
  if (down) return { text: `${down.title} (${down.why}).`, tone: cache.offline_reason === "bad_key" ? "bad" : "warn" };
  const offline = catsState === "unreachable";
  if (offline) return { text: `Offline from CATS: showing the cache from ${age}.`, tone: "warn" };
  if (isStale(cache.age_seconds)) return { text: `Cache last synced ${age}; it may be out of date.`, tone: "warn" };
  const shared = team?.joined && !team.is_syncer && team.state !== "removed" ? " · copied from the team" : "";
  return { text: `Cache synced ${age} · ${cache.companies.toLocaleString("en")} companies${shared}`, tone: "muted" };
}

/**
 * The picker's line for a company: "Acme Ltd — Berlin, DE · acme.com".
 * @param {CompanyHit} hit
 * @returns {{ name: string, detail: string }}
 */
export function hitLine(hit) {
  const place = [hit.city, hit.country_code].filter(Boolean).join(", ");
  const site = hit.website ? hit.website.replace(/^https?:\/\/(www\.)?/i, "").replace(/\/$/, "") : "";
  return { name: hit.name, detail: [place, site].filter(Boolean).join(" · ") };
}
