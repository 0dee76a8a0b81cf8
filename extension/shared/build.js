// Build flags. The shipped extension uses these values; the end-to-end tests' build
// (tests/e2e/extension_build.py) copies the extension and rewrites this file.

export const BUILD = Object.freeze({
  // The card's shadow root is closed, so the page's own scripts cannot read what CATS knows.
  // The test build opens it, because Playwright can only look into open shadow roots.
  openShadowRoot: false,
});
