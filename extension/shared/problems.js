// What to tell the recruiter when the companion cannot answer: a title, the detail, and the fix.

/**
 * @typedef {{ code: string, message: string }} ErrorInfo
 * @typedef {{ title: string, detail: string, fix: string | null, retry: boolean, tone: "bad" | "warn" }} ProblemView
 */

/** Codes that mean the companion itself cannot be reached, with what the recruiter can do. */
const PROBLEMS = /** @type {Record<string, Omit<ProblemView, "detail">>} */ ({
  "host.not_installed": {
    title: "CATS Companion app not installed",
    fix: "Install the companion, then run: cats-companion install-host",
    retry: true, tone: "bad",
  },
  "host.forbidden": {
    title: "This extension is not allowed by the companion",
    fix: null, retry: true, tone: "bad",
  },
  "host.exited": {
    title: "The companion stopped",
    fix: "Run: cats-companion doctor",
    retry: true, tone: "bad",
  },
  "host.disconnected": { title: "Lost the connection to the companion", fix: null, retry: true, tone: "bad" },
  "daemon.unavailable": {
    title: "The companion is not running",
    fix: "Start it with: cats-companion serve",
    retry: true, tone: "bad",
  },
  "daemon.timeout": { title: "The companion is busy", fix: null, retry: true, tone: "warn" },
  "extension.timeout": { title: "The companion did not answer", fix: "Run: cats-companion doctor", retry: true, tone: "warn" },
  "extension.unavailable": { title: "The extension is restarting", fix: null, retry: true, tone: "warn" },
  "extension.reloaded": { title: "CATS Companion was updated", fix: "Reload this page.", retry: false, tone: "warn" },
  "store.error": { title: "The companion's cache is not available", fix: "Run: cats-companion doctor", retry: true, tone: "bad" },
});

/**
 * What to show when a lookup failed.
 * @param {ErrorInfo} error
 * @returns {ProblemView}
 */
export function problemView(error) {
  const known = PROBLEMS[error.code];
  if (known) {
    // The host's own message often names the command already: say it once.
    const command = known.fix?.split(": ").at(-1) ?? "";
    const fix = command && error.message.includes(command) ? null : known.fix;
    return { ...known, fix, detail: error.message };
  }
  return { title: "The lookup failed", detail: error.message, fix: null, retry: true, tone: "bad" };
}
