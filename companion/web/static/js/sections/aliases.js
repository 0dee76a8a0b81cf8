// Shared companies (in a team): the companies confirmed for the whole team, who confirmed each and
// when, and an undo -- an admin's for anyone's, a member's for their own.

import { get, post } from "../api.js";
import { alertError, formatWhen, h, toast, fill } from "../dom.js";
import { state } from "../state.js";

const KIND_TEXT = { name: "Name", domain: "Domain", linkedin: "LinkedIn page" };

export async function renderAliases(container) {
  const team = state.status.team || {};
  let showUndone = false;
  let aliases = [];

  const load = async () => {
    const query = showUndone ? "?include_undone=true&limit=500" : "?limit=500";
    aliases = (await get(`/api/team/aliases${query}`)).aliases;
  };

  const undo = async (alias, button) => {
    button.disabled = true;
    try {
      const result = await post("/api/team/aliases/undo", {
        kind: alias.kind,
        key: alias.key,
        company_id: alias.company_id,
      });
      toast(result.undone ? "Undone for the whole team" : "It was already undone");
      await load();
      draw();
    } catch (error) {
      button.disabled = false;
      alertError(error.message);
    }
  };

  const mayUndo = (alias) => !alias.undone_at && (team.access === "admin" || alias.confirmed_by === team.role);

  const row = (alias) =>
    h(
      "tr",
      { dataset: { kind: alias.kind, key: alias.key, undone: alias.undone_at ? "true" : "false" } },
      h("td", {}, alias.company_name || `CATS company ${alias.company_id}`),
      h("td", {}, h("span", { class: "muted" }, `${KIND_TEXT[alias.kind] || alias.kind}: `), alias.key),
      h("td", {}, alias.confirmed_by, h("br"), h("span", { class: "muted" }, formatWhen(alias.confirmed_at))),
      h(
        "td",
        {},
        alias.undone_at
          ? [`Undone by ${alias.undone_by}`, h("br"), h("span", { class: "muted" }, formatWhen(alias.undone_at))]
          : mayUndo(alias)
            ? h("button", {
                type: "button",
                class: "btn undo-alias",
                "aria-label": `Undo ${alias.company_name || alias.company_id} for ${alias.key}`,
                onclick: (event) => void undo(alias, event.currentTarget),
              }, "Undo")
            : null,
      ),
    );

  const draw = () => {
    const toggle = h("input", {
      type: "checkbox",
      id: "show-undone",
      checked: showUndone,
      onchange: async (event) => {
        showUndone = event.currentTarget.checked;
        try {
          await load();
          draw();
        } catch (error) {
          alertError(error.message);
        }
      },
    });
    const table = h(
      "table",
      { class: "table", id: "team-aliases" },
      h("caption", { class: "sr-only" }, "Companies confirmed for the team"),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          h("th", { scope: "col" }, "CATS company"),
          h("th", { scope: "col" }, "Confirmed for"),
          h("th", { scope: "col" }, "Confirmed by"),
          h("th", { scope: "col" }, h("span", { class: "sr-only" }, "Actions")),
        ),
      ),
      h("tbody", {}, aliases.map(row)),
    );
    fill(
      container,
      h("h1", {}, "Shared companies"),
      h(
        "p",
        { class: "help" },
        "A company a member of your team confirms on a profile is confirmed for everyone. ",
        team.access === "admin"
          ? "As the team's admin you can undo anyone's confirmation."
          : "You can undo your own confirmations; the team's admin can undo anyone's.",
      ),
      h(
        "section",
        { class: "card" },
        h("label", { class: "row" }, toggle, " Show undone confirmations"),
        aliases.length ? table : h("p", { class: "muted" }, "No company has been confirmed for the team yet."),
      ),
    );
  };

  try {
    await load();
  } catch (error) {
    fill(
      container,
      h("h1", {}, "Shared companies"),
      h("p", { class: "form-error" }, error.message),
    );
    return;
  }
  draw();
}
