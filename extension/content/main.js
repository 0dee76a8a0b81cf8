// The content script's module entry (imported by loader.js): watch the profile, show the card.

import { createClient } from "../shared/client.js";
import { BUILD } from "../shared/build.js";
import { Card, HOST_ID } from "./card.js";
import { watchProfile } from "./watch.js";

let started = false;

/**
 * Start once per page (the module is shared by every injection into this page's content world).
 * @param {{ arrivedInApp?: boolean }} [how] arrivedInApp: the page became a profile without a page
 *   load (loader.js), so the first extraction waits for the DOM to settle
 */
export function start({ arrivedInApp = false } = {}) {
  if (started) return;
  started = true;
  // A card left by an earlier copy of the extension (reloaded or updated) can no longer talk to it.
  document.getElementById(HOST_ID)?.remove();
  const client = createClient(chrome);
  /** @type {Card | null} */
  let card = null;
  watchProfile(document, () => location.href, (person) => {
    if (!person && !card) return;
    card ??= new Card(document, {
      client,
      storage: chrome.storage?.local,
      openShadowRoot: BUILD.openShadowRoot,
    });
    card.setPerson(person);
  }, { settleFirst: arrivedInApp });
}
