// Team: this companion's team state; for a team admin the team database's policy editor; in admin
// mode the site policy file's editor and its export.

import { ApiError } from "../api.js";
import { h, toast, alertError, uid, fill, formatWhen } from "../dom.js";
import { loadPolicy, loadTeamPolicy, reloadStatus, reloadView, savePolicy, saveTeamPolicy, state } from "../state.js";
import { select } from "../widgets.js";

const LINK_TEXT = { connected: "Connected", connecting: "Connecting…", offline: "Offline", removed: "Removed from the team" };
const POLICY_TEXT = {
  following: "Following the team database",
  offline: "Holding the last policy received",
  none: "No team policy",
};
// How often the team state is read again while the section is shown (who syncs, replication lag).
const REFRESH_MS = 5000;

function fact(term, value, id) {
  return [h("dt", {}, term), h("dd", id ? { id } : {}, value)];
}

function teamFacts(team) {
  if (!team.joined) {
    return [
      h("p", { id: "team-joined", dataset: { joined: "false" } }, "This companion is in no team."),
      team.reason ? h("p", { class: "form-error" }, team.reason) : null,
      h("p", { class: "help" }, "An admin adds you to a team; you join with cats-companion team join."),
    ];
  }
  const replication = team.replication || {};
  const policy = team.policy || {};
  const lag = replication.lag_changes;
  const linkState = h("span", { class: `badge badge-${team.state === "connected" ? "ok" : team.state === "offline" || team.state === "removed" ? "bad" : "unknown"}` }, LINK_TEXT[team.state] || team.state);
  return [
    h("p", { id: "team-joined", dataset: { joined: "true", state: team.state } }, "This companion is in a team."),
    h(
      "dl",
      { class: "facts" },
      fact("Team", h("code", {}, team.team_id)),
      fact("You", `${team.role} (${team.access})`, "team-role"),
      fact("Team database", [linkState, team.reason ? h("span", { class: "help" }, ` ${team.reason}`) : null], "team-link"),
      fact("Syncing companies", team.is_syncer ? "this companion" : team.syncer || "nobody at the moment", "team-syncer"),
      fact("Replication lag", lag === null || lag === undefined ? "unknown" : `${lag} change${lag === 1 ? "" : "s"}`, "team-lag"),
      fact("Last replicated", formatWhen(replication.last_applied_at)),
      fact("Team policy", policy.revision === null || policy.revision === undefined ? "none received" : `revision ${policy.revision}`, "team-policy-revision"),
      fact("Applied", policy.applied_at ? `${formatWhen(policy.applied_at)} (${policy.origin === "cache" ? "from the cache" : "from the database"})` : "—", "team-policy-applied"),
      fact("Policy state", [POLICY_TEXT[policy.state] || policy.state, policy.reason ? h("span", { class: "help" }, ` ${policy.reason}`) : null]),
    ),
    (policy.problems || []).map((message) => h("p", { class: "form-error" }, message)),
  ];
}

// The table of a policy's defaults and locks, and the card to add one; `save(next, message)` writes it.
function policyEditor(policy, save, { tableId, what }) {
  const paths = Object.keys(policy.defaults)
    .concat(policy.locked)
    .filter((p, i, all) => all.indexOf(p) === i)
    .sort();
  const table = h(
    "table",
    { class: "table", id: tableId },
    h("caption", { class: "sr-only" }, `${what}: defaults and locks`),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Setting"), h("th", { scope: "col" }, "Team value"), h("th", { scope: "col" }, "Locked"), h("th", { scope: "col" }, h("span", { class: "sr-only" }, "Actions")))),
    h(
      "tbody",
      {},
      paths.map((settingPath) => {
        const locked = policy.locked.includes(settingPath);
        const lockBox = h("input", { type: "checkbox", id: uid("lock"), checked: locked, "aria-label": `Lock ${settingPath}` });
        lockBox.addEventListener("change", () => {
          const nextLocked = lockBox.checked
            ? policy.locked.concat([settingPath])
            : policy.locked.filter((p) => p !== settingPath);
          const defaults = { ...policy.defaults };
          if (lockBox.checked && !(settingPath in defaults)) defaults[settingPath] = state.view.settings[settingPath].value;
          save({ version: policy.version, defaults, locked: nextLocked.sort() }, lockBox.checked ? "Locked for your team" : "Unlocked for your team");
        });
        const remove = h("button", { type: "button", class: "btn btn-quiet", "aria-label": `Remove ${settingPath} from the policy` }, "Remove");
        remove.addEventListener("click", () => {
          const defaults = { ...policy.defaults };
          delete defaults[settingPath];
          save({ version: policy.version, defaults, locked: policy.locked.filter((p) => p !== settingPath) }, "Removed from the policy");
        });
        const shown = settingPath in policy.defaults ? JSON.stringify(policy.defaults[settingPath]) : "built-in value";
        return h(
          "tr",
          { dataset: { path: settingPath } },
          h("th", { scope: "row" }, h("code", {}, settingPath)),
          h("td", {}, h("code", { class: "value" }, shown)),
          h("td", {}, lockBox),
          h("td", {}, remove),
        );
      }),
    ),
  );
  const pickerId = uid("teampath");
  const picker = select(
    pickerId,
    state.schema.paths.filter((p) => !paths.includes(p)).map((p) => [p, p]),
    null,
  );
  const lockNew = h("input", { type: "checkbox", id: `${pickerId}-lock` });
  const add = h("button", { type: "button", class: "btn btn-primary" }, "Add as team default");
  add.addEventListener("click", () => {
    const settingPath = picker.value;
    const defaults = { ...policy.defaults, [settingPath]: state.view.settings[settingPath].value };
    const locked = lockNew.checked ? policy.locked.concat([settingPath]).sort() : policy.locked;
    save({ version: policy.version, defaults, locked }, "Added to the team policy");
  });
  return [
    h("section", { class: "card" }, h("h2", {}, `${what}: defaults and locks`), paths.length ? table : h("p", { class: "muted" }, "The policy sets nothing yet.")),
    h(
      "section",
      { class: "card" },
      h("h2", {}, `Add a default to the ${what.toLowerCase()}`),
      h("p", { class: "help" }, "The value in force for you now becomes the team's default."),
      h(
        "div",
        { class: "row" },
        h("label", { for: pickerId }, "Setting"),
        picker,
        h("span", { class: "check" }, lockNew, h("label", { for: `${pickerId}-lock` }, "Lock it")),
        add,
      ),
    ),
  ];
}

const REFUSED = {
  "policy.conflict": "Another admin changed the team policy meanwhile.",
  "team.privileges": "The team database refused the change.",
  "policy.invalid": "The policy was not saved: it is not valid.",
};

const sentence = (text) => text.charAt(0).toUpperCase() + text.slice(1);

// The window's team state card, drawn again after each change and every REFRESH_MS.
function drawState(card, team) {
  fill(card, h("h2", {}, "Your team"), teamFacts(team));
}

async function renderDatabasePolicy(box, stateCard) {
  let loaded;
  try {
    loaded = await loadTeamPolicy();
  } catch (error) {
    fill(box, h("section", { class: "card" }, h("h2", {}, "Team policy (team database)"), h("p", { class: "form-error", id: "team-policy-error" }, error.message)));
    return;
  }
  const redraw = () => renderDatabasePolicy(box, stateCard);
  const save = async (next, message) => {
    try {
      const saved = await saveTeamPolicy(next, loaded.revision);
      await reloadView();
      drawState(stateCard, saved.team);
      toast(message);
      await redraw();
    } catch (error) {
      const code = error instanceof ApiError ? error.code : "internal";
      const title = REFUSED[code] || "The team policy was not saved.";
      alertError(`${title} ${sentence(error.message)}`);
      const reload = h("button", { type: "button", class: "btn", id: "team-policy-reload" }, "Load the current policy");
      reload.addEventListener("click", redraw);
      const old = box.querySelector("#team-policy-refused");
      if (old) old.remove();
      box.prepend(
        h(
          "div",
          { class: "banner banner-bad", role: "alert", id: "team-policy-refused", dataset: { code } },
          h("p", {}, h("strong", {}, title)),
          h("p", {}, sentence(error.message)),
          code === "policy.conflict" ? reload : null,
        ),
      );
    }
  };
  fill(
    box,
    h(
      "section",
      { class: "card" },
      h("h2", {}, "Team policy (team database)"),
      h("p", { class: "help" }, "Every member's companion applies a change within a second, and keeps the last policy it received while offline."),
      h(
        "dl",
        { class: "facts" },
        fact("Revision", String(loaded.revision), "team-db-revision"),
        fact("Changed by", loaded.revision ? `${loaded.changed_by}, ${formatWhen(loaded.changed_at)}` : "never edited"),
        fact("Locked settings", String(loaded.policy.locked.length), "team-db-locked-count"),
      ),
    ),
    policyEditor(loaded.policy, save, { tableId: "team-policy-table", what: "Team database policy" }),
  );
}

async function renderSitePolicy(box) {
  const { policy, path, origin, problems } = await loadPolicy();
  const save = async (next, message) => {
    try {
      await savePolicy(next);
      await reloadView();
      toast(message);
    } catch (error) {
      alertError(`The policy was not saved: ${error.message}`);
    }
    await renderSitePolicy(box);
  };
  fill(
    box,
    h(
      "section",
      { class: "card" },
      h("h2", {}, "Site policy file"),
      h("p", { class: "help" }, "This machine's policy file. Where it and the team database both set a value, the file's wins; locks from either bind."),
      h(
        "dl",
        { class: "facts" },
        fact("File", path ? h("code", {}, path) : "none installed yet (saving installs it)"),
        fact("Found through", origin === "env" ? "the CATS_COMPANION_POLICY variable" : origin === "site" ? "the system-wide config folder" : "—"),
        fact("Locked settings", String(policy.locked.length), "locked-count"),
      ),
      problems.map((problem) => h("p", { class: "form-error" }, problem.message)),
      h(
        "div",
        { class: "row" },
        h("a", { class: "btn", id: "export-policy", href: "/api/policy/export", download: "policy.json" }, "Export policy file"),
        h("span", { class: "help" }, "Deploy it to other machines' config folder, or point CATS_COMPANION_POLICY at it."),
      ),
    ),
    policyEditor(policy, save, { tableId: "policy-table", what: "Site policy" }),
  );
}

export async function renderTeam(container, app) {
  const status = await reloadStatus();
  const team = status.team;
  const stateCard = h("section", { class: "card", id: "team-state" });
  drawState(stateCard, team);
  const databaseBox = h("div", { id: "team-db-policy" });
  const siteBox = h("div", { id: "site-policy" });
  fill(
    container,
    h("h1", {}, "Team"),
    h(
      "p",
      { class: "lead" },
      "Team defaults apply to everyone who has not chosen otherwise; a locked setting cannot be changed by anyone but an admin.",
    ),
    stateCard,
    team.joined && team.access === "admin" ? databaseBox : null,
    state.session.admin ? siteBox : null,
  );
  if (team.joined && team.access === "admin") await renderDatabasePolicy(databaseBox, stateCard);
  if (state.session.admin) await renderSitePolicy(siteBox);
  const timer = setInterval(async () => {
    try {
      const fresh = await reloadStatus();
      drawState(stateCard, fresh.team);
      app.updateHeader();
    } catch (error) {
      // The next tick tries again; a daemon that stopped shows in the header.
    }
  }, REFRESH_MS);
  return () => clearInterval(timer);
}
