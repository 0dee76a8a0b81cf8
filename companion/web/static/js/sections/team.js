// Team (admin mode): the team policy -- defaults and locks for every user -- and its export as a file.

import { h, toast, alertError, uid, fill } from "../dom.js";
import { loadPolicy, reloadView, savePolicy, state } from "../state.js";
import { select } from "../widgets.js";

export async function renderTeam(container) {
  const draw = async () => {
    const { policy, path, origin, problems } = await loadPolicy();
    const paths = Object.keys(policy.defaults)
      .concat(policy.locked)
      .filter((p, i, all) => all.indexOf(p) === i)
      .sort();
    const save = async (next, message) => {
      try {
        await savePolicy(next);
        await reloadView();
        toast(message);
      } catch (error) {
        alertError(`The policy was not saved: ${error.message}`);
      }
      await draw();
    };
    const table = h(
      "table",
      { class: "table", id: "policy-table" },
      h("caption", { class: "sr-only" }, "Team defaults and locks"),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Setting"), h("th", { scope: "col" }, "Team value"), h("th", { scope: "col" }, "Locked"), h("th", { scope: "col" }, h("span", { class: "sr-only" }, "Actions")))),
      h(
        "tbody",
        {},
        paths.map((settingPath) => {
          const locked = policy.locked.includes(settingPath);
          const lockId = uid("lock");
          const lockBox = h("input", { type: "checkbox", id: lockId, checked: locked, "aria-label": `Lock ${settingPath}` });
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
    fill(container, 
      h("h1", {}, "Team"),
      h(
        "p",
        { class: "lead" },
        "Team defaults apply to everyone who has not chosen otherwise; a locked setting cannot be changed by anyone but an admin. You can also lock a setting with the lock button beside it in any section.",
      ),
      h(
        "section",
        { class: "card" },
        h("h2", {}, "Policy in force"),
        h(
          "dl",
          { class: "facts" },
          h("dt", {}, "File"),
          h("dd", {}, path ? h("code", {}, path) : "none installed yet (saving installs it)"),
          h("dt", {}, "Found through"),
          h("dd", {}, origin === "env" ? "the CATS_COMPANION_POLICY variable" : origin === "site" ? "the system-wide config folder" : "—"),
          h("dt", {}, "Locked settings"),
          h("dd", { id: "locked-count" }, String(policy.locked.length)),
        ),
        problems.map((problem) => h("p", { class: "form-error" }, problem.message)),
        h(
          "div",
          { class: "row" },
          h("a", { class: "btn", id: "export-policy", href: "/api/policy/export", download: "policy.json" }, "Export policy file"),
          h("span", { class: "help" }, "Deploy it to other machines' config folder, or point CATS_COMPANION_POLICY at it."),
        ),
      ),
      h("section", { class: "card" }, h("h2", {}, "Team defaults and locks"), paths.length ? table : h("p", { class: "muted" }, "The policy sets nothing yet.")),
      h(
        "section",
        { class: "card" },
        h("h2", {}, "Add a team default"),
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
    );
  };
  await draw();
}
