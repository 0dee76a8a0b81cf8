// Cache: the company cache's sync state with a progress bar, "Sync now", its age, the last error, and
// how often it syncs.

import { get, post } from "../api.js";
import { alertError, formatDuration, formatWhen, h, toast, fill } from "../dom.js";
import { SettingsForm } from "../form.js";
import { value } from "../state.js";

const POLL_MS = 700;

export async function renderCache(container) {
  let timer = null;
  let alive = true;
  let sync = await get("/api/sync");

  const schedule = () => {
    clearTimeout(timer);
    if (alive && sync.running) timer = setTimeout(poll, POLL_MS);
  };
  const poll = async () => {
    try {
      sync = await get("/api/sync");
    } catch (error) {
      return;
    }
    if (!alive) return;
    const wasRunning = container.querySelector("[data-running='true']");
    draw();
    if (wasRunning && !sync.running) toast(sync.last_error ? "The sync failed" : "Sync finished");
    schedule();
  };

  const draw = () => {
    const form = new SettingsForm(draw);
    const total = sync.pages_total;
    const percent = sync.running && total ? Math.min(100, Math.round((100 * sync.pages_done) / total)) : null;
    const progress = h(
      "div",
      {
        class: "progress",
        id: "sync-progress",
        role: "progressbar",
        "aria-label": "Company sync progress",
        "aria-valuemin": "0",
        "aria-valuemax": "100",
        "aria-valuenow": percent === null ? null : String(percent),
        "aria-valuetext": sync.running
          ? total
            ? `page ${sync.pages_done} of ${total}`
            : `${sync.pages_done} pages`
          : "idle",
        dataset: { running: String(sync.running), indeterminate: String(sync.running && percent === null) },
      },
      h("div", { class: "progress-fill" }),
    );
    progress.firstChild.style.width = sync.running ? `${percent === null ? 100 : percent}%` : "0%";
    const now = h(
      "button",
      {
        type: "button",
        class: "btn btn-primary",
        id: "sync-now",
        disabled: sync.running || !sync.configured,
        onclick: async () => {
          now.disabled = true;
          let started = false;
          try {
            const answer = await post("/api/sync", {});
            started = answer.started;
            toast(started ? "Sync started" : answer.reason || "A sync is already running");
          } catch (error) {
            alertError(`The sync could not start: ${error.message}`);
          }
          sync = await get("/api/sync");
          draw();
          if (started && !sync.running) toast(sync.last_error ? "The sync failed" : "Sync finished");
          schedule();
        },
      },
      sync.running ? "Syncing…" : "Sync now",
    );
    const statusText = sync.running
      ? `${sync.phase === "full" ? "Full scan" : "Incremental sync"}: ${total ? `page ${sync.pages_done} of ${total}` : `${sync.pages_done} pages`}, ${sync.companies_done} companies stored`
      : sync.configured
        ? "Idle"
        : "Not syncing: connect to CATS first (Integrations)";
    fill(container, 
      h("h1", {}, "Cache"),
      h("p", { class: "lead" }, "CATS companies are kept on this computer so lookups are instant and work offline."),
      h(
        "section",
        { class: "card" },
        h("h2", {}, "Company sync"),
        h("p", { id: "sync-status", "aria-live": "polite" }, statusText),
        progress,
        h("div", { class: "row" }, now),
        h(
          "dl",
          { class: "facts" },
          h("dt", {}, "Companies in the cache"),
          h("dd", { id: "companies-in-cache" }, String(sync.companies_in_cache)),
          h("dt", {}, "Cache age"),
          h("dd", { id: "cache-age" }, sync.cache_age_seconds === null ? "never synced" : formatDuration(sync.cache_age_seconds)),
          h("dt", {}, "Last sync"),
          h("dd", {}, formatWhen(sync.last_success_at)),
          h("dt", {}, "Last full scan"),
          h("dd", {}, formatWhen(sync.last_full_success_at)),
          h("dt", {}, "Next sync"),
          h("dd", {}, sync.next_run_at ? formatWhen(sync.next_run_at) : "on request"),
          h("dt", {}, "Change tracking"),
          h("dd", {}, { search: "search by date", events: "CATS events", unknown: "not known yet" }[sync.incremental_mode] || sync.incremental_mode),
        ),
        sync.last_error
          ? h("p", { class: "form-error", id: "sync-error" }, `Last error (${sync.last_error.code}): ${sync.last_error.message}`)
          : null,
      ),
      h(
        "section",
        { class: "card" },
        h("h2", {}, "Schedule"),
        numberRow(form, "cache.incremental_interval_minutes", "Check CATS for changes every (minutes)", 1, 1440),
        numberRow(form, "cache.full_scan_interval_hours", "Full scan every (hours)", 1, 720),
      ),
      form.actions(),
    );
  };

  draw();
  schedule();
  return () => {
    alive = false;
    clearTimeout(timer);
  };
}

function numberRow(form, path, label, min, max) {
  let input;
  return form.row({
    path,
    label,
    inline: true,
    control: (id) => {
      input = h("input", { id, type: "number", class: "input input-short", min: String(min), max: String(max), step: "1", value: String(value(path)) });
      return input;
    },
    read: () => (input.value === "" ? null : Number(input.value)),
  });
}
