// A section's settings form: rows with label, lock, source and messages; saving changed values at once.

import { ApiError, patch, post } from "./api.js";
import { alertError, h, toast, uid } from "./dom.js";
import { isAdmin, isLocked, reloadView, setLocked, sourceOf, state, value, warningsFor } from "./state.js";

export const LOCKED_TIP = "Locked by your team's policy";

const SOURCE_TEXT = { user: "Your choice", team: "Team default" };

function same(a, b) {
  return JSON.stringify(a) === JSON.stringify(b);
}

export class SettingsForm {
  // `rerender` draws the section again after a save, a reset or a lock change.
  constructor(rerender) {
    this.rerender = rerender;
    this.rows = [];
    this.generalError = h("div", { class: "form-error", hidden: true, tabindex: "-1" });
    this.status = h("span", { class: "save-status", "aria-live": "polite" });
    this.saveButton = h("button", { type: "button", class: "btn btn-primary", onclick: () => this.save() }, "Save changes");
    this.discardButton = h(
      "button",
      { type: "button", class: "btn", onclick: () => this.rerender() },
      "Discard changes",
    );
  }

  // One setting (or a group of settings under `path`) whose value `read()` returns from the controls.
  // `control` is an element or a function (id) => element; `label` is tied to the control by id.
  row({ path, label, help, control, read, inline = false, asGroup = false }) {
    const id = uid("ctl");
    const helpId = help ? uid("help") : null;
    const errorId = uid("err");
    const body = typeof control === "function" ? control(id, helpId) : control;
    const locked = isLocked(path);
    const heading = asGroup
      ? h("span", { class: "setting-label", id: `${id}-label` }, label)
      : h("label", { class: "setting-label", for: id }, label);
    const row = h(
      "div",
      {
        class: `setting${inline ? " setting-inline" : ""}`,
        dataset: { path, locked: String(locked) },
        role: asGroup ? "group" : null,
        "aria-labelledby": asGroup ? `${id}-label` : null,
      },
      h("div", { class: "setting-head" }, heading, this.lockControl(path, label), this.sourceChip(path)),
      help ? h("p", { class: "help", id: helpId }, help) : null,
      h("div", { class: "setting-control" }, body),
      h("p", { class: "field-error", id: errorId, hidden: true }),
      this.warningList(path),
    );
    const input = row.querySelector(`#${CSS.escape(id)}`);
    if (input) {
      const described = [helpId, errorId].filter(Boolean).join(" ");
      input.setAttribute("aria-describedby", described);
    }
    if (locked) {
      for (const element of row.querySelectorAll(".setting-control input, .setting-control select, .setting-control button, .setting-control textarea")) {
        element.disabled = true;
      }
    }
    row.addEventListener("input", () => this.markDirty());
    row.addEventListener("change", () => this.markDirty());
    this.rows.push({ path, read, row, errorId });
    return row;
  }

  lockControl(path, label) {
    const locked = isLocked(path);
    if (isAdmin()) {
      const text = locked ? `Unlock "${label}" for your team` : `Lock "${label}" for your team`;
      return h(
        "button",
        {
          type: "button",
          class: "lock-btn",
          "aria-pressed": String(locked),
          "aria-label": text,
          title: text,
          dataset: { lockPath: path },
          onclick: () => this.toggleLock(path, !locked),
        },
        h("img", { src: `/window/static/${locked ? "lock" : "unlock"}.svg`, alt: "", width: 18, height: 18 }),
      );
    }
    if (!locked) return null;
    return h(
      "span",
      { class: "lock-tip", tabindex: "0", role: "img", "aria-label": LOCKED_TIP, title: LOCKED_TIP, dataset: { tip: LOCKED_TIP } },
      h("img", { src: "/window/static/lock.svg", alt: "", width: 18, height: 18 }),
    );
  }

  sourceChip(path) {
    const source = sourceOf(path);
    if (isLocked(path)) return h("span", { class: "chip chip-team" }, "Team setting");
    if (!SOURCE_TEXT[source]) return null;
    const chip = h("span", { class: `chip chip-${source}` }, SOURCE_TEXT[source]);
    if (source !== "user") return chip;
    const reset = h(
      "button",
      { type: "button", class: "link-btn", onclick: () => this.reset(path) },
      state.view.policy.in_force ? "Use the team default" : "Use the default",
    );
    return h("span", { class: "chips" }, chip, reset);
  }

  warningList(path) {
    const warnings = warningsFor(path);
    if (!warnings.length) return null;
    return h(
      "ul",
      { class: "field-warnings" },
      warnings.map((w) => h("li", { class: "warning", dataset: { kind: w.kind, path: w.path } }, w.message)),
    );
  }

  // The bar under the rows: Save / Discard, the general error box and the live status text.
  actions() {
    return h(
      "div",
      { class: "form-actions" },
      this.generalError,
      h("div", { class: "form-buttons" }, this.saveButton, this.discardButton, this.status),
    );
  }

  markDirty() {
    this.status.textContent = "Unsaved changes";
    this.status.dataset.kind = "dirty";
  }

  changes() {
    const changes = {};
    for (const { path, read } of this.rows) {
      if (!read || isLocked(path)) continue;
      const next = read();
      if (!same(next, value(path))) changes[path] = next;
    }
    return changes;
  }

  clearErrors() {
    this.generalError.hidden = true;
    this.generalError.textContent = "";
    for (const { row, errorId } of this.rows) {
      row.classList.remove("has-error");
      const box = row.querySelector(`#${CSS.escape(errorId)}`);
      box.hidden = true;
      box.textContent = "";
    }
  }

  async save() {
    this.clearErrors();
    const changes = this.changes();
    const count = Object.keys(changes).length;
    if (!count) {
      this.status.textContent = "Nothing to save";
      this.status.dataset.kind = "ok";
      return;
    }
    this.saveButton.disabled = true;
    try {
      state.view = await patch("/api/settings", changes);
    } catch (error) {
      this.saveButton.disabled = false;
      this.showError(error);
      return;
    }
    this.rerender();
    toast(count === 1 ? "Saved 1 setting" : `Saved ${count} settings`);
  }

  async reset(path) {
    try {
      state.view = await post("/api/settings/reset", { paths: [path] });
    } catch (error) {
      this.showError(error);
      return;
    }
    this.rerender();
    toast("Back to the default");
  }

  async toggleLock(path, locked) {
    try {
      await setLocked(path, locked);
    } catch (error) {
      this.showError(error);
      return;
    }
    await reloadView();
    this.rerender();
    toast(locked ? "Locked for your team" : "Unlocked for your team");
  }

  // The row a path of an error belongs to: the row of that setting or of the group holding it.
  rowFor(path) {
    let best = null;
    for (const entry of this.rows) {
      const fits = path === entry.path || path.startsWith(`${entry.path}.`) || entry.path.startsWith(`${path}.`);
      if (fits && (!best || entry.path.length > best.path.length)) best = entry;
    }
    return best;
  }

  fieldError(path, message) {
    const entry = this.rowFor(path);
    if (!entry) return false;
    const box = entry.row.querySelector(`#${CSS.escape(entry.errorId)}`);
    box.textContent = box.textContent ? `${box.textContent} ${message}` : message;
    box.hidden = false;
    entry.row.classList.add("has-error");
    return true;
  }

  showError(error) {
    let summary;
    if (error instanceof ApiError && error.code === "settings.invalid" && error.details.length) {
      const loose = error.details.filter((d) => !this.fieldError(d.path, d.message));
      summary = "Not saved: please correct the highlighted settings. Nothing was changed.";
      if (loose.length) summary += ` ${loose.map((d) => `${d.path}: ${d.message}`).join(" ")}`;
    } else if (error instanceof ApiError && error.code === "settings.locked") {
      for (const path of error.paths) this.fieldError(path, `${LOCKED_TIP}: only an admin can change it.`);
      summary = `Not saved: ${error.paths.join(", ")} ${error.paths.length > 1 ? "are" : "is"} locked by your team's policy. Nothing was changed.`;
    } else {
      summary = `Not saved: ${error.message}`;
    }
    this.generalError.textContent = summary;
    this.generalError.hidden = false;
    this.status.textContent = "";
    alertError(summary);
    const first = this.rows.find((entry) => entry.row.classList.contains("has-error"));
    const focusable = first && first.row.querySelector("input:not([disabled]), select:not([disabled]), textarea:not([disabled])");
    (focusable || this.generalError).focus();
  }
}
