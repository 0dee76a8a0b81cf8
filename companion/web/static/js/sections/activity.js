// Activity: what the companion did with CATS, newest first, failures with their reasons and Retry.

import { api, get } from "../api.js";
import { alertError, formatWhen, h, toast, fill } from "../dom.js";

const STATUS_TEXT = { ok: "Done", failed: "Failed", running: "Running" };
const SOURCE_TEXT = { company_sync: "the company cache sync" };

const POLL_MS = 700;

export async function renderActivity(container) {
  let alive = true;
  let timer = null;
  const draw = async () => {
    clearTimeout(timer);
    const activity = await get("/api/activity");
    if (!alive) return;
    if (activity.entries.some((entry) => entry.status === "running")) {
      // Follow a run in progress until it ends.
      timer = setTimeout(draw, POLL_MS);
    }
    const items = activity.entries.map((entry) => {
      const retry = entry.retry
        ? h(
            "button",
            {
              type: "button",
              class: "btn",
              onclick: async () => {
                try {
                  await api(entry.retry.method, entry.retry.path, {});
                  toast("Retrying");
                } catch (error) {
                  alertError(`Could not retry: ${error.message}`);
                }
                await draw();
              },
            },
            entry.retry.label,
          )
        : null;
      return h(
        "li",
        { class: `activity activity-${entry.status}`, dataset: { kind: entry.kind, status: entry.status } },
        h("span", { class: `dot dot-${entry.status}`, "aria-hidden": "true" }),
        h(
          "div",
          { class: "activity-body" },
          h("div", { class: "activity-head" }, h("strong", {}, entry.title), h("span", { class: "sr-only" }, `(${STATUS_TEXT[entry.status]})`), h("time", { datetime: entry.at || "" }, formatWhen(entry.at))),
          h("p", {}, entry.detail),
          entry.code ? h("p", { class: "muted" }, "Reason code: ", h("code", {}, entry.code)) : null,
        ),
        retry,
      );
    });
    fill(container, 
      h("h1", {}, "Activity"),
      h(
        "p",
        { class: "lead" },
        `What the companion did with CATS, newest first. Showing ${activity.sources.map((s) => SOURCE_TEXT[s] || s).join(", ")}; pushes of people will appear here too.`,
      ),
      h(
        "section",
        { class: "card" },
        items.length ? h("ul", { class: "activity-list", id: "activity-list" }, items) : h("p", { class: "muted" }, "Nothing has happened yet."),
        h("div", { class: "row" }, h("button", { type: "button", class: "btn", onclick: () => draw() }, "Refresh")),
      ),
    );
  };
  await draw();
  return () => {
    alive = false;
    clearTimeout(timer);
  };
}
