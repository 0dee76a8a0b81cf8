// Integrations: the CATS connection (activate a key, the badge with the precise reason, disconnect) and
// the field catalogue it feeds.

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
    fill(container, h("h1", {}, "Integrations"), connectionCard(draw, app), catalogueCard(draw));
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
