// Watches a LinkedIn page for the profile it shows: extracts the person when a profile page's DOM
// settles (LinkedIn loads Experience lazily and moves between pages without reloading), reports only
// real changes, and stays nearly free on every other page.

import { extractPerson } from "./extract.js";

/**
 * @typedef {import("./extract.js").Person} Person
 * @typedef {{ observe(target: Node, options: MutationObserverInit): void, disconnect(): void }} ObserverLike
 * @typedef {{
 *   debounceMs?: number,
 *   setTimeout?: (callback: () => void, ms: number) => unknown,
 *   clearTimeout?: (handle: any) => void,
 *   createObserver?: (callback: () => void) => ObserverLike,
 *   extract?: (doc: Document, url: string) => Person,
 *   settleFirst?: boolean,
 * }} WatchOptions
 * `createObserver` and `extract` default to MutationObserver and extractPerson (tests drive them).
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
 * Call `onPerson` with the person now (or, with `settleFirst`, once the DOM settles) and after every
 * settled change; null off profile pages.
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
  const createObserver = options.createObserver ?? ((callback) => new MutationObserver(callback));
  const extract = options.extract ?? extractPerson;
  let lastKey = "";
  let lastUrl = currentUrl();
  let onProfile = isProfilePage(lastUrl);
  /** @type {unknown} */
  let timer = null;

  const cancelTimer = () => {
    if (timer !== null) clearTimer(timer);
    timer = null;
  };
  const check = () => {
    timer = null;
    const url = currentUrl();
    const person = isProfilePage(url) ? extract(doc, url) : null;
    const key = personKey(person);
    if (key === lastKey) return;
    lastKey = key;
    onPerson(person);
  };
  // LinkedIn's feed and search pages mutate the DOM many times a second. Off a profile, a mutation
  // therefore costs one string comparison: the URL is parsed only when it changed, and no timer is
  // set. The observer also sees URL changes, since an in-app navigation always re-renders the page.
  const observer = createObserver(() => {
    const url = currentUrl();
    if (url !== lastUrl) {
      lastUrl = url;
      onProfile = isProfilePage(url);
      if (!onProfile) {
        // Leaving a profile: the card must not linger over the next page while it renders.
        cancelTimer();
        check();
        return;
      }
    }
    if (!onProfile) return;
    // Debounced: a burst of mutations (a page section rendering) costs one extraction.
    cancelTimer();
    timer = setTimer(check, debounceMs);
  });
  observer.observe(doc.documentElement, { childList: true, subtree: true, characterData: true });
  if (options.settleFirst && onProfile) {
    // The page became a profile in-app and is still rendering: an extraction now would read the
    // previous page (its title still names the feed, say).
    timer = setTimer(check, debounceMs);
  } else {
    check();
  }
  return () => {
    observer.disconnect();
    cancelTimer();
  };
}
