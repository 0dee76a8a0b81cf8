// The content script Chrome injects into every LinkedIn page (a classic script). It loads the module
// code (classic content scripts cannot `import` statically; the modules are web_accessible_resources)
// once the page first shows a profile.
//
// Why wait, measured rather than guessed: LinkedIn is a single-page app, so this script lands on the
// feed, search, jobs and messaging pages too, and profiles are mostly reached from them without a
// page load. Importing main.js (15 modules, 80 KB) took 60-125 ms per page in headless Chromium here,
// which every LinkedIn page load would pay for nothing. Waiting costs nothing per DOM mutation: the
// Navigation API reports in-app URL changes (pushState, replaceState, back/forward) to this isolated
// world too. "/in/" is only a cheap first filter; content/watch.js decides what a profile page is.
(() => {
  const nav = globalThis.navigation;
  let loaded = false;
  /** @param {boolean} arrivedInApp the page became a profile without a load, so it may still be rendering */
  const load = async (arrivedInApp) => {
    loaded = true;
    nav?.removeEventListener("currententrychange", onNavigate);
    try {
      const main = await import(chrome.runtime.getURL("content/main.js"));
      main.start({ arrivedInApp });
    } catch (error) {
      console.error("CATS Companion could not start on this page", error);
    }
  };
  const maybeProfile = () => location.pathname.startsWith("/in/");
  const onNavigate = () => {
    if (!loaded && maybeProfile()) void load(true);
  };
  // The Navigation API is in every Chrome the manifest accepts; without it, load at once.
  if (!nav || maybeProfile()) void load(false);
  else nav.addEventListener("currententrychange", onNavigate);
})();
