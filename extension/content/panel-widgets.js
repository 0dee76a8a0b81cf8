// One form control per CATS field type, for the person panel: text, textarea, number, date, checkbox,
// dropdown, radio, checkboxes (multi-select), user picker, list (emails, phones, URLs) and company.
//
// Each builder returns a labelled row whose control reports every change through `onChange` with
// the widget's value (panel-model.js WidgetValue); the panel owns the values and the errors.

/**
 * @typedef {import("./panel-model.js").FormField} FormField
 * @typedef {import("./panel-model.js").WidgetValue} WidgetValue
 */

/**
 * @template {keyof HTMLElementTagNameMap} K
 * @param {Document} doc
 * @param {K} tag
 * @param {Record<string, string>} [attrs]
 * @param {string} [text]
 * @returns {HTMLElementTagNameMap[K]}
 */
export function el(doc, tag, attrs = {}, text) {
  const node = doc.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

/**
 * Selects the option whose value is `value` (none when there is none). Setting `select.value`
 * would do in a browser; ticking the option itself works in every DOM, Node's test DOM included.
 * @param {HTMLSelectElement} select
 * @param {string} value
 */
export function choose(select, value) {
  for (const option of select.querySelectorAll("option")) option.selected = option.value === value;
}

/**
 * @param {Document} doc
 * @param {FormField} field
 * @param {string} id
 */
function caption(doc, field, id) {
  const label = el(doc, "label", { for: id, class: "cc-label" }, field.label);
  if (field.mandatory) {
    label.append(el(doc, "span", { class: "cc-required", "aria-hidden": "true", title: "Mandatory" }, " *"));
  }
  return label;
}

/**
 * @param {Document} doc
 * @param {FormField} field
 * @param {string} id
 * @param {WidgetValue} value
 * @param {(value: WidgetValue) => void} onChange
 * @returns {HTMLElement}
 */
function control(doc, field, id, value, onChange) {
  const text = typeof value === "string" ? value : "";
  const common = { id, name: field.field, "data-field": field.field };
  switch (field.widget) {
    case "textarea": {
      const area = el(doc, "textarea", { ...common, rows: "2" });
      area.value = text;
      area.addEventListener("input", () => onChange(area.value));
      return area;
    }
    case "checkbox": {
      const box = el(doc, "input", { ...common, type: "checkbox" });
      box.checked = value === true;
      box.addEventListener("change", () => onChange(box.checked));
      return box;
    }
    case "dropdown":
    case "user": {
      const select = el(doc, "select", common);
      select.append(el(doc, "option", { value: "" }, field.widget === "user" ? "— nobody chosen —" : "—"));
      for (const option of field.options) {
        select.append(el(doc, "option", { value: String(option.value) }, option.label));
      }
      choose(select, text);
      select.addEventListener("change", () => onChange(select.value));
      return select;
    }
    case "radio":
    case "checkboxes": {
      const multi = field.widget === "checkboxes";
      const group = el(doc, "div", { ...common, role: multi ? "group" : "radiogroup", class: "cc-choices" });
      const chosen = new Set(Array.isArray(value) ? value : text ? [text] : []);
      field.options.forEach((option, index) => {
        const optionId = `${id}-${index}`;
        const input = el(doc, "input", {
          id: optionId,
          type: multi ? "checkbox" : "radio",
          name: id,
          value: String(option.value),
        });
        input.checked = chosen.has(String(option.value));
        input.addEventListener("change", () => {
          if (!multi) {
            onChange(input.value);
            return;
          }
          const ticked = [...group.querySelectorAll("input:checked")].map((n) => /** @type {HTMLInputElement} */ (n).value);
          onChange(ticked);
        });
        const label = el(doc, "label", { for: optionId, class: "cc-choice" });
        label.append(input, doc.createTextNode(` ${option.label}`));
        group.append(label);
      });
      return group;
    }
    default: {
      const types = { number: "text", date: "date", company: "text", list: "text", text: "text" };
      const input = el(doc, "input", {
        ...common,
        type: types[/** @type {keyof typeof types} */ (field.widget)] || "text",
        autocomplete: "off",
      });
      if (field.widget === "number") input.setAttribute("inputmode", "decimal");
      if (field.widget === "company") input.setAttribute("inputmode", "numeric");
      if (field.widget === "list") input.setAttribute("placeholder", "a, b, …");
      input.value = text;
      input.addEventListener("input", () => onChange(input.value));
      return input;
    }
  }
}

/**
 * A labelled row for `field`, with room for its error message.
 * @param {Document} doc
 * @param {FormField} field
 * @param {string} idPrefix
 * @param {WidgetValue} value
 * @param {(value: WidgetValue) => void} onChange
 */
export function fieldRow(doc, field, idPrefix, value, onChange) {
  const id = `${idPrefix}-${field.field.replace(/[^a-z0-9_-]/gi, "-")}`;
  const row = el(doc, "div", { class: "cc-row", "data-row": field.field });
  const input = control(doc, field, id, value, onChange);
  const errorId = `${id}-error`;
  input.setAttribute("aria-describedby", errorId);
  if (field.mandatory) input.setAttribute("aria-required", "true");
  row.append(caption(doc, field, id), input);
  if (field.hint) row.append(el(doc, "div", { class: "cc-hint" }, field.hint));
  row.append(el(doc, "div", { class: "cc-error", id: errorId, role: "alert", "data-error-for": field.field }));
  return row;
}

/**
 * Shows `message` (or clears it) under the field `ref` inside `root`.
 * @param {ParentNode} root
 * @param {string} ref
 * @param {string | undefined} message
 */
export function showFieldError(root, ref, message) {
  for (const node of root.querySelectorAll("[data-error-for]")) {
    if (node.getAttribute("data-error-for") !== ref) continue;
    node.textContent = message || "";
    const row = node.closest(".cc-row");
    if (row) row.classList.toggle("cc-invalid", Boolean(message));
  }
}
