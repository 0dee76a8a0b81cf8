// The card's COMPANY section: the matched CATS company, warnings, the picker that confirms an alias.

import { h } from "./dom.js";
import { companyView, hitLine, lookupParams, problemView, sameLookup } from "./company-model.js";
import { CACHE_EVENT } from "../shared/messages.js";
import { connectionDot } from "../shared/status-model.js";

/**
 * @typedef {import("./extract.js").Person} Person
 * @typedef {import("./company-model.js").LookupResult} LookupResult
 * @typedef {import("./company-model.js").CompanyHit} CompanyHit
 * @typedef {import("./company-model.js").ErrorInfo} ErrorInfo
 * @typedef {import("../shared/status-model.js").TeamStatus} TeamStatus
 * @typedef {import("../shared/status-model.js").CatsStatus} CatsStatus
 * @typedef {import("../shared/client.js").CompanionClient} CompanionClient
 * @typedef {{ company_id: number, company_name: string, confirmed: boolean } | null} CompanyChoice
 * @typedef {{
 *   client: CompanionClient,
 *   announce: (text: string) => void,
 *   onCompany: (company: CompanyChoice) => void,
 *   onHealth: (tone: "ok" | "warn" | "bad" | "muted", text: string, state?: string) => void,
 *   footer: HTMLElement,
 * }} SectionOptions
 */

/** A lookup answers from the local cache: if it takes longer, something is wrong. */
const LOOKUP_TIMEOUT_MS = 10_000;
const SEARCH_DEBOUNCE_MS = 150;
const PICKER_LIMIT = 8;
/** While the dot is not green, the section looks again this often (local messages only, no CATS
 * request), besides following the daemon's `cache.state` event: it goes back to normal by itself. */
const RECHECK_MS = 30_000;

export class CompanySection {
  /**
   * @param {Document} doc
   * @param {HTMLElement} container
   * @param {SectionOptions} options
   */
  constructor(doc, container, options) {
    this.doc = doc;
    this.container = container;
    this.options = options;
    /** @type {Person | null} */
    this.person = null;
    /** @type {LookupResult | null} */
    this.result = null;
    /** @type {ErrorInfo | null} */
    this.error = null;
    this.loading = false;
    /** @type {string | null} */
    this.catsState = null;
    /** @type {CatsStatus | null} the `status` message's cats section, when known */
    this.cats = null;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.recheckTimer = undefined;
    /** @type {TeamStatus | null} the `status` message's team section, when known */
    this.team = null;
    this.pickerOpen = false;
    /** @type {CompanyHit[]} */
    this.hits = [];
    this.active = -1;
    this.query = "";
    this.busy = false;
    /** @type {ErrorInfo | null} */
    this.pickerError = null;
    /** Answers to older requests are dropped: only the latest lookup may render. */
    this.generation = 0;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.searchTimer = undefined;
    // A sync that failed or succeeded again changes what the card says: follow it without polling CATS.
    options.client.subscribe(CACHE_EVENT, () => this.recheck());
  }

  /** Look again quietly, unless the recruiter is busy with the picker (then a little later). */
  recheck() {
    clearTimeout(this.recheckTimer);
    if (this.loading || this.pickerOpen || this.busy) {
      this.recheckTimer = setTimeout(() => this.recheck(), RECHECK_MS);
      return;
    }
    void this.lookup({ quiet: true });
  }

  /** @param {Person} person */
  setPerson(person) {
    const changed = !this.person || !sameLookup(this.person, person);
    this.person = person;
    if (changed) void this.lookup();
  }

  /** @param {{ quiet?: boolean }} [options] quiet: a re-check, shown only once answered (no skeleton) */
  async lookup({ quiet = false } = {}) {
    const person = this.person;
    if (!person) return;
    const generation = ++this.generation;
    const params = lookupParams(person);
    clearTimeout(this.recheckTimer);
    this.pickerOpen = false;
    this.error = null;
    if (!params) {
      this.result = null;
      this.loading = false;
      this.render();
      this.options.onCompany(null);
      return;
    }
    if (!quiet) {
      this.loading = true;
      this.render();
    }
    try {
      const [result, status] = await Promise.all([
        this.options.client.send("company.lookup", params, { timeoutMs: LOOKUP_TIMEOUT_MS, retry: true }),
        // The CATS connection and the team change (offline, a key refused, another syncer): asked
        // again with each lookup; both answer from the daemon's memory, without asking CATS.
        this.status(),
      ]);
      if (generation !== this.generation) return;
      if (status) {
        this.cats = status.cats;
        this.catsState = status.cats?.state ?? null;
        this.team = status.team;
      }
      this.accept(/** @type {LookupResult} */ (result));
    } catch (error) {
      if (generation !== this.generation) return;
      this.result = null;
      this.error = toError(error);
      const problem = problemView(this.error);
      this.options.onHealth(problem.tone, problem.title, "error");
      this.options.onCompany(null);
    } finally {
      if (generation === this.generation) {
        this.loading = false;
        this.render();
      }
    }
  }

  /** @returns {Promise<{ cats: CatsStatus | null, team: TeamStatus | null } | null>} the CATS connection and team states, null when unknown */
  async status() {
    try {
      const data = await this.options.client.send("status", {}, { timeoutMs: LOOKUP_TIMEOUT_MS });
      return {
        cats: typeof data?.cats?.state === "string" ? data.cats : null,
        team: data?.team && typeof data.team === "object" ? data.team : null,
      };
    } catch {
      return null; // the lookup's own error says what is wrong
    }
  }

  /** @param {LookupResult} result */
  accept(result) {
    this.result = result;
    this.error = null;
    const match = result.match;
    this.options.onCompany(
      match ? { company_id: match.company_id, company_name: match.company_name, confirmed: result.confirmed } : null,
    );
    const dot = connectionDot(this.cats, result.cache);
    this.options.onHealth(dot.tone, dot.text, dot.state);
    clearTimeout(this.recheckTimer);
    if (dot.tone !== "ok") this.recheckTimer = setTimeout(() => this.recheck(), RECHECK_MS);
  }

  // --- the picker --------------------------------------------------------------------------------------

  openPicker() {
    this.pickerOpen = true;
    this.query = this.person?.company ?? "";
    this.hits = [];
    this.active = -1;
    this.pickerError = null;
    this.render();
    const input = /** @type {HTMLInputElement | null} */ (this.container.querySelector(".picker .input"));
    input?.focus();
    input?.select();
    if (this.query) this.search(this.query);
  }

  closePicker() {
    this.pickerOpen = false;
    this.render();
    /** @type {HTMLElement | null} */ (this.container.querySelector(".choose"))?.focus();
  }

  /** @param {string} text */
  search(text) {
    this.query = text;
    clearTimeout(this.searchTimer);
    if (!text.trim()) {
      this.hits = [];
      this.renderOptions();
      return;
    }
    this.searchTimer = setTimeout(async () => {
      try {
        const data = await this.options.client.send(
          "company.search",
          { q: text.trim().slice(0, 500), limit: PICKER_LIMIT },
          { timeoutMs: LOOKUP_TIMEOUT_MS },
        );
        if (this.query !== text) return;
        this.hits = Array.isArray(data?.companies) ? data.companies : [];
        this.pickerError = null;
      } catch (error) {
        this.hits = [];
        this.pickerError = toError(error);
      }
      this.active = this.hits.length ? 0 : -1;
      this.renderOptions();
    }, SEARCH_DEBOUNCE_MS);
  }

  /** @param {CompanyHit} hit */
  async choose(hit) {
    const params = this.person ? lookupParams(this.person) : null;
    if (!params || this.busy) return;
    this.busy = true;
    this.renderOptions();
    try {
      const result = await this.options.client.send(
        "company.confirm",
        { ...params, company_id: hit.id },
        { timeoutMs: LOOKUP_TIMEOUT_MS },
      );
      this.generation += 1;
      this.accept(/** @type {LookupResult} */ (result));
      this.pickerOpen = false;
      this.options.announce(`Confirmed: ${hit.name} is this profile's company in CATS.`);
    } catch (error) {
      this.pickerError = toError(error);
    } finally {
      this.busy = false;
      this.render();
    }
  }

  async unconfirm() {
    const params = this.person ? lookupParams(this.person) : null;
    if (!params) return;
    try {
      await this.options.client.send("company.unconfirm", params, { timeoutMs: LOOKUP_TIMEOUT_MS });
      this.options.announce("The confirmation was removed.");
    } catch (error) {
      this.error = toError(error);
    }
    await this.lookup();
  }

  // --- rendering ---------------------------------------------------------------------------------------

  render() {
    const doc = this.doc;
    const parts = [h(doc, "h2", { class: "section-title" }, "Company")];
    this.options.footer.replaceChildren();
    this.options.footer.className = "footer";
    this.options.footer.hidden = true;
    if (this.loading) {
      parts.push(
        h(doc, "div", { class: "loading", role: "status", "aria-label": "Looking up the company" },
          h(doc, "div", { class: "skeleton wide" }), h(doc, "div", { class: "skeleton narrow" })),
      );
    } else if (this.error) {
      parts.push(this.renderProblem(this.error));
    } else {
      parts.push(...this.renderView());
    }
    this.container.replaceChildren(...parts);
    this.container.dataset.state = this.loading ? "loading" : this.error ? "error" : this.state();
  }

  /** @returns {string} */
  state() {
    return this.person && lookupParams(this.person) ? companyView(this.result, this.catsState, this.team).state : "no-company";
  }

  /**
   * @param {ErrorInfo} error
   * @returns {HTMLElement}
   */
  renderProblem(error) {
    const doc = this.doc;
    const problem = problemView(error);
    return h(doc, "div", { class: `notice ${problem.tone}`, role: "alert", "data-code": error.code },
      h(doc, "strong", {}, problem.title),
      problem.detail,
      problem.fix ? h(doc, "code", { class: "fix" }, problem.fix) : null,
      problem.retry
        ? h(doc, "div", { class: "actions" },
            h(doc, "button", { class: "btn retry", type: "button", onclick: () => void this.lookup() }, "Try again"))
        : null,
    );
  }

  /** @returns {HTMLElement[]} */
  renderView() {
    const doc = this.doc;
    const hasQuery = this.person !== null && lookupParams(this.person) !== null;
    const view = companyView(hasQuery ? this.result : null, this.catsState, this.team);
    /** @type {HTMLElement[]} */
    const parts = [];
    parts.push(
      h(doc, "div", { class: "row" },
        h(doc, "p", { class: "company-name" }, view.heading),
        view.badge ? h(doc, "span", { class: `badge ${view.badge.tone}`, "data-badge": view.state }, view.badge.text) : null),
    );
    // The profile's own spelling, when it differs from the CATS company shown.
    if (this.person?.company && view.state !== "no-company" && view.heading !== this.person.company) {
      parts.push(h(doc, "p", { class: "reason" }, `On the profile: ${this.person.company}`));
    }
    if (view.reason) parts.push(h(doc, "p", { class: "reason" }, view.reason));
    if (view.fields.length) {
      parts.push(h(doc, "dl", { class: "fields" }, view.fields.flatMap((f) => [h(doc, "dt", {}, f.label), h(doc, "dd", {}, f.value)])));
    }
    if (view.warnings.length) {
      parts.push(
        h(doc, "div", { class: "notice warn warnings", role: "note" },
          h(doc, "strong", {}, view.warnings.length === 1 ? "Look twice" : `Look twice (${view.warnings.length})`),
          h(doc, "ul", {}, view.warnings.map((w) => h(doc, "li", { "data-kind": w.kind }, w.message)))),
      );
    }
    if (hasQuery) {
      parts.push(
        h(doc, "div", { class: "actions" },
          this.pickerOpen ? null : h(doc, "button", {
            class: "btn choose", type: "button", onclick: () => this.openPicker(),
          }, view.state === "no-match" ? "Choose the CATS company" : "Not this company?"),
          view.canUnconfirm && !this.pickerOpen
            ? h(doc, "button", { class: "btn-link unconfirm", type: "button", onclick: () => void this.unconfirm() }, "Undo confirmation")
            : null),
      );
    }
    if (this.pickerOpen) parts.push(this.renderPicker());
    if (view.team) parts.push(h(doc, "p", { class: `reason team-line ${view.team.tone}`, "data-tone": view.team.tone }, view.team.text));
    if (view.cache) {
      const footer = this.options.footer;
      footer.className = `footer ${view.cache.tone}`;
      footer.textContent = view.cache.text;
      footer.hidden = false;
    }
    return parts;
  }

  /** @returns {HTMLElement} */
  renderPicker() {
    const doc = this.doc;
    const input = h(doc, "input", {
      class: "input", type: "text", role: "combobox", "aria-expanded": "true", "aria-autocomplete": "list",
      "aria-controls": "cc-company-options", "aria-label": "Search the CATS companies", placeholder: "Type a company name…",
      autocomplete: "off", spellcheck: "false", value: this.query,
      oninput: (/** @type {Event} */ event) => this.search(/** @type {HTMLInputElement} */ (event.target).value),
      onkeydown: (/** @type {KeyboardEvent} */ event) => this.pickerKey(event),
    });
    return h(doc, "div", { class: "picker" },
      h(doc, "label", { class: "small muted", for: "cc-company-search" }, "Which CATS company is this?"),
      Object.assign(input, { id: "cc-company-search" }),
      h(doc, "ul", { class: "options", id: "cc-company-options", role: "listbox", "aria-label": "CATS companies" }),
      h(doc, "div", { class: "picker-status small muted", "aria-live": "polite" }),
      h(doc, "div", { class: "actions" },
        h(doc, "button", { class: "btn-link cancel", type: "button", onclick: () => this.closePicker() }, "Cancel")),
    );
  }

  renderOptions() {
    const list = this.container.querySelector(".options");
    const status = this.container.querySelector(".picker-status");
    const input = this.container.querySelector(".picker .input");
    if (!list || !status || !input) return;
    const doc = this.doc;
    list.replaceChildren(
      ...this.hits.map((hit, index) => {
        const line = hitLine(hit);
        return h(doc, "li", {
          class: "option", role: "option", id: `cc-option-${index}`, "data-company-id": hit.id,
          "aria-selected": index === this.active ? "true" : "false",
          onmousedown: (/** @type {Event} */ event) => event.preventDefault(),
          onclick: () => void this.choose(hit),
        }, line.name, line.detail ? h(doc, "span", { class: "detail" }, line.detail) : null);
      }),
    );
    input.setAttribute("aria-activedescendant", this.active >= 0 ? `cc-option-${this.active}` : "");
    status.textContent = this.pickerError
      ? this.pickerError.message
      : this.busy ? "Saving…"
      : this.query.trim() && this.hits.length === 0 ? "No CATS company starts with that." : "";
  }

  /** @param {KeyboardEvent} event */
  pickerKey(event) {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (!this.hits.length) return;
      const step = event.key === "ArrowDown" ? 1 : -1;
      this.active = (this.active + step + this.hits.length) % this.hits.length;
      this.renderOptions();
    } else if (event.key === "Enter") {
      event.preventDefault();
      const hit = this.hits[this.active];
      if (hit) void this.choose(hit);
    } else if (event.key === "Escape") {
      event.preventDefault();
      this.closePicker();
    }
  }
}

/**
 * @param {unknown} error
 * @returns {ErrorInfo}
 */
function toError(error) {
  const record = /** @type {{ code?: unknown, message?: unknown }} */ (error ?? {});
  return {
    code: typeof record.code === "string" ? record.code : "internal",
    message: typeof record.message === "string" ? record.message : String(error),
  };
}
