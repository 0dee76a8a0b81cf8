// The card on a profile page: a fixed, collapsible box in a shadow root, holding the company section and the person panel.
//
// The card never touches the page's own elements: one host element on <html>, everything else
// inside its shadow root, styled by a constructed stylesheet (which the page's CSS and CSP do not
// affect). The person panel comes from ./person-panel.js, which exports
//
//   renderPersonPanel(container, {person, send, subscribe, company}) -> void | (() => void)
//
//   person     the extracted person (content/extract.js Person)
//   send       (type, params, options?) -> Promise<data>; rejects with {code, message}
//   subscribe  (eventName, callback) -> unsubscribe; daemon events (push.state...) and the card's
//              own "card.company" event, whose data is {company_id, company_name, confirmed} or null
//   company    the CATS company matched for this profile when the panel is rendered (or null)
//
// It is called again, with a fresh container, when the person on the page changes; the function
// it returned (if any) is called first to clean up. Without the module the card shows no panel.

import { CARD_CSS } from "./card-css.js";
import { CompanySection } from "./company-section.js";
import { h } from "./dom.js";

/**
 * @typedef {import("./extract.js").Person} Person
 * @typedef {import("../shared/client.js").CompanionClient} CompanionClient
 * @typedef {import("./company-section.js").CompanyChoice} CompanyChoice
 * @typedef {{
 *   get(key: string): Promise<Record<string, unknown>>,
 *   set(items: Record<string, unknown>): Promise<void>,
 * }} StorageLike
 * @typedef {(container: HTMLElement, context: {
 *   person: Person,
 *   send: CompanionClient["send"],
 *   subscribe: CompanionClient["subscribe"],
 *   company: CompanyChoice,
 * }) => void | (() => void)} RenderPersonPanel
 * @typedef {{
 *   client: CompanionClient,
 *   storage?: StorageLike,
 *   openShadowRoot?: boolean,
 *   loadPanel?: () => Promise<RenderPersonPanel | null>,
 * }} CardOptions
 */

export const HOST_ID = "cats-companion-card";
const COLLAPSED_KEY = "card.collapsed";
const COMPANY_EVENT = "card.company";

/** @returns {Promise<RenderPersonPanel | null>} */
async function importPanel() {
  try {
    // Built at run time so that the type checker does not require the module to exist.
    const module = await import(new URL("./person-panel.js", import.meta.url).href);
    return typeof module.renderPersonPanel === "function" ? module.renderPersonPanel : null;
  } catch (error) {
    console.info("CATS Companion: no person panel in this build", error);
    return null;
  }
}

export class Card {
  /**
   * @param {Document} doc
   * @param {CardOptions} options
   */
  constructor(doc, options) {
    this.doc = doc;
    this.options = options;
    /** @type {Person | null} */
    this.person = null;
    /** @type {CompanyChoice} */
    this.company = null;
    /** @type {Set<(data: CompanyChoice, name: string) => void>} */
    this.companyListeners = new Set();
    /** @type {(() => void) | null} */
    this.panelCleanup = null;
    /** @type {Promise<RenderPersonPanel | null> | null} */
    this.panel = null;
    this.panelKey = "";

    this.host = h(doc, "div", { id: HOST_ID });
    // Only the host's position is set from outside; `all: initial` in the shadow keeps page CSS out.
    this.host.style.cssText = "position:fixed;top:72px;right:16px;z-index:2147483000;";
    const shadow = this.host.attachShadow({ mode: options.openShadowRoot ? "open" : "closed" });
    adoptStyles(doc, shadow, CARD_CSS);

    this.dot = h(doc, "span", { class: "dot", "data-tone": "muted", role: "img", "aria-label": "Checking…" });
    this.toggle = h(doc, "button", {
      class: "icon-btn toggle", type: "button", "aria-expanded": "true", "aria-controls": "cc-body",
      title: "Collapse", onclick: () => this.setCollapsed(this.card.dataset.collapsed !== "true", true),
    }, "▾");
    this.personLine = h(doc, "p", { class: "person-line" });
    this.companyBox = h(doc, "section", { class: "section company", "aria-label": "Company", "data-state": "loading" });
    this.panelBox = h(doc, "section", { class: "section person", "aria-label": "Person", hidden: true });
    this.footer = h(doc, "div", { class: "footer", hidden: true, "aria-live": "polite" });
    this.live = h(doc, "div", { class: "sr-only", "aria-live": "polite" });
    this.card = h(doc, "div", { class: "card", role: "complementary", "aria-label": "CATS Companion", "data-collapsed": "false" },
      h(doc, "div", { class: "header" },
        h(doc, "span", { class: "logo", "aria-hidden": "true" }, "C"),
        h(doc, "span", { class: "title" }, "CATS Companion"),
        this.dot,
        this.toggle),
      h(doc, "div", { class: "body", id: "cc-body" },
        h(doc, "div", { class: "section" }, this.personLine),
        this.companyBox,
        this.panelBox),
      this.footer,
      this.live);
    shadow.append(this.card);
    this.shadow = shadow;

    this.section = new CompanySection(doc, this.companyBox, {
      client: options.client,
      announce: (text) => this.announce(text),
      onCompany: (company) => this.companyChanged(company),
      onHealth: (tone, text, state) => {
        this.dot.dataset.tone = tone;
        this.dot.dataset.state = state ?? tone;
        this.dot.setAttribute("aria-label", text);
        this.dot.title = text;
      },
      footer: this.footer,
    });
    doc.documentElement.append(this.host);
    void this.restoreCollapsed();
  }

  /**
   * Show a person (or hide the card when the page shows nobody).
   * @param {Person | null} person
   */
  setPerson(person) {
    this.host.hidden = person === null;
    if (!person) return;
    this.person = person;
    this.personLine.replaceChildren(
      h(this.doc, "strong", {}, person.name ?? "Unknown name"),
      person.title || person.company
        ? ` · ${[person.title, person.company].filter(Boolean).join(" at ")}`
        : "",
      // Every job on the profile has ended: say so, so the empty company reads as a fact to act
      // on (the company section lets the recruiter pick one) rather than as a reading failure.
      person.betweenJobs ? " · no current job on the profile" : "",
    );
    this.section.setPerson(person);
    this.renderPanel(person);
  }

  /** @param {Person} person */
  renderPanel(person) {
    const key = JSON.stringify([person.name, person.headline, person.title, person.company, person.companyUrl,
      person.location, person.profileUrl]);
    if (key === this.panelKey) return;
    this.panelKey = key;
    this.panel ??= (this.options.loadPanel ?? importPanel)();
    void this.panel.then((render) => {
      if (!render || this.panelKey !== key || this.person !== person) return;
      this.panelCleanup?.();
      this.panelCleanup = null;
      const container = h(this.doc, "div", { class: "panel" });
      this.panelBox.replaceChildren(container);
      this.panelBox.hidden = false;
      const client = this.options.client;
      try {
        const cleanup = render(container, {
          person,
          send: client.send,
          subscribe: (name, callback) => (name === COMPANY_EVENT ? this.onCompany(callback) : client.subscribe(name, callback)),
          company: this.company,
        });
        this.panelCleanup = typeof cleanup === "function" ? cleanup : null;
      } catch (error) {
        console.error("CATS Companion: the person panel failed", error);
        this.panelBox.hidden = true;
      }
    });
  }

  /**
   * @param {(data: CompanyChoice, name: string) => void} callback
   * @returns {() => void}
   */
  onCompany(callback) {
    this.companyListeners.add(callback);
    return () => this.companyListeners.delete(callback);
  }

  /** @param {CompanyChoice} company */
  companyChanged(company) {
    this.company = company;
    for (const callback of Array.from(this.companyListeners)) callback(company, COMPANY_EVENT);
  }

  /** @param {string} text */
  announce(text) {
    this.live.textContent = text;
  }

  /**
   * @param {boolean} collapsed
   * @param {boolean} [remember]
   */
  setCollapsed(collapsed, remember = false) {
    this.card.dataset.collapsed = String(collapsed);
    this.toggle.setAttribute("aria-expanded", String(!collapsed));
    this.toggle.textContent = collapsed ? "▸" : "▾";
    this.toggle.title = collapsed ? "Expand" : "Collapse";
    if (remember) void this.options.storage?.set({ [COLLAPSED_KEY]: collapsed }).catch(() => {});
  }

  async restoreCollapsed() {
    try {
      const stored = await this.options.storage?.get(COLLAPSED_KEY);
      if (stored?.[COLLAPSED_KEY] === true) this.setCollapsed(true);
    } catch {
      // storage is a convenience; the card works without it
    }
  }

  destroy() {
    this.panelCleanup?.();
    this.host.remove();
  }
}

/**
 * Style the shadow root with a constructed stylesheet (unaffected by the page's CSP), or a
 * <style> element where constructed sheets cannot be adopted.
 * @param {Document} doc
 * @param {ShadowRoot} shadow
 * @param {string} css
 */
function adoptStyles(doc, shadow, css) {
  try {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(css);
    shadow.adoptedStyleSheets = [sheet];
  } catch {
    shadow.append(h(doc, "style", {}, css));
  }
}
