// Sync, for Candidates and for Contacts: when campaign members sync, notes, which fields are displayed,
// mandatory, protected and filterable, the default owner, and (contacts) a company missing from CATS.

import { h, uid, fill } from "../dom.js";
import { SettingsForm } from "../form.js";
import { enumOf, fieldLabel, fieldsFor, state, value } from "../state.js";
import { fieldChecklist, radios, radioValue, select, tabs, toggle } from "../widgets.js";

const TRIGGER_LABELS = {
  on_add: "When added to the campaign",
  on_reply: "When they reply",
  when_interested: "When they are interested",
  never: "Never",
};

let selectedTab = "candidates";

export async function renderSync(container) {
  const draw = (focusTab = false) => {
    const form = new SettingsForm(draw);
    const type = selectedTab;
    const panel = h(
      "div",
      { id: "tabpanel", role: "tabpanel", "aria-labelledby": `tab-${type}`, class: "tabpanel" },
      h("section", { class: "card" }, h("h2", {}, "Campaigns and notes"), triggerRow(form, type), notesRow(form, type)),
      h(
        "section",
        { class: "card" },
        h("h2", {}, "Fields"),
        fieldsRow(form, type, "displayed_fields", "Displayed fields", "Optional fields a recruiter can fill in the extension before a push."),
        fieldsRow(form, type, "mandatory_fields", "Mandatory fields", "A push is refused, naming the missing fields, until these are filled."),
        protectedRow(form, type),
        fieldsRow(form, type, "filterable_fields", "Filterable fields", "Offered as filters on the extension's CRM search page."),
      ),
      h("section", { class: "card" }, h("h2", {}, "New records"), ownerRow(form, type), type === "contacts" ? missingCompanyRow(form) : null),
    );
    fill(container, 
      h("h1", {}, "Sync"),
      h("p", { class: "lead" }, "What a push sends to CATS, separately for candidates and contacts."),
      tabs("Record type", [["candidates", "Candidates"], ["contacts", "Contacts"]], type, (key, focus) => {
        selectedTab = key;
        draw(focus);
      }),
      panel,
      form.actions(),
    );
    if (focusTab === true) document.getElementById(`tab-${type}`).focus();
  };
  draw();
}

function triggerRow(form, type) {
  const path = `sync.${type}.campaign_sync_trigger`;
  let node;
  const options = enumOf(type === "candidates" ? "CandidateSync" : "ContactSync", "campaign_sync_trigger");
  return form.row({
    path,
    label: "When adding to a campaign, sync",
    help: "When a campaign member is created or updated in CATS.",
    control: (id) => {
      node = select(id, options.map((key) => [key, TRIGGER_LABELS[key] || key]), value(path));
      return node;
    },
    read: () => node.value,
  });
}

function notesRow(form, type) {
  const path = `sync.${type}.only_notes_for_synced`;
  let input;
  return form.row({
    path,
    label: "Only add notes to synced records",
    help: "Outreach notes are added only to people already in CATS.",
    control: (id) => {
      const node = toggle(id, value(path), "Only synced records get notes");
      input = node.querySelector("input");
      return node;
    },
    read: () => input.checked,
  });
}

function fieldsRow(form, type, name, label, help) {
  const path = `sync.${type}.${name}`;
  let list;
  return form.row({
    path,
    label,
    help,
    asGroup: true,
    control: () => {
      list = fieldChecklist(fieldsFor(type), value(path), name);
      return list;
    },
    read: () => list.readValue(),
  });
}

function protectedRow(form, type) {
  const path = `sync.${type}.protected_fields`;
  let rules = value(path).map((rule) => ({ ...rule }));
  const body = h("div", { class: "protected" });
  const changed = () => body.dispatchEvent(new Event("change", { bubbles: true }));
  const draw = () => {
    const used = rules.map((rule) => rule.field);
    const free = fieldsFor(type).filter((field) => !used.includes(field.ref));
    const picker = select(uid("protect"), free.map((field) => [field.ref, field.label]), null, {
      "aria-label": "Field to protect",
    });
    const add = h("button", { type: "button", class: "btn" }, "Protect field");
    add.addEventListener("click", () => {
      if (!picker.value) return;
      rules.push({ field: picker.value, only_fill_when_blank: false });
      draw();
      changed();
    });
    body.replaceChildren(
      h(
        "ul",
        { class: "plain-list" },
        rules.map((rule, index) => {
          const label = fieldLabel(type, rule.field);
          const id = uid("blank");
          const blank = h("input", { type: "checkbox", id, checked: rule.only_fill_when_blank });
          blank.addEventListener("change", () => {
            rule.only_fill_when_blank = blank.checked;
          });
          const remove = h("button", { type: "button", class: "icon-btn", "aria-label": `Stop protecting ${label}` }, "✕");
          remove.addEventListener("click", () => {
            rules.splice(index, 1);
            draw();
            changed();
          });
          return h(
            "li",
            { dataset: { ref: rule.field } },
            h("span", { class: "ordered-label" }, label),
            h("span", { class: "check" }, blank, h("label", { for: id }, "Only fill when blank")),
            remove,
          );
        }),
      ),
      free.length ? h("div", { class: "row" }, picker, add) : null,
    );
  };
  draw();
  return form.row({
    path,
    label: "Protected fields",
    help: "Never overwritten on a record that exists in CATS; with “only fill when blank”, written only when CATS has no value.",
    asGroup: true,
    control: body,
    read: () => rules.map((rule) => ({ field: rule.field, only_fill_when_blank: rule.only_fill_when_blank })),
  });
}

function ownerRow(form, type) {
  const path = `sync.${type}.default_owner_id`;
  const current = value(path);
  const users = state.catalogue.users || [];
  const options = [["", "No default owner"]].concat(
    users.map((user) => [String(user.id), user.username ? `${user.name} (${user.username})` : user.name]),
  );
  if (current !== null && !users.some((user) => user.id === current)) {
    options.push([String(current), `User ${current} (not in the catalogue)`]);
  }
  let node;
  return form.row({
    path,
    label: "Default owner",
    help: users.length
      ? "The CATS user who owns new records."
      : "The CATS user who owns new records. Refresh the field catalogue (Integrations) to list your CATS users.",
    control: (id) => {
      node = select(id, options, current === null ? "" : String(current));
      return node;
    },
    read: () => (node.value === "" ? null : Number(node.value)),
  });
}

function missingCompanyRow(form) {
  const path = "sync.contacts.missing_company";
  let group;
  return form.row({
    path,
    label: "When the contact's company is not in CATS",
    asGroup: true,
    control: () => {
      group = radios(
        "missing-company",
        [
          ["refuse", "Refuse the push", "with a message naming the company"],
          ["create", "Create the company", "in CATS, then the contact"],
        ],
        value(path),
      );
      return group;
    },
    read: () => radioValue(group, "missing-company"),
  });
}
