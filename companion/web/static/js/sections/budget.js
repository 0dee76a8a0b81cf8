// API budget: how much of CATS's hourly request allowance is used, what is left, when it frees up.

import { formatDuration, formatWhen, h, fill } from "../dom.js";
import { reloadStatus, state } from "../state.js";

export async function renderBudget(container, app) {
  await reloadStatus();
  app.updateHeader();
  const budget = state.status.rate_budget;
  if (!budget) {
    fill(container, 
      h("h1", {}, "API budget"),
      h("section", { class: "card" }, h("p", { class: "muted" }, "Connect to CATS (Integrations) to see the hourly request budget.")),
    );
    return;
  }
  const percent = budget.limit ? Math.min(100, Math.round((100 * budget.used) / budget.limit)) : 0;
  const reservePercent = budget.limit ? Math.min(100, (100 * budget.reserve) / budget.limit) : 0;
  const meter = h(
    "div",
    {
      class: "meter",
      id: "budget-meter",
      role: "meter",
      "aria-label": "Requests used this hour",
      "aria-valuemin": "0",
      "aria-valuemax": String(budget.limit),
      "aria-valuenow": String(budget.used),
      "aria-valuetext": `${budget.used} of ${budget.limit} used`,
    },
    h("div", { class: "meter-fill" }),
    h("div", { class: "meter-reserve" }),
  );
  meter.children[0].style.width = `${percent}%`;
  meter.children[1].style.width = `${reservePercent}%`;
  fill(container, 
    h("h1", {}, "API budget"),
    h("p", { class: "lead" }, "CATS allows a limited number of requests per hour for your whole account. The companion counts every one and keeps a reserve for your own pushes."),
    h(
      "section",
      { class: "card" },
      h("div", { class: "budget-numbers" },
        h("div", { class: "big-number" }, h("span", { id: "budget-used" }, String(budget.used)), h("small", {}, "used")),
        h("div", { class: "big-number" }, h("span", { id: "budget-remaining" }, String(budget.remaining)), h("small", {}, "remaining")),
        h("div", { class: "big-number" }, h("span", {}, String(budget.limit)), h("small", {}, "per hour")),
      ),
      meter,
      h("p", { class: "help" }, `The hatched end of the bar is the reserve of ${budget.reserve} requests kept for interactive work; background syncs stop before it${budget.team ? ", for the whole team" : ""}.`),
      h(
        "dl",
        { class: "facts" },
        h("dt", {}, "Next request frees up"),
        h("dd", {}, budget.reset_in_seconds === null ? "nothing used yet" : `in ${formatDuration(budget.reset_in_seconds)} (${formatWhen(budget.reset_at)})`),
        h("dt", {}, "Counted from"),
        h("dd", {}, budget.source === "headers" ? "what CATS reports" : "the companion's own count"),
        budget.blocked_until ? [h("dt", {}, "Blocked by CATS until"), h("dd", { class: "form-error" }, formatWhen(budget.blocked_until))] : null,
      ),
    ),
    budget.team ? teamSpend(budget.team) : null,
  );
}

// The team's share of the hour: the account is one, so the figures above are the team's; who spent them.
function teamSpend(team) {
  const rows = team.members.map((member) =>
    h("tr", {},
      h("td", {}, member.name),
      h("td", { class: "num" }, String(member.interactive)),
      h("td", { class: "num" }, String(member.background)),
      h("td", { class: "num" }, String(member.interactive + member.background)),
    ),
  );
  const link = team.state === "connected"
    ? `Counted with the team${team.observed_by ? `; the freshest figures from CATS came through ${team.observed_by}'s companion` : ""}.`
    : `The team database is ${team.state}${team.reason ? ` (${team.reason})` : ""}: this companion counts on its own until it is back.`;
  return h(
    "section",
    { class: "card", id: "budget-team" },
    h("h2", {}, "The team's last hour"),
    h("p", { class: "help" }, `Every member's companion spends the same CATS account. ${link}`),
    rows.length
      ? h("table", { class: "table", id: "budget-team-members" },
          h("thead", {}, h("tr", {}, h("th", {}, "Member"), h("th", { class: "num" }, "Interactive"), h("th", { class: "num" }, "Background"), h("th", { class: "num" }, "Total"))),
          h("tbody", {}, rows),
        )
      : h("p", { class: "muted" }, "No member has sent a request to CATS this hour."),
  );
}
