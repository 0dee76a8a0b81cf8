// Controls the sections share: selects, radio groups, checkbox lists, ordered lists and tabs.

import { h, uid } from "./dom.js";

export function select(id, options, current, attrs = {}) {
  const node = h(
    "select",
    { id, class: "input", ...attrs },
    options.map(([optionValue, label]) =>
      h("option", { value: optionValue, selected: optionValue === current ? true : null }, label),
    ),
  );
  return node;
}

export function radios(name, options, current) {
  return h(
    "div",
    { class: "radios" },
    options.map(([optionValue, label, hint]) => {
      const id = uid(name);
      return h(
        "div",
        { class: "radio" },
        h("input", { type: "radio", id, name, value: optionValue, checked: optionValue === current }),
        h("label", { for: id }, label, hint ? h("span", { class: "hint" }, hint) : null),
      );
    }),
  );
}

export function radioValue(root, name) {
  const checked = root.querySelector(`input[name="${name}"]:checked`);
  return checked ? checked.value : null;
}

export function toggle(id, checked, text) {
  return h(
    "span",
    { class: "switch" },
    h("input", { type: "checkbox", id, role: "switch", checked }),
    text ? h("span", { class: "switch-text" }, text) : null,
  );
}

// A list of checkboxes over `fields` ({ref, label, custom}); keeps the order of `selected` for those
// already chosen and appends new ones in the order shown.
export function fieldChecklist(fields, selected, name) {
  const list = h(
    "div",
    { class: "checklist", dataset: { name } },
    fields.map((field) => {
      const id = uid(name);
      return h(
        "div",
        { class: "check" },
        h("input", { type: "checkbox", id, value: field.ref, checked: selected.includes(field.ref) }),
        h("label", { for: id }, field.label, field.custom ? h("span", { class: "tag" }, "custom") : null),
      );
    }),
  );
  list.readValue = () => {
    const checked = [...list.querySelectorAll("input:checked")].map((input) => input.value);
    const kept = selected.filter((ref) => checked.includes(ref));
    return kept.concat(checked.filter((ref) => !kept.includes(ref)));
  };
  return list;
}

// An ordered list with add / move up / move down / remove; items are refs labelled by `labelOf`.
export function orderedList({ id, items, choices, labelOf, noun }) {
  let current = [...items];
  const list = h("ol", { class: "ordered", id });
  const picker = select(
    uid("add"),
    [],
    null,
    { "aria-label": `${noun} to add` },
  );
  const addButton = h("button", { type: "button", class: "btn" }, `Add ${noun}`);
  const wrapper = h("div", { class: "ordered-wrap" }, list, h("div", { class: "row" }, picker, addButton));

  function draw(focusIndex, focusWhat) {
    list.replaceChildren(
      ...current.map((ref, index) => {
        const label = labelOf(ref);
        const up = h("button", { type: "button", class: "icon-btn", "aria-label": `Move ${label} up`, disabled: index === 0 }, "↑");
        const down = h("button", { type: "button", class: "icon-btn", "aria-label": `Move ${label} down`, disabled: index === current.length - 1 }, "↓");
        const remove = h("button", { type: "button", class: "icon-btn", "aria-label": `Remove ${label}` }, "✕");
        up.addEventListener("click", () => move(index, -1, "up"));
        down.addEventListener("click", () => move(index, 1, "down"));
        remove.addEventListener("click", () => {
          current.splice(index, 1);
          draw(Math.min(index, current.length - 1), "remove");
          changed();
        });
        return h("li", { dataset: { ref } }, h("span", { class: "ordered-label" }, label), h("span", { class: "ordered-actions" }, up, down, remove));
      }),
    );
    const free = choices.filter((choice) => !current.includes(choice.ref));
    picker.replaceChildren(...free.map((choice) => h("option", { value: choice.ref }, choice.label)));
    picker.disabled = addButton.disabled = free.length === 0 || wrapper.dataset.locked === "true";
    if (focusIndex !== undefined && focusIndex >= 0) {
      const item = list.children[focusIndex];
      const button = item && item.querySelector(`[aria-label^="${focusWhat === "down" ? "Move" : focusWhat === "up" ? "Move" : "Remove"}"]`);
      if (button && !button.disabled) button.focus();
    }
  }

  function move(index, step, what) {
    const target = index + step;
    [current[index], current[target]] = [current[target], current[index]];
    draw(target, what);
    changed();
  }

  function changed() {
    wrapper.dispatchEvent(new Event("change", { bubbles: true }));
  }

  addButton.addEventListener("click", () => {
    if (!picker.value) return;
    current.push(picker.value);
    draw();
    changed();
    picker.focus();
  });
  draw();
  wrapper.readValue = () => [...current];
  return wrapper;
}

// Accessible tabs: arrow keys move between tabs; `onSelect(key)` draws the panel.
export function tabs(label, entries, selected, onSelect) {
  const list = h("div", { class: "tabs", role: "tablist", "aria-label": label });
  const buttons = entries.map(([key, text]) =>
    h(
      "button",
      {
        type: "button",
        role: "tab",
        id: `tab-${key}`,
        class: "tab",
        "aria-selected": String(key === selected),
        "aria-controls": "tabpanel",
        tabindex: key === selected ? "0" : "-1",
        dataset: { tab: key },
        onclick: () => onSelect(key, true),
      },
      text,
    ),
  );
  list.append(...buttons);
  list.addEventListener("keydown", (event) => {
    const index = buttons.indexOf(document.activeElement);
    if (index < 0) return;
    let next = null;
    if (event.key === "ArrowRight") next = (index + 1) % buttons.length;
    if (event.key === "ArrowLeft") next = (index - 1 + buttons.length) % buttons.length;
    if (next !== null) {
      event.preventDefault();
      onSelect(entries[next][0], true);
    }
  });
  return list;
}
