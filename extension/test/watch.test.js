// The page watcher across LinkedIn's in-app navigation: nearly free off profiles, one settled
// extraction on a profile, the card cleared on leaving. Real extraction on the saved pages; the
// observer and the clock are fakes the test drives.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { extractPerson } from "../content/extract.js";
import { watchProfile } from "../content/watch.js";
import { FakeClock } from "./helpers/fakes.js";
import { loadPage } from "./helpers/pages.js";

const FEED = "https://www.linkedin.com/feed/";
const SEARCH = "https://www.linkedin.com/search/results/people/?keywords=talent";
const AISHA = "https://www.linkedin.com/in/aisha-rahman-talent/";
const LENA = "https://www.linkedin.com/in/lena-fischer-3a1b2c/";
const DEBOUNCE_MS = 400;

/** A MutationObserver stand-in: the test says when a batch of mutations is delivered. */
class FakeObserver {
  /** @param {() => void} callback */
  constructor(callback) {
    this.callback = callback;
    this.observing = false;
  }

  observe() {
    this.observing = true;
  }

  disconnect() {
    this.observing = false;
  }

  /** Deliver one batch of mutation records, as the browser does after a DOM change. */
  mutate() {
    if (this.observing) this.callback();
  }
}

/**
 * A LinkedIn tab: one document whose URL and content change in-app, watched as content/main.js does.
 * @param {string} url
 * @param {string} page a file in tests/fixtures/pages/
 * @param {{ settleFirst?: boolean }} [options]
 */
function tab(url, page, options = {}) {
  const doc = loadPage(page);
  const clock = new FakeClock();
  /** @type {(import("../content/extract.js").Person | null)[]} */
  const reported = [];
  const state = { url, extractions: 0, observer: /** @type {FakeObserver | null} */ (null) };
  const stop = watchProfile(doc, () => state.url, (person) => reported.push(person), {
    debounceMs: DEBOUNCE_MS,
    setTimeout: (callback, ms) => clock.setTimeout(callback, ms),
    clearTimeout: (handle) => clock.clearTimeout(handle),
    createObserver: (callback) => (state.observer = new FakeObserver(callback)),
    extract: (document, href) => {
      state.extractions += 1;
      return extractPerson(document, href);
    },
    ...options,
  });
  const observer = /** @type {FakeObserver} */ (state.observer);
  return {
    doc, clock, reported, stop, observer, state,
    /**
     * An in-app navigation: pushState, then the app swaps the title and the body (one mutation batch).
     * @param {string} to
     * @param {string} toPage
     */
    navigate(to, toPage) {
      state.url = to;
      const next = loadPage(toPage);
      doc.title = next.title;
      doc.body.replaceWith(next.body);
      observer.mutate();
    },
  };
}

describe("watching a LinkedIn tab", () => {
  it("does no extraction and sets no timer off profile pages, however many mutations arrive", () => {
    const t = tab(FEED, "feed.html");
    for (let i = 0; i < 5_000; i += 1) t.observer.mutate();
    t.state.url = SEARCH; // an in-app move between two non-profile pages
    for (let i = 0; i < 5_000; i += 1) t.observer.mutate();
    assert.equal(t.clock.timers.size, 0);
    t.clock.advance(10 * DEBOUNCE_MS);
    assert.equal(t.state.extractions, 0);
    assert.deepEqual(t.reported, [null]); // the start, once
  });

  it("extracts once, after the DOM settles, when the URL turns into a profile", () => {
    const t = tab(FEED, "feed.html");
    t.navigate(AISHA, "loggedin-2024.html");
    // Experience and the sidebar keep rendering: one pending timer, no extraction yet.
    for (let i = 0; i < 20; i += 1) {
      t.clock.advance(DEBOUNCE_MS / 4);
      t.observer.mutate();
    }
    assert.equal(t.state.extractions, 0);
    assert.equal(t.clock.timers.size, 1);
    t.clock.advance(DEBOUNCE_MS);
    assert.equal(t.state.extractions, 1);
    assert.equal(t.reported.length, 2);
    const person = t.reported[1];
    assert.equal(person?.name, "Aisha Rahman");
    assert.equal(person?.company, "Maven AGI");
    assert.equal(person?.profileUrl, AISHA);
  });

  it("clears the card at once when the tab leaves the profile, and forgets the pending extraction", () => {
    const t = tab(AISHA, "loggedin-2024.html");
    assert.equal(t.reported[0]?.name, "Aisha Rahman"); // a profile loaded by the browser: read at once
    t.observer.mutate(); // lazy Experience: an extraction is pending...
    assert.equal(t.clock.timers.size, 1);
    t.navigate(FEED, "feed.html"); // ...when the recruiter goes back to the feed
    assert.deepEqual(t.reported.slice(1), [null]);
    assert.equal(t.clock.timers.size, 0);
    const extractions = t.state.extractions;
    for (let i = 0; i < 1_000; i += 1) t.observer.mutate();
    t.clock.advance(10 * DEBOUNCE_MS);
    assert.equal(t.state.extractions, extractions);
    assert.equal(t.reported.length, 2);
  });

  it("shows the next profile reached from the feed after leaving the first", () => {
    const t = tab(AISHA, "loggedin-2024.html");
    t.navigate(FEED, "feed.html");
    t.navigate(LENA, "public-2024.html");
    t.clock.advance(DEBOUNCE_MS);
    assert.deepEqual(t.reported.map((person) => person?.name ?? null), ["Aisha Rahman", null, "Lena Fischer"]);
  });

  it("moving from one profile to another re-extracts once the new one settles", () => {
    const t = tab(AISHA, "loggedin-2024.html");
    t.navigate(LENA, "public-2024.html");
    assert.equal(t.reported.length, 1); // still rendering: no half-read person
    t.clock.advance(DEBOUNCE_MS);
    assert.equal(t.reported[1]?.name, "Lena Fischer");
  });

  it("with settleFirst, does not read a profile URL whose page is still the feed", () => {
    // loader.js imports the modules as the URL changes, before the app renders the profile: read
    // now, the feed's title would pass for the person's name.
    const t = tab(AISHA, "feed.html", { settleFirst: true });
    assert.equal(t.state.extractions, 0);
    assert.equal(t.reported.length, 0);
    const next = loadPage("loggedin-2024.html");
    t.doc.title = next.title;
    t.doc.body.replaceWith(next.body);
    t.observer.mutate();
    t.clock.advance(DEBOUNCE_MS);
    assert.equal(t.state.extractions, 1);
    assert.deepEqual(t.reported.map((person) => person?.name), ["Aisha Rahman"]);
  });

  it("stops observing and drops its pending extraction when stopped", () => {
    const t = tab(AISHA, "loggedin-2024.html");
    t.observer.mutate();
    t.stop();
    assert.equal(t.observer.observing, false);
    assert.equal(t.clock.timers.size, 0);
  });
});
