// The window's shell: start the session, load the data, route between sections, keep the header current.

import { del, startSession, whenSessionEnds } from "./api.js";
import { alertError, h, fill } from "./dom.js";
import { loadAll, state } from "./state.js";
import { renderActivity } from "./sections/activity.js";
import { renderAliases } from "./sections/aliases.js";
import { renderBudget } from "./sections/budget.js";
import { renderCache } from "./sections/cache.js";
import { renderGeneral } from "./sections/general.js";
import { renderIntegrations } from "./sections/integrations.js";
import { renderMapping } from "./sections/mapping.js";
import { renderSync } from "./sections/sync.js";
import { renderTeam } from "./sections/team.js";

const SECTIONS = {
  integrations: renderIntegrations,
  general: renderGeneral,
  sync: renderSync,
  mapping: renderMapping,
  team: renderTeam,
  cache: renderCache,
  aliases: renderAliases,
  activity: renderActivity,
  budget: renderBudget,
};

let leaveSection = null;

// The Team section: for a companion in a team (its state, and the database's policy for its admins)
// and in admin mode (the site policy file).
const teamShown = () => Boolean(state.session.admin || (state.status.team && state.status.team.joined));

const TEAM_TEXT = { connected: "Team connected", connecting: "Team connecting…", offline: "Team offline" };

function sectionFromHash() {
  const name = location.hash.replace(/^#/, "");
  if (name === "team" && !teamShown()) return "integrations";
  if (name === "aliases" && !(state.status.team && state.status.team.joined)) return "integrations";
  return SECTIONS[name] ? name : "integrations";
}

const BADGE_TEXT = {
  connected: "Connected",
  not_configured: "Not connected",
  keyring_locked: "Keyring locked",
  bad_key: "Key refused",
  unreachable: "CATS unreachable",
  unknown: "Checking…",
};

export function updateHeader() {
  const cats = state.status.cats;
  const badge = document.getElementById("conn-badge");
  badge.textContent = BADGE_TEXT[cats.state] || cats.state;
  badge.dataset.state = cats.state;
  badge.className = `badge badge-${cats.state === "connected" ? "ok" : cats.state === "unknown" ? "unknown" : "bad"}`;
  badge.title = cats.detail;
  const site = cats.state === "connected" ? cats.site : null;
  document.getElementById("cats-site").textContent = site ? `CATS site ${site}` : new URL(cats.base_url).host;
  const team = state.status.team;
  const teamBadge = document.getElementById("team-badge");
  teamBadge.hidden = !team.joined;
  if (team.joined) {
    teamBadge.textContent = TEAM_TEXT[team.state] || team.state;
    teamBadge.dataset.state = team.state;
    teamBadge.className = `badge badge-${team.state === "connected" ? "ok" : team.state === "offline" ? "bad" : "unknown"}`;
    teamBadge.title = team.reason || `team ${team.team_id}`;
  }
}

function updateProblems() {
  const box = document.getElementById("problems");
  box.replaceChildren();
  for (const problem of state.view.problems) {
    box.append(h("div", { class: "banner banner-bad", role: "alert", dataset: { code: problem.code } }, problem.message));
  }
}

export async function show(name, { focus = false } = {}) {
  if (leaveSection) leaveSection();
  leaveSection = null;
  for (const link of document.querySelectorAll("#nav a")) {
    if (link.dataset.section === name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  const container = document.getElementById("section");
  container.dataset.section = name;
  container.dataset.loading = "true";
  try {
    leaveSection = (await SECTIONS[name](container, { updateHeader, updateProblems })) || null;
  } catch (error) {
    fill(container, 
      h("h1", {}, "Something went wrong"),
      h("p", { class: "form-error" }, error.message),
    );
  }
  container.dataset.loading = "false";
  updateProblems();
  if (focus) {
    const heading = container.querySelector("h1");
    if (heading) {
      heading.tabIndex = -1;
      heading.focus();
    }
  }
}

function sessionEnded() {
  location.replace("/window/");
}

async function signOut() {
  try {
    await del("/api/window/session");
  } catch (error) {
    // Signed out or not, the page goes: the next load shows how to open the window again.
  }
  location.replace("/window/");
}

async function boot() {
  whenSessionEnds(sessionEnded);
  try {
    state.session = await startSession();
    await loadAll();
  } catch (error) {
    fill(document.getElementById("section"), 
      h("h1", {}, "The settings could not be loaded"),
      h("p", { class: "form-error" }, error.message),
    );
    alertError(error.message);
    return;
  }
  document.getElementById("admin-pill").hidden = !state.session.admin;
  document.getElementById("nav-team").hidden = !teamShown();
  // Shared companies exist only in a team (team.json joined).
  document.getElementById("nav-aliases").hidden = !(state.status.team && state.status.team.joined);
  document.getElementById("version").textContent = `Companion ${state.session.version}`;
  document.getElementById("sign-out").addEventListener("click", signOut);
  updateHeader();
  window.addEventListener("hashchange", () => show(sectionFromHash(), { focus: true }));
  await show(sectionFromHash());
  document.body.dataset.ready = "true";
}

boot();
