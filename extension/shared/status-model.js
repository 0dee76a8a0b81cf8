// The companion's health as the popup and the options page show it: one tone, a title, the detail, a fix.

import { problemView } from "./problems.js";

/**
 * @typedef {{ base_url?: string, state?: string, detail?: string | null, checked_at?: string | null }} CatsStatus
 * @typedef {{ version?: string, cats?: CatsStatus, rate_budget?: import("./format.js").BudgetLike | null }} StatusData
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
