// Loads the saved profile pages (tests/fixtures/pages/) as Documents for the extraction tests.

import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseHTML } from "linkedom";

export const PAGES_DIR = fileURLToPath(new URL("../../../tests/fixtures/pages/", import.meta.url));

/**
 * @param {string} name a file in tests/fixtures/pages/
 * @returns {Document}
 */
export function loadPage(name) {
  return /** @type {Document} */ (/** @type {unknown} */ (parseHTML(readFileSync(PAGES_DIR + name, "utf8")).document));
}

/**
 * @param {string} html
 * @returns {Document}
 */
export function parsePage(html) {
  return /** @type {Document} */ (/** @type {unknown} */ (parseHTML(html).document));
}
