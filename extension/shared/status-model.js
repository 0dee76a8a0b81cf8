// The companion's health as the popup and the options page show it: one tone, a title, the detail, a fix;
// and its team state (the `status` message's `team` section) as the popup, the card and the tray say it.

import { problemView } from "./problems.js";

/**
 * @typedef {{ base_url?: string, state?: string, detail?: string | null, checked_at?: string | null }} CatsStatus
 * @typedef {{ applied_change_no?: number | null, head_change_no?: number | null, lag_changes?: number | null,
 *   last_applied_at?: string | null }} Replication
 * @typedef {{ joined?: boolean, state?: string, reason?: string | null, role?: string, access?: string,
 *   syncer?: string | null, is_syncer?: boolean, replication?: Replication,
 *   aliases?: (Replication & { pending?: number }) | null }} TeamStatus
 * @typedef {{ state?: string, last_success_at?: string | null, offline_reason?: string | null,
 *   message?: string | null }} CacheStatus
 * @typedef {{ version?: string, cats?: CatsStatus, rate_budget?: import("./format.js").BudgetLike | null,
 *   team?: TeamStatus, cache?: CacheStatus }} StatusData
 * @typedef {{ tone: "ok" | "warn" | "bad" | "muted", state: string, text: string }} DotView
 * @typedef {{ title: string, why: string }} OfflineView
 * @typedef {{ tone: "ok" | "warn" | "muted", title: string, detail: string, line: string }} TeamView
 * @typedef {{ code: string, message: string }} ErrorInfo
 * @typedef {{ tone: "ok" | "warn" | "bad", title: string, detail: string, fix: string | null }} HealthView
 */

/**
 * @param {StatusData | null} status the `status` message's answer, when it came
 * @param {ErrorInfo | null} error why it did not
 * @returns {HealthView}
 */
export function healthView(status, error) {
  if (error) {
    const problem = problemView(error);
    return { tone: "bad", title: problem.title, detail: problem.detail, fix: problem.fix };
  }
  const cats = status?.cats ?? {};
  const detail = cats.detail ?? "";
  const offline = offlineView(status?.cache);
  if (offline) {
    const refused = status?.cache?.offline_reason === "bad_key";
    return {
      tone: refused ? "bad" : "warn",
      title: offline.title,
      detail: `${sentence(offline.why)} Lookups answer from this computer's cache; pushes wait in the queue.`,
      fix: refused ? "Open settings, Integrations, and check the key." : null,
    };
  }
  switch (cats.state) {
    case "connected":
      return { tone: "ok", title: "Connected to CATS", detail, fix: null };
    case "not_configured":
      return { tone: "bad", title: "No CATS API key yet", detail, fix: "Open settings, Integrations, and add the key." };
    case "keyring_locked":
      return {
        tone: "bad",
        title: "The keyring is locked",
        detail: "The CATS API key is kept in your keyring, which is locked, so the companion cannot read it.",
        fix: KEYRING_UNLOCK,
      };
    case "bad_key":
      return { tone: "bad", title: "CATS refused the API key", detail, fix: "Open settings, Integrations, and check the key." };
    case "unreachable":
      return { tone: "warn", title: "CATS is unreachable", detail: detail || "Lookups answer from the cache; pushes wait in the queue.", fix: null };
    default:
      return { tone: "warn", title: "Checking the connection to CATS…", detail, fix: null };
  }
}

/** How to unlock the keyring; the daemon looks again by itself, so nothing needs restarting. */
export const KEYRING_UNLOCK =
  "Unlock it: log in to your desktop session or open your keyring app (without a desktop: " +
  "`gnome-keyring-daemon --unlock --components=secrets`). The companion then finds the key by itself.";

/** How long after CATS last answered with this key the card still says "Connected". */
export const CONNECTED_FRESH_MS = 60 * 60 * 1000;

/** Why the cache cannot be brought up to date (the daemon's `offline_reason`). */
const OFFLINE_WHY = /** @type {Readonly<Record<string, string>>} */ ({
  network: "CATS cannot be reached",
  bad_key: "CATS refuses the API key",
  rate_limited: "the hourly CATS request budget is spent",
  team_offline: "the team's database cannot be reached",
});

/**
 * "Offline — companies as of 2026-12-06 09:00 UTC" and why, while the daemon says its cache is offline.
 * @param {CacheStatus | null | undefined} cache the lookup's or the status's `cache`
 * @returns {OfflineView | null}
 */
export function offlineView(cache) {
  if (cache?.state !== "offline") return null;
  const when = cache.last_success_at ? new Date(cache.last_success_at) : null;
  const asOf = when && !Number.isNaN(when.getTime())
    ? `${when.toISOString().slice(0, 10)} ${when.toISOString().slice(11, 16)} UTC`
    : "the first sync";
  return {
    title: `Offline — companies as of ${asOf}`,
    why: OFFLINE_WHY[cache.offline_reason ?? ""] ?? "the cache cannot be synced now",
  };
}

/**
 * The card's status dot: green only when CATS answered with this key within CONNECTED_FRESH_MS;
 * every other state its own wording (and amber, red or grey).
 * @param {CatsStatus | null} cats the `status` message's cats section, when known
 * @param {CacheStatus | null} cache the lookup's cache
 * @param {number} [now] milliseconds since the epoch
 * @returns {DotView}
 */
export function connectionDot(cats, cache, now = Date.now()) {
  const offline = offlineView(cache);
  if (offline) return { tone: cache?.offline_reason === "bad_key" ? "bad" : "warn", state: "offline", text: `${offline.title} (${offline.why})` };
  switch (cats?.state) {
    case "not_configured":
      return { tone: "bad", state: "no_key", text: "No CATS API key: open the companion's settings to add one" };
    case "keyring_locked":
      return { tone: "bad", state: "keyring_locked", text: "Keyring locked: unlock it so the companion can read the CATS API key" };
    case "bad_key":
      return { tone: "bad", state: "bad_key", text: "CATS refused the API key" };
    case "unreachable":
      return { tone: "warn", state: "unreachable", text: "CATS is unreachable: answers come from the cache" };
  }
  if (cache && (cache.state === "never_synced" || cache.state === "empty")) {
    return { tone: "bad", state: "not_synced", text: "Company cache not synced" };
  }
  if (cats?.state === "connected") {
    const at = cats.checked_at ? Date.parse(cats.checked_at) : Number.NaN;
    if (Number.isFinite(at) && now - at <= CONNECTED_FRESH_MS) return { tone: "ok", state: "connected", text: "Connected" };
    return { tone: "muted", state: "not_recent", text: "CATS has not answered recently: the connection is not known" };
  }
  return { tone: "muted", state: "unknown", text: "Checking the connection to CATS…" };
}

/**
 * @param {string} text
 * @returns {string} with a capital first letter and a full stop
 */
function sentence(text) {
  const capital = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}

/**
 * The team state in words: null outside a team (and nothing wrong with team.json).
 * `title` and `detail` for the popup's panel, `line` the compact one the card shows.
 * @param {TeamStatus | null | undefined} team
 * @returns {TeamView | null}
 */
export function teamView(team) {
  if (!team) return null;
  if (!team.joined) {
    if (!team.reason) return null;
    return { tone: "warn", title: "Team mode off", detail: team.reason, line: "Team mode off" };
  }
  if (team.state === "removed") {
    // The admin removed this member: the companion stopped reconnecting and works alone.
    return {
      tone: "warn",
      title: "Removed from the team",
      detail: "The team's admin removed you from the team. This companion works alone now; "
        + "cats-companion team leave forgets the team.",
      line: "Removed from the team: working alone",
    };
  }
  if (team.state === "offline") {
    const reason = (team.reason ?? "The team database cannot be reached.").trim();
    const detail = `${/[.!?]$/.test(reason) ? reason : `${reason}.`} Lookups answer from this computer's cache.`;
    return { tone: "warn", title: "Team database offline", detail, line: "Team offline: answers from this computer's cache" };
  }
  if (team.state !== "connected") {
    return { tone: "muted", title: "Connecting to the team…", detail: "", line: "Connecting to the team…" };
  }
  const syncer = team.is_syncer
    ? "This companion syncs the team's companies from CATS."
    : team.syncer
      ? `${team.syncer} syncs the team's companies from CATS.`
      : "No member syncs the companies right now.";
  const behind = (team.replication?.lag_changes ?? 0) + (team.aliases?.lag_changes ?? 0);
  const pending = team.aliases?.pending ?? 0;
  const extra = [
    behind > 0 ? `${behind} ${behind === 1 ? "change" : "changes"} still to copy from the team.` : "",
    pending > 0 ? `${pending} ${pending === 1 ? "confirmation" : "confirmations"} waiting to reach the team.` : "",
  ].filter(Boolean);
  const who = team.is_syncer ? "you sync" : team.syncer ? `${team.syncer} syncs` : "nobody syncs";
  return {
    tone: behind > 0 || pending > 0 || (!team.is_syncer && !team.syncer) ? "warn" : "ok",
    title: "Connected to the team",
    detail: [syncer, ...extra].join(" "),
    line: `Team: ${who}${behind > 0 ? ` · ${behind} behind` : ""}`,
  };
}
