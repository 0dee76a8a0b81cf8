// Watches a profile page: extracts the person at start, again when the DOM settles after changes
// (LinkedIn loads Experience lazily and navigates between profiles without reloading), and reports
// only real changes.

import { extractPerson } from "./extract.js";

/**
 * @typedef {import("./extract.js").Person} Person
 * @typedef {{
 *   debounceMs?: number,
 *   setTimeout?: (callback: () => void, ms: number) => unknown,
 *   clearTimeout?: (handle: any) => void,
 * }} WatchOptions
 */

/**
 * Whether a URL is a profile's main page (`/in/<vanity>/`), not one of its sub-pages.
 * @param {string} href
 * @returns {boolean}
 */
export function isProfilePage(href) {
  try {
    return /^\/in\/[^/]+\/?$/.test(new URL(href).pathname);
  } catch {
    return false;
  }
}

/**
 * A stable key for what the card shows (not where each value came from).
 * @param {Person | null} person
 * @returns {string}
 */
export function personKey(person) {
  if (!person) return "null";
  const { sources: _sources, ...fields } = person;
  return JSON.stringify(fields);
}

/**
 * Call `onPerson` with the person now and after every settled change (null off profile pages).
 * @param {Document} doc
 * @param {() => string} currentUrl
 * @param {(person: Person | null) => void} onPerson
 * @param {WatchOptions} [options]
 * @returns {() => void} stops watching
 */
export function watchProfile(doc, currentUrl, onPerson, options = {}) {
  const debounceMs = options.debounceMs ?? 400;
  const setTimer = options.setTimeout ?? ((callback, ms) => setTimeout(callback, ms));
  const clearTimer = options.clearTimeout ?? ((handle) => clearTimeout(handle));
  let last = "";
  /** @type {unknown} */
  let timer = null;

  const check = () => {
    timer = null;
    const url = currentUrl();
    const person = isProfilePage(url) ? extractPerson(doc, url) : null;
    const key = personKey(person);
    if (key === last) return;
    last = key;
    onPerson(person);
  };
  const observer = new MutationObserver(() => {
    // Debounced: a burst of mutations (a page section rendering) costs one extraction.
    if (timer !== null) clearTimer(timer);
    timer = setTimer(check, debounceMs);
  });
  observer.observe(doc.documentElement, { childList: true, subtree: true, characterData: true });
  check();
  return () => {
    observer.disconnect();
    if (timer !== null) clearTimer(timer);
  };
}
