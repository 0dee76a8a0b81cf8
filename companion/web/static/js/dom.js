// Small DOM helpers: element building, announcements for screen readers and the toast.

let idCounter = 0;

export function uid(prefix) {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}

// h("button", {type: "button", onclick: fn, class: "btn"}, "Save")
export function h(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      node.addEventListener(key.slice(2), value);
    } else if (key === "class") {
      node.className = value;
    } else if (key === "dataset") {
      Object.assign(node.dataset, value);
    } else if (key in node && typeof value !== "string") {
      node[key] = value;
    } else {
      node.setAttribute(key, value === true ? "" : String(value));
    }
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(node, child);
    else node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

let toastTimer = null;

// A visible, polite confirmation ("Saved"); errors go through `alertError` instead.
export function toast(message, kind = "ok") {
  const box = document.getElementById("toast");
  box.textContent = message;
  box.dataset.kind = kind;
  box.classList.add("visible");
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => box.classList.remove("visible"), 4000);
}

export function alertError(message) {
  const region = document.getElementById("alert");
  region.textContent = "";
  // A fresh text node makes screen readers announce the same message twice in a row.
  requestAnimationFrame(() => {
    region.textContent = message;
  });
  toast(message, "error");
}

export function formatWhen(iso) {
  if (!iso) return "never";
  const when = new Date(iso);
  return when.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

export function formatDuration(seconds) {
  if (seconds === null || seconds === undefined) return "unknown";
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min`;
  const hours = Math.floor(m / 60);
  const rest = m % 60;
  if (hours < 48) return rest ? `${hours} h ${rest} min` : `${hours} h`;
  return `${Math.round(hours / 24)} days`;
}

// Replace `node`'s children; null, false and undefined are left out, arrays are spread.
export function fill(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}
