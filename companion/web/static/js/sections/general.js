// General: merging, the company info the extension shows, the duplicate-company warning, notes upon outreach.

import { h, fill } from "../dom.js";
import { SettingsForm } from "../form.js";
import { enumOf, fieldLabel, fieldsFor, value } from "../state.js";
import { orderedList, radios, radioValue, select, toggle } from "../widgets.js";

export const OUTREACH_LABELS = {
  email_sent: "Email sent",
  linkedin_connection_request: "LinkedIn connection request",
  linkedin_message: "LinkedIn message",
  inmail: "InMail",
  call: "Call",
  text_message: "Text message",
  reply_received: "Reply received",
  interested: "Interested",
  meeting_booked: "Meeting booked",
};

export const ACTIVITY_LABELS = {
  email: "Email",
  meeting: "Meeting",
  call_talked: "Call (talked)",
  call_lvm: "Call (left voicemail)",
  call_missed: "Call (missed)",
  text_message: "Text message",
  other: "Other",
};

export async function renderGeneral(container) {
  const draw = () => {
    const form = new SettingsForm(draw);
    fill(container, 
      h("h1", {}, "General"),
      h("p", { class: "lead" }, "How the companion treats records and companies, for every push."),
      h("section", { class: "card" }, h("h2", {}, "Records"), mergeRow(form)),
      h("section", { class: "card" }, h("h2", {}, "Companies"), companyInfoRow(form), warningRow(form)),
      h("section", { class: "card" }, h("h2", {}, "Create notes upon"), notesTable(form)),
      form.actions(),
    );
  };
  draw();
}

function mergeRow(form) {
  let input;
  return form.row({
    path: "general.do_not_merge",
    label: "Do not merge with existing records in CATS",
    help: "Off: a push finds the existing person in CATS and updates it. On: every push creates a new record, even when that makes a duplicate.",
    control: (id) => {
      const node = toggle(id, value("general.do_not_merge"), "Always create a new record");
      input = node.querySelector("input");
      return node;
    },
    read: () => input.checked,
  });
}

function companyInfoRow(form) {
  let list;
  const choices = fieldsFor("companies");
  return form.row({
    path: "general.displayed_company_info",
    label: "Displayed company info",
    help: "The company fields the extension shows beside a profile, in this order.",
    asGroup: true,
    control: (id) => {
      list = orderedList({
        id,
        items: value("general.displayed_company_info"),
        choices,
        labelOf: (ref) => fieldLabel("companies", ref),
        noun: "field",
      });
      return list;
    },
    read: () => list.readValue(),
  });
}

function warningRow(form) {
  let group;
  const labels = {
    off: ["Off", "no warning"],
    exact: ["Exact duplicates only", "CATS holds the same company more than once"],
    similar: ["Duplicates and similar names", "also companies with similar names, e.g. Acme vs Acme Inc"],
  };
  const options = (enumOf("GeneralSettings", "company_warning_level").length
    ? enumOf("GeneralSettings", "company_warning_level")
    : Object.keys(labels)
  ).map((key) => [key, ...(labels[key] || [key, ""])]);
  return form.row({
    path: "general.company_warning_level",
    label: "Displayed company warning",
    asGroup: true,
    control: () => {
      group = radios("warning-level", options, value("general.company_warning_level"));
      return group;
    },
    read: () => radioValue(group, "warning-level"),
  });
}

function notesTable(form) {
  const outreach = Object.keys(value("general.notes_upon"))
    .map((key) => key.split(".")[0])
    .filter((key, index, all) => all.indexOf(key) === index);
  const activityTypes = enumOf("NoteRule", "activity_type");
  const rows = outreach.map((key) => {
    const path = `general.notes_upon.${key}`;
    const rule = value(path);
    let checkbox;
    let kind;
    return form.row({
      path,
      label: OUTREACH_LABELS[key] || key,
      inline: true,
      asGroup: true,
      control: (id) => {
        checkbox = h("input", { type: "checkbox", id, checked: rule.create_note });
        kind = select(
          `${id}-type`,
          activityTypes.map((type) => [type, ACTIVITY_LABELS[type] || type]),
          rule.activity_type,
          { "aria-label": `CATS activity type for ${OUTREACH_LABELS[key] || key}` },
        );
        return h(
          "div",
          { class: "row" },
          h("span", { class: "check" }, checkbox, h("label", { for: id }, "Create a note")),
          h("span", { class: "muted" }, "as"),
          kind,
        );
      },
      read: () => ({ create_note: checkbox.checked, activity_type: kind.value }),
    });
  });
  return h(
    "div",
    { class: "notes-table" },
    h("p", { class: "help" }, "Which outreach creates a note on the person in CATS, and the CATS activity type it gets."),
    rows,
  );
}
