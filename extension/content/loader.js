// The content script Chrome injects (a classic script): it loads the module code, which classic
// content scripts cannot `import` statically. The modules are web_accessible_resources.
(async () => {
  try {
    const main = await import(chrome.runtime.getURL("content/main.js"));
    main.start();
  } catch (error) {
    console.error("CATS Companion could not start on this page", error);
  }
})();
