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
 * @typedef {{ version?: string, cats?: CatsStatus, rate_budget?: import("./format.js").BudgetLike | null,
 *   team?: TeamStatus }} StatusData
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
  switch (cats.state) {
    case "connected":
      return { tone: "ok", title: "Connected to CATS", detail, fix: null };
    case "not_configured":
      return { tone: "bad", title: "No CATS API key yet", detail, fix: "Open settings, Integrations, and add the key." };
    case "bad_key":
      return { tone: "bad", title: "CATS refused the API key", detail, fix: "Open settings, Integrations, and check the key." };
    case "unreachable":
      return { tone: "warn", title: "CATS is unreachable", detail: detail || "Lookups answer from the cache; pushes wait in the queue.", fix: null };
    default:
      return { tone: "warn", title: "Checking the connection to CATS…", detail, fix: null };
  }
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
