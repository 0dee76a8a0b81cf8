// The toolbar popup: the companion's health, its team state, cache age, CATS API budget, quick lookup,
// settings and search.

import { cacheLine, companyView } from "../content/company-model.js";
import { createClient } from "../shared/client.js";
import { budgetMeter } from "../shared/format.js";
import { queryFromText } from "../shared/lookup-query.js";
import { CACHE_EVENT, CONNECTION_EVENT } from "../shared/messages.js";
import { settingsLink } from "../shared/settings-link.js";
import { healthView, teamView } from "../shared/status-model.js";

/**
 * @typedef {import("../shared/status-model.js").StatusData} StatusData
 * @typedef {import("../shared/messages.js").ErrorInfo} ErrorInfo
 */

const client = createClient(chrome);

/**
 * @param {string} id
 * @returns {HTMLElement}
 */
function byId(id) {
  const element = document.getElementById(id);
  if (!element) throw new Error(`popup.html lacks #${id}`);
  return element;
}

/**
 * @param {unknown} error
 * @returns {ErrorInfo}
 */
function errorInfo(error) {
  const record = /** @type {{ code?: unknown, message?: unknown }} */ (error ?? {});
  return {
    code: typeof record.code === "string" ? record.code : "internal",
    message: typeof record.message === "string" ? record.message : String(error),
  };
}

async function refresh() {
  /** @type {StatusData | null} */
  let status = null;
  /** @type {ErrorInfo | null} */
  let error = null;
  try {
    status = await client.send("status", {}, { timeoutMs: 15_000, retry: true });
  } catch (caught) {
    error = errorInfo(caught);
  }
  const health = healthView(status, error);
  const connection = byId("connection");
  connection.dataset.tone = health.tone;
  byId("connection-title").textContent = health.title;
  byId("connection-detail").textContent = health.detail;
  const fix = byId("connection-fix");
  fix.textContent = health.fix ?? "";
  fix.hidden = !health.fix;
  byId("version").textContent = status?.version ? `v${status.version}` : "";

  const team = teamView(status?.team);
  const teamPanel = byId("team");
  teamPanel.hidden = !team;
  teamPanel.dataset.tone = team?.tone ?? "muted";
  byId("team-state").textContent = team?.title ?? "";
  byId("team-detail").textContent = team?.detail ?? "";

  const meter = budgetMeter(status?.rate_budget);
  const budget = byId("budget");
  budget.dataset.tone = meter?.tone ?? "ok";
  budget.setAttribute("aria-valuenow", String(Math.round((meter?.fraction ?? 0) * 100)));
  byId("budget-fill").style.width = `${Math.round((meter?.fraction ?? 0) * 100)}%`;
  byId("budget-label").textContent = meter
    ? meter.label
    : error ? "Unknown while the companion is unreachable."
    : status?.cats?.state === "keyring_locked" ? "The keyring is locked: nothing is spent."
    : "No CATS API key: nothing is spent.";

  const cache = byId("cache");
  if (error) {
    cache.textContent = "Unknown while the companion is unreachable.";
  } else {
    try {
      // An empty search finds no company but says how fresh the cache is, without asking CATS.
      const data = await client.send("company.search", { q: "", limit: 1 }, { timeoutMs: 10_000 });
      const line = cacheLine(data.cache, status?.cats?.state ?? null, status?.team ?? null);
      cache.textContent = line.text;
      cache.dataset.tone = line.tone;
    } catch (caught) {
      cache.textContent = errorInfo(caught).message;
    }
  }
  document.body.dataset.ready = "true";
}

/** @param {SubmitEvent} event */
async function lookup(event) {
  event.preventDefault();
  const input = /** @type {HTMLInputElement} */ (byId("lookup-input"));
  const target = byId("lookup-result");
  const query = queryFromText(input.value);
  if (!query) return;
  target.textContent = "Looking up…";
  try {
    const result = await client.send("company.lookup", query, { timeoutMs: 10_000 });
    const view = companyView(result);
    const box = document.createElement("div");
    box.className = "result";
    box.dataset.state = view.state;
    const title = document.createElement("div");
    title.className = "row";
    const name = document.createElement("strong");
    name.textContent = view.heading;
    title.append(name);
    if (view.badge) {
      const badge = document.createElement("span");
      badge.className = `badge ${view.badge.tone}`;
      badge.textContent = view.badge.text;
      title.append(badge);
    }
    box.append(title);
    if (view.reason) {
      const reason = document.createElement("p");
      reason.className = "detail";
      reason.textContent = view.reason;
      box.append(reason);
    }
    for (const warning of view.warnings) {
      const line = document.createElement("p");
      line.className = "warning";
      line.textContent = warning.message;
      box.append(line);
    }
    target.replaceChildren(box);
  } catch (caught) {
    target.textContent = errorInfo(caught).message;
  }
}

/** @param {() => Promise<string>} url */
async function openTab(url) {
  const problem = byId("action-error");
  problem.hidden = true;
  try {
    await chrome.tabs.create({ url: await url() });
  } catch (caught) {
    problem.textContent = `Could not open it: ${errorInfo(caught).message}`;
    problem.hidden = false;
  }
}

byId("lookup-form").addEventListener("submit", (event) => void lookup(/** @type {SubmitEvent} */ (event)));
byId("open-settings").addEventListener("click", () => void openTab(() => settingsLink(client)));
byId("open-search").addEventListener("click", () => void openTab(async () => chrome.runtime.getURL("search/search.html")));
// When the companion comes back (after the worker restarted or the daemon started), show it.
client.subscribe(CONNECTION_EVENT, (state) => {
  if (state?.phase === "connected") void refresh();
});
// A company sync that fails (offline) or succeeds again: the popup follows, nobody reopens it.
client.subscribe(CACHE_EVENT, () => void refresh());
void refresh();
