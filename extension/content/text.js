// Pure text helpers for reading LinkedIn pages: whitespace, entities, the visible copy of duplicated text.

/**
 * Collapse runs of whitespace (including non-breaking spaces) and trim; NFC so that a name typed with
 * combining accents compares equal to the precomposed one.
 * @param {string | null | undefined} value
 * @returns {string}
 */
export function clean(value) {
  if (!value) return "";
  return value.replace(/[\s\u00a0\u200b]+/g, " ").trim().normalize("NFC");
}

/**
 * `clean(value)`, or null when nothing is left.
 * @param {string | null | undefined} value
 * @returns {string | null}
 */
export function cleanOrNull(value) {
  const text = clean(value);
  return text === "" ? null : text;
}

const ENTITIES = /** @type {Record<string, string>} */ ({
  amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", "#39": "'", nbsp: " ",
});

/**
 * Decode the HTML entities left in an attribute that was escaped twice (`&amp;amp;` in og:title).
 * The DOM already decoded one level; at most two more are undone, so text cannot be decoded forever.
 * @param {string} value
 * @returns {string}
 */
export function decodeLeftoverEntities(value) {
  let text = value;
  for (let round = 0; round < 2 && /&(#?\w+);/.test(text); round += 1) {
    text = text.replace(/&(#x[0-9a-f]+|#\d+|\w+);/gi, (whole, name) => {
      const lower = String(name).toLowerCase();
      if (lower.startsWith("#x")) return String.fromCodePoint(parseInt(lower.slice(2), 16));
      if (lower.startsWith("#") && lower !== "#39") return String.fromCodePoint(parseInt(lower.slice(1), 10));
      return ENTITIES[lower] ?? whole;
    });
  }
  return text;
}

/**
 * The text a reader sees in an element. LinkedIn renders most labels twice, once for the eye
 * (`<span aria-hidden="true">`) and once for screen readers (`.visually-hidden`), so plain
 * textContent would read "Senior EngineerSenior Engineer": take the visible copies when there are any.
 * @param {Element | null | undefined} element
 * @returns {string}
 */
export function visibleText(element) {
  if (!element) return "";
  if (element.getAttribute("aria-hidden") === "true") return textWithBreaks(element);
  // Icons are aria-hidden too, but empty: only copies with text count.
  const shown = Array.from(element.querySelectorAll('[aria-hidden="true"]')).filter((node) => clean(node.textContent));
  const outer = shown.filter((node) => !shown.some((other) => other !== node && other.contains(node)));
  if (outer.length > 0) return clean(outer.map((node) => textWithBreaks(node)).join(" "));
  const copy = /** @type {Element} */ (element.cloneNode(true));
  for (const hidden of Array.from(copy.querySelectorAll(".visually-hidden, .a11y-text, script, style"))) {
    hidden.remove();
  }
  return textWithBreaks(copy);
}

/**
 * An element's cleaned text with each `<br>` read as a space: textContent drops line breaks, so
 * "Led the team<br>Hired 12" would read "Led the teamHired 12".
 * @param {Element} element
 * @returns {string}
 */
function textWithBreaks(element) {
  if (!element.querySelector("br")) return clean(element.textContent);
  const copy = /** @type {Element} */ (element.cloneNode(true));
  const doc = copy.ownerDocument;
  for (const br of Array.from(copy.querySelectorAll("br"))) br.replaceWith(doc.createTextNode(" "));
  return clean(copy.textContent);
}
