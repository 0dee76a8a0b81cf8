// Integrations: the CATS connection (activate a key, the badge with the precise reason, disconnect) and
// the field catalogue it feeds, and "Check this CATS account" (the account probe).

import { del, post } from "../api.js";
import { alertError, formatWhen, h, toast, uid, fill } from "../dom.js";
import { reloadCatalogue, reloadStatus, reloadView, state } from "../state.js";

const STATE_TEXT = {
  connected: "Connected",
  not_configured: "Not connected",
  keyring_locked: "Keyring locked",
  bad_key: "Key refused",
  unreachable: "CATS unreachable",
  unknown: "Not checked yet",
};

// The last refused activation, kept across redraws until a key works or the section is left.
let refusal = null;

export async function renderIntegrations(container, app) {
  await reloadStatus();
  refusal = null;
  const draw = () => {
    fill(
      container,
      h("h1", {}, "Integrations"),
      connectionCard(draw, app),
      catalogueCard(draw),
      state.status.cats.state === "not_configured" ? null : probeCard(draw),
    );
    app.updateHeader();
  };
  draw();
}

function connectionCard(draw, app) {
  const cats = state.status.cats;
  const ok = cats.state === "connected";
  const keyId = uid("key");
  const helpId = uid("keyhelp");
  const errorId = uid("keyerr");
  const input = h("input", {
    id: keyId,
    name: "api_key",
    type: "password",
    autocomplete: "off",
    spellcheck: "false",
    class: "input input-wide",
    "aria-describedby": `${helpId} ${errorId}`,
  });
  const error = h("p", { class: "field-error", id: errorId, hidden: !refusal }, refusal || "");
  const activate = h("button", { type: "submit", class: "btn btn-primary" }, ok ? "Replace key" : "Activate");
  const form = h(
    "form",
    {
      class: "stack",
      onsubmit: async (event) => {
        event.preventDefault();
        error.hidden = true;
        if (!input.value.trim()) {
          error.textContent = "Paste the API key from CATS first.";
          error.hidden = false;
          input.focus();
          return;
        }
        activate.disabled = true;
        activate.textContent = "Checking the key…";
        try {
          await post("/api/connection", { api_key: input.value });
          refusal = null;
          toast("Connected to CATS");
        } catch (failure) {
          refusal = `CATS did not accept the key: ${failure.message} (${failure.code})`;
          alertError(refusal);
        }
        input.value = "";
        await reloadStatus();
        await reloadView();
        draw();
        app.updateHeader();
      },
    },
    h("label", { for: keyId, class: "setting-label" }, "API key"),
    h(
      "p",
      { class: "help", id: helpId },
      "Find it in CATS under ",
      h("strong", {}, "Administration → Site Management → API Keys"),
      ". The key is checked with one request, then kept in your system's key store, never in a file.",
    ),
    h("div", { class: "row" }, input, activate),
    error,
  );
  const disconnect = h(
    "button",
    {
      type: "button",
      class: "btn btn-danger",
      onclick: async () => {
        try {
          await del("/api/connection");
          toast("Disconnected: the key was removed");
        } catch (failure) {
          alertError(`Could not disconnect: ${failure.message}`);
        }
        await reloadStatus();
        draw();
      },
    },
    "Disconnect",
  );
  const stateClass = ok ? "ok" : cats.state === "unknown" ? "unknown" : "bad";
  return h(
    "section",
    { class: "card", "aria-labelledby": "conn-title" },
    h("h2", { id: "conn-title" }, "CATS connection"),
    h(
      "div",
      { class: "connection", dataset: { state: cats.state } },
      h("span", { class: `badge badge-${stateClass}`, id: "connection-state" }, STATE_TEXT[cats.state] || cats.state),
      h("span", { class: "connection-detail", id: "connection-detail" }, cats.detail),
    ),
    h("p", { class: "muted" }, "CATS API: ", h("code", {}, cats.base_url)),
    form,
    cats.state === "not_configured" ? null : h("div", { class: "row" }, disconnect),
  );
}

function catalogueCard(draw) {
  const catalogue = state.catalogue;
  const counts = state.view.catalogue.custom_fields;
  const refresh = h(
    "button",
    {
      type: "button",
      class: "btn",
      onclick: async () => {
        refresh.disabled = true;
        refresh.textContent = "Asking CATS…";
        try {
          await post("/api/catalogue/refresh");
          await reloadCatalogue();
          await reloadView();
          toast("Field catalogue refreshed");
        } catch (failure) {
          alertError(`Could not refresh the field catalogue: ${failure.message}`);
        }
        draw();
      },
    },
    "Refresh from CATS",
  );
  return h(
    "section",
    { class: "card", "aria-labelledby": "cat-title" },
    h("h2", { id: "cat-title" }, "Field catalogue"),
    h(
      "p",
      { class: "help" },
      "The standard and custom fields of your CATS account, and its users. The sync and mapping settings offer these fields. Refreshing costs four CATS requests.",
    ),
    h(
      "dl",
      { class: "facts" },
      h("dt", {}, "Last fetched"),
      h("dd", {}, catalogue.fetched_at ? formatWhen(catalogue.fetched_at) : "never"),
      h("dt", {}, "Custom fields"),
      h("dd", {}, `${counts.candidates} candidate, ${counts.contacts} contact, ${counts.companies} company`),
      h("dt", {}, "Users"),
      h("dd", {}, String(state.view.catalogue.users)),
    ),
    catalogue.stale && catalogue.fetched_at ? h("p", { class: "warning" }, "The catalogue is old: refresh it.") : null,
    h("div", { class: "row" }, refresh),
  );
}

// The last probe's answers, kept across redraws while the section stays open.
let lastProbe = null;

function probeCard(draw) {
  const writesId = uid("writes");
  const writes = h("input", { type: "checkbox", id: writesId, name: "write_probes" });
  const check = h(
    "button",
    {
      type: "button",
      class: "btn",
      id: "probe-account",
      onclick: async () => {
        const withWrites = writes.checked;
        if (
          withWrites &&
          !window.confirm(
            "This creates one company named \u201cCATS Companion probe - delete me\u201d in CATS, changes it and deletes it (at most 10 more requests). Go ahead?",
          )
        ) {
          return;
        }
        check.disabled = true;
        check.textContent = "Asking CATS…";
        try {
          lastProbe = await post("/api/cats/probe", { write_probes: withWrites });
          toast(`CATS account checked in ${lastProbe.requests} requests`);
          if (lastProbe.writes_left_behind > 0) {
            alertError(`${lastProbe.writes_left_behind} probe record(s) could not be deleted: see the table.`);
          }
        } catch (failure) {
          alertError(`Could not check the CATS account: ${failure.message}`);
        }
        draw();
      },
    },
    "Check this CATS account",
  );
  const table = lastProbe
    ? h(
        "table",
        { class: "table", id: "probe-answers" },
        h("thead", {}, h("tr", {}, ...["Question", "Answer", "Evidence", "What the companion does"].map((t) => h("th", {}, t)))),
        h(
          "tbody",
          {},
          ...lastProbe.rows.map((row) =>
            h("tr", {}, h("td", {}, row.question), h("td", {}, row.answer), h("td", {}, row.evidence), h("td", {}, row.action)),
          ),
        ),
      )
    : null;
  return h(
    "section",
    { class: "card", "aria-labelledby": "probe-title" },
    h("h2", { id: "probe-title" }, "This CATS account"),
    h(
      "p",
      { class: "help" },
      "Finds out what this account does where CATS's documentation is unsure (page size, rate limit, date search, ids), in at most 12 read-only requests, and adapts the companion to it.",
    ),
    h("div", { class: "row" }, writes, h("label", { for: writesId }, "Also test writes on one probe company, deleted afterwards (duplicate status, PUT)")),
    h("div", { class: "row" }, check),
    lastProbe ? h("p", { class: "muted" }, `${lastProbe.requests} CATS requests; probe records left behind: ${lastProbe.writes_left_behind}`) : null,
    table,
  );
}
