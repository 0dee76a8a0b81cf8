// Pure formatting helpers shared by the card, the popup and the options page.

/**
 * "just now", "5 min ago", "3 h ago", "2 days ago" for an age in seconds; "never" for null.
 * @param {number | null | undefined} seconds
 * @returns {string}
 */
export function formatAge(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "never";
  if (seconds < 45) return "just now";
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.round(seconds / 3600);
  if (hours < 48) return `${hours} h ago`;
  return `${Math.round(seconds / 86400)} days ago`;
}

/**
 * Whether a cache of this age should be called stale (a day without a sync).
 * @param {number | null | undefined} seconds
 * @returns {boolean}
 */
export function isStale(seconds) {
  return typeof seconds === "number" && seconds > 24 * 3600;
}

/**
 * @typedef {{ limit?: number | null, remaining?: number | null, used?: number | null, reserve?: number | null,
 *   reset_at?: string | null, reset_in_seconds?: number | null }} BudgetLike
 */

/**
 * The API budget as a meter: used share (0-1), a label and a tone.
 * @param {BudgetLike | null | undefined} budget the `rate_budget` of the `status` message
 * @returns {{ fraction: number, label: string, tone: "ok" | "warn" | "bad" } | null}
 */
export function budgetMeter(budget) {
  if (!budget || typeof budget.limit !== "number" || budget.limit <= 0) return null;
  const remaining =
    typeof budget.remaining === "number"
      ? budget.remaining
      : typeof budget.used === "number"
        ? budget.limit - budget.used
        : null;
  if (remaining === null) return null;
  const used = Math.min(budget.limit, Math.max(0, budget.limit - remaining));
  const fraction = used / budget.limit;
  const tone = fraction >= 0.9 ? "bad" : fraction >= 0.7 ? "warn" : "ok";
  return { fraction, label: `${remaining} of ${budget.limit} requests left this hour`, tone };
}

/**
 * Confidence as the card shows it.
 * @param {string | null | undefined} confidence
 * @returns {string}
 */
export function confidenceLabel(confidence) {
  switch (confidence) {
    case "confirmed":
      return "Confirmed";
    case "high":
      return "Strong match";
    case "medium":
      return "Likely match";
    case "low":
      return "Possible match";
    default:
      return "Match";
  }
}
