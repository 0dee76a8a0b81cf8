// Field mapping, for Candidates and for Contacts: each of our variables -> CATS field(s), with the
// warnings the API finds against this CATS account shown beside the variable concerned.

import { h, fill } from "../dom.js";
import { SettingsForm } from "../form.js";
import { MAPPABLE_STANDARD, fieldsFor, state, value } from "../state.js";
import { fieldChecklist, select, tabs } from "../widgets.js";

let selectedTab = "candidates";

const KIND_TITLES = {
  string: ["Text", "Each goes into exactly one CATS field."],
  list: ["Lists", "Each goes into one or more CATS fields; values are joined when a field holds one text."],
  social: ["Social profiles", "Each URL goes into a CATS field: an entry of Social media URLs, Website or a custom field."],
};

function targets(type) {
  return fieldsFor(type).filter((field) => field.custom || MAPPABLE_STANDARD.has(field.type));
}

export async function renderMapping(container) {
  const draw = (focusTab = false) => {
    const form = new SettingsForm(draw);
    const type = selectedTab;
    const sections = ["string", "list", "social"].map((kind) => {
      const [title, help] = KIND_TITLES[kind];
      const rows = state.schema.variables
        .filter((variable) => variable.kind === kind)
        .map((variable) => (kind === "list" ? listRow(form, type, variable) : singleRow(form, type, variable)));
      return h("section", { class: "card", dataset: { kind } }, h("h2", {}, title), h("p", { class: "help" }, help), rows);
    });
    const general = state.view.warnings.filter((w) => w.path === "mapping");
    fill(container, 
      h("h1", {}, "Field mapping"),
      h("p", { class: "lead" }, "Where each piece of a profile goes in CATS."),
      general.length ? h("div", { class: "banner banner-warn" }, general.map((w) => h("p", {}, w.message))) : null,
      tabs("Record type", [["candidates", "Candidates"], ["contacts", "Contacts"]], type, (key, focus) => {
        selectedTab = key;
        draw(focus);
      }),
      h("div", { id: "tabpanel", role: "tabpanel", "aria-labelledby": `tab-${type}`, class: "tabpanel" }, sections),
      form.actions(),
    );
    if (focusTab === true) document.getElementById(`tab-${type}`).focus();
  };
  draw();
}

function singleRow(form, type, variable) {
  const path = `mapping.${type}.${variable.key}`;
  const current = value(path);
  const options = [["", "Not sent to CATS"]].concat(
    targets(type).map((field) => [field.ref, field.custom ? `${field.label} (custom)` : field.label]),
  );
  if (current && !options.some(([ref]) => ref === current)) options.push([current, `${current} (not in CATS)`]);
  let node;
  return form.row({
    path,
    label: variable.label,
    help: variable.description,
    inline: true,
    control: (id) => {
      node = select(id, options, current || "");
      return node;
    },
    read: () => node.value || null,
  });
}

function listRow(form, type, variable) {
  const path = `mapping.${type}.${variable.key}`;
  const current = value(path);
  let list;
  let joiner;
  let noJoiner;
  return form.row({
    path,
    label: variable.label,
    help: variable.description,
    asGroup: true,
    control: (id) => {
      list = fieldChecklist(targets(type), current.targets, `${variable.key}-targets`);
      joiner = h("input", {
        id: `${id}-joiner`,
        class: "input input-short",
        value: current.joiner === null ? "" : current.joiner,
        disabled: current.joiner === null,
        maxlength: "16",
      });
      noJoiner = h("input", { type: "checkbox", id: `${id}-nojoin`, checked: current.joiner === null });
      noJoiner.addEventListener("change", () => {
        joiner.disabled = noJoiner.checked;
        if (!noJoiner.checked && !joiner.value) joiner.value = ", ";
      });
      return h(
        "div",
        { class: "stack" },
        list,
        h(
          "div",
          { class: "row" },
          h("label", { for: `${id}-joiner` }, "Joiner"),
          joiner,
          h("span", { class: "check" }, noJoiner, h("label", { for: `${id}-nojoin` }, "No joiner")),
        ),
      );
    },
    read: () => ({ targets: list.readValue(), joiner: noJoiner.checked ? null : joiner.value }),
  });
}
