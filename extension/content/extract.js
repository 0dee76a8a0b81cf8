// Pure person extraction from a LinkedIn profile Document: several strategies per field, best first.
//
// LinkedIn changes its markup every year or two, so no single selector lasts. Each strategy below
// reads what it can and says so; `extractPerson` takes, field by field, the first strategy that
// found a value, and records which one it was (`sources`), so the card can show where a value came
// from and the recruiter can correct it. The layouts and anchors are those of
// ../shared/linkedin-layouts.md: JSON-LD on public pages, the top card of each logged-in era, the
// contact-info link for the vanity URL (else the profile's own `/in/<name>/detail/` links), and the
// current Experience entry (the first without an end date) for the company link. The rule each
// fallback follows is written down in test/extract-layouts.test.js.

import { clean, cleanOrNull, decodeLeftoverEntities, visibleText } from "./text.js";
import { companyPageUrl, parseLink, profileUrl, searchKeywords } from "./links.js";

/**
 * @typedef {"name" | "headline" | "title" | "company" | "companyUrl" | "location" | "profileUrl"} PersonField
 * @typedef {"json-ld" | "top-card" | "top-card-2026" | "contact-info" | "experience" | "headline"
 *   | "page-title" | "og-title" | "canonical" | "detail-links" | "page-url"} Strategy
 * @typedef {{ name: string, url: string | null }} CompanyRef
 * @typedef {{
 *   name: string | null,
 *   headline: string | null,
 *   title: string | null,
 *   company: string | null,
 *   companyUrl: string | null,
 *   location: string | null,
 *   profileUrl: string | null,
 *   companies: CompanyRef[],
 *   betweenJobs?: boolean,
 *   sources: Partial<Record<PersonField, Strategy>>,
 * }} Person  `betweenJobs` (absent means false): every Experience entry has ended, so the profile
 *   names no current job (title, company and its link stay empty unless the top card or JSON-LD
 *   names a current one).
 * @typedef {Partial<Record<PersonField, string | null>> & { companies?: CompanyRef[], betweenJobs?: boolean }} Reading
 */

/** @type {readonly PersonField[]} */
export const PERSON_FIELDS = ["name", "headline", "title", "company", "companyUrl", "location", "profileUrl"];

/**
 * Which strategies may supply each field, in order of trust. The company link is chosen apart
 * (see `pickCompanyUrl`) because it must belong to the company that was chosen.
 * @type {Record<Exclude<PersonField, "companyUrl">, readonly Strategy[]>}
 */
const ORDER = {
  name: ["json-ld", "top-card", "top-card-2026", "page-title", "og-title"],
  headline: ["top-card", "top-card-2026", "page-title", "og-title"],
  title: ["json-ld", "experience", "headline", "page-title", "og-title"],
  company: ["json-ld", "top-card", "top-card-2026", "experience", "headline", "page-title", "og-title"],
  location: ["top-card", "top-card-2026", "json-ld"],
  profileUrl: ["contact-info", "canonical", "json-ld", "detail-links", "page-url"],
};

/**
 * Read the person shown on a profile page.
 * @param {Document} doc
 * @param {string} [pageUrl] the page's address (location.href); used only as the last resort for the profile URL
 * @returns {Person}
 */
export function extractPerson(doc, pageUrl = "") {
  /** @type {Partial<Record<Strategy, Reading>>} */
  const readings = {
    "json-ld": readJsonLd(doc),
    "top-card": readTopCard(doc),
    "top-card-2026": readTopCard2026(doc),
    "contact-info": readContactInfo(doc),
    experience: readExperience(doc),
    "page-title": parsePageTitle(doc.title),
    "og-title": parsePageTitle(decodeLeftoverEntities(meta(doc, "og:title") ?? "")),
    canonical: readCanonical(doc),
    "detail-links": readDetailLinks(doc),
    "page-url": { profileUrl: profileUrl(pageUrl) },
  };
  /** @type {Person} */
  const person = {
    name: null, headline: null, title: null, company: null, companyUrl: null, location: null,
    profileUrl: null, companies: [], betweenJobs: false, sources: {},
  };
  for (const field of /** @type {(keyof typeof ORDER)[]} */ (Object.keys(ORDER))) {
    if (field === "title" || field === "company") continue;
    take(person, field, readings);
  }
  // The headline is read by then, so the "title at company" rule can serve as a fallback.
  readings.headline = parseHeadline(person.headline);
  person.betweenJobs = readings.experience?.betweenJobs === true;
  if (person.betweenJobs) {
    // Every job on the profile has ended: a headline or page title naming a company ("VP Sales at
    // Acme") is then an old one, and a past job must not become the current company.
    for (const strategy of /** @type {Strategy[]} */ (["headline", "page-title", "og-title"])) {
      const reading = readings[strategy];
      if (reading) readings[strategy] = { ...reading, title: null, company: null };
    }
  }
  take(person, "title", readings);
  take(person, "company", readings);
  pickCompanyUrl(person, readings);
  // The top card or JSON-LD may still name a current company the Experience list shows as ended.
  person.betweenJobs &&= person.company === null;
  person.companies = readings["json-ld"]?.companies?.length
    ? readings["json-ld"].companies
    : person.company ? [{ name: person.company, url: person.companyUrl }] : [];
  return person;
}

/**
 * @param {Person} person
 * @param {keyof typeof ORDER} field
 * @param {Partial<Record<Strategy, Reading>>} readings
 */
function take(person, field, readings) {
  for (const strategy of ORDER[field]) {
    const value = readings[strategy]?.[field];
    if (value) {
      person[field] = value;
      person.sources[field] = strategy;
      return;
    }
  }
}

/**
 * The company page link, from the first strategy whose company is the one chosen: the first
 * Experience entry may be an older job than the "current company" of the top card.
 * @param {Person} person
 * @param {Partial<Record<Strategy, Reading>>} readings
 */
function pickCompanyUrl(person, readings) {
  for (const strategy of /** @type {Strategy[]} */ (["json-ld", "top-card", "top-card-2026", "experience"])) {
    const reading = readings[strategy];
    if (!reading?.companyUrl) continue;
    if (person.company && reading.company && !sameCompany(person.company, reading.company)) continue;
    person.companyUrl = reading.companyUrl;
    person.sources.companyUrl = strategy;
    if (!person.company && reading.company) {
      person.company = reading.company;
      person.sources.company = strategy;
    }
    return;
  }
}

/**
 * Whether two spellings name the same company ("Maven AGI" and "MavenAGI", "Acme" and "Acme Ltd").
 * @param {string} a
 * @param {string} b
 * @returns {boolean}
 */
export function sameCompany(a, b) {
  const key = (/** @type {string} */ s) => s.toLowerCase().normalize("NFKD").replace(/[^\p{L}\p{N}]+/gu, "");
  const x = key(a);
  const y = key(b);
  return x !== "" && y !== "" && (x === y || x.startsWith(y) || y.startsWith(x));
}

// --- strategies -------------------------------------------------------------------------------------

/**
 * Public pages: the schema.org `Person` node, top level, in an array or inside `@graph`.
 * @param {Document} doc
 * @returns {Reading}
 */
export function readJsonLd(doc) {
  for (const script of Array.from(doc.querySelectorAll('script[type="application/ld+json"]'))) {
    let data;
    try {
      data = JSON.parse(script.textContent ?? "");
    } catch {
      continue; // one broken block must not hide a good one
    }
    const node = findPerson(data);
    if (node) return readPersonNode(node);
  }
  return {};
}

/**
 * @param {unknown} data
 * @returns {Record<string, unknown> | null}
 */
function findPerson(data) {
  const nodes = Array.isArray(data) ? data : [data];
  for (const node of nodes) {
    if (!node || typeof node !== "object") continue;
    const record = /** @type {Record<string, unknown>} */ (node);
    const type = record["@type"];
    if (type === "Person" || (Array.isArray(type) && type.includes("Person"))) return record;
    const inner = findPerson(record["@graph"] ?? []);
    if (inner) return inner;
  }
  return null;
}

/**
 * @param {Record<string, unknown>} node
 * @returns {Reading}
 */
function readPersonNode(node) {
  const titles = (Array.isArray(node.jobTitle) ? node.jobTitle : [node.jobTitle]).map((t) =>
    typeof t === "string" ? clean(t) : "",
  );
  const employers = Array.isArray(node.worksFor) ? node.worksFor : node.worksFor ? [node.worksFor] : [];
  /** @type {CompanyRef[]} */
  const companies = [];
  for (const employer of employers) {
    if (!employer || typeof employer !== "object") continue;
    const record = /** @type {Record<string, unknown>} */ (employer);
    const name = cleanOrNull(typeof record.name === "string" ? decodeLeftoverEntities(record.name) : "");
    if (name) companies.push({ name, url: companyPageUrl(typeof record.url === "string" ? record.url : "") });
  }
  const address = /** @type {Record<string, unknown>} */ (
    node.address && typeof node.address === "object" ? node.address : {}
  );
  const place = [address.addressLocality, address.addressCountry]
    .filter((part) => typeof part === "string" && clean(part))
    .map((part) => clean(/** @type {string} */ (part)));
  return {
    name: cleanOrNull(typeof node.name === "string" ? decodeLeftoverEntities(node.name) : ""),
    title: titles.find((t) => t) || null,
    company: companies[0]?.name ?? null,
    companyUrl: companies[0]?.url ?? null,
    location: place.length ? place.join(", ") : null,
    profileUrl: profileUrl(typeof node.url === "string" ? node.url : ""),
    companies,
  };
}

/** Top-card selectors of each era, newest first (see linkedin-layouts.md). */
const TOP_CARD = {
  name: [
    "h1.text-heading-xlarge",
    'a[href*="/overlay/about-this-profile/"] h1',
    "h1.top-card-layout__title",
    ".pv-top-card-section__name",
    ".pv-top-card--list > li",
    "h1#name",
  ],
  headline: [
    ".pv-text-details__left-panel .text-body-medium",
    "div.text-body-medium.break-words",
    "h2.top-card-layout__headline",
    ".pv-top-card-section__headline",
    ".flex-1.mr5 h2",
    "p.headline.title",
  ],
  company: [
    '[aria-label="Current company"]',
    'a[data-tracking-control-name="public_profile_topcard-current-company"]',
    ".pv-top-card-v2-section__company-name",
    "li[data-control-name=position_see_more]",
    "[data-section=currentPositionsDetails] .org",
  ],
  location: [
    ".pv-text-details__left-panel span.text-body-small.inline.t-black--light",
    "span.text-body-small.inline.t-black--light.break-words",
    ".top-card__subline-item",
    ".pv-top-card-section__location",
    ".pv-top-card--list-bullet > li",
    "dl#demographics .locality",
  ],
};

/**
 * Logged-in pages 2017-2025 and the public top card, by their class names.
 * @param {Document} doc
 * @returns {Reading}
 */
export function readTopCard(doc) {
  /** @type {Reading} */
  const reading = {
    name: firstText(doc, TOP_CARD.name),
    headline: firstText(doc, TOP_CARD.headline),
    company: null,
    location: firstText(doc, TOP_CARD.location),
  };
  // 2025: the class is gone, but the "about this profile" link's label is the name.
  reading.name ??= cleanOrNull(
    doc.querySelector('a[href*="/overlay/about-this-profile/"][aria-label]')?.getAttribute("aria-label"),
  );
  // 2024-25: <button aria-label="Current company: Acme. Click to skip to experience card">.
  const button = doc.querySelector('button[aria-label^="Current company: "]');
  if (button) {
    const label = button.getAttribute("aria-label") ?? "";
    const rest = label.slice("Current company: ".length);
    const end = rest.lastIndexOf(". Click");
    reading.company = cleanOrNull(end >= 0 ? rest.slice(0, end) : rest) ?? cleanOrNull(visibleText(button));
  }
  if (!reading.company) {
    for (const selector of TOP_CARD.company) {
      const element = doc.querySelector(selector);
      const text = cleanOrNull(visibleText(element));
      if (!element || !text) continue;
      reading.company = text;
      const link = element.closest("a[href]") ?? element.querySelector("a[href]");
      reading.companyUrl = companyPageUrl(link?.getAttribute("href"));
      break;
    }
  }
  return reading;
}

/** A LinkedIn connection degree as shown beside the name: "· 2nd", "3rd+". */
const DEGREE = /^[·•]?\s*(?:1st|2nd|3rd\+?|\d+(?:st|nd|rd|th))$/i;
/** A line of separators only ("·"), which the 2026 top card puts between the location and the contact link. */
const SEPARATOR = /^[·•|\s]*$/;
/** A pronouns line shown right after the name: "He/Him", "she / her", "They/Them/Theirs". */
const PRONOUNS = /^(?:he|him|his|she|her|hers|they|them|theirs|ze|zir|xe|xem|it|its)(?:\s*\/\s*(?:he|him|his|she|her|hers|they|them|theirs|ze|zir|xe|xem|it|its))+$/i;

/**
 * Whether a line is one of the top card's markers rather than content: the degree, a separator,
 * or pronouns. None of them is ever a headline or a location.
 * @param {string} text
 * @returns {boolean}
 */
export function isTopCardMarker(text) {
  const line = clean(text);
  return DEGREE.test(line) || SEPARATOR.test(line) || PRONOUNS.test(line);
}

/**
 * The 2026 server-driven top card: hashed classes, so only structure is read. The name is the h2
 * in `[componentkey$="Topcard"]`; the headline is the first paragraph after it that is not a
 * marker (degree, separator, pronouns); the company is the first button or paragraph holding a
 * logo or a placeholder graphic (img or svg), or else the line under the headline up to " · "
 * ("Acme · University of X"); the location is the last paragraph before the contact-info link
 * that neither holds that link nor is a marker.
 * @param {Document} doc
 * @returns {Reading}
 */
export function readTopCard2026(doc) {
  const card = doc.querySelector('[componentkey$="Topcard"]');
  if (!card) return {};
  const nameElement = card.querySelector("h2");
  const name = cleanOrNull(visibleText(nameElement));
  /** @type {Reading} */
  const reading = { name };
  const contact = card.querySelector('a[href*="/overlay/contact-info/"], a[href*="/detail/contact-info/"]');
  // Document order by position in the card (compareDocumentPosition is unreliable in DOM shims).
  const position = new Map(Array.from(card.querySelectorAll("*")).map((element, index) => [element, index]));
  const before = (/** @type {Element} */ a, /** @type {Element} */ b) => (position.get(a) ?? -1) < (position.get(b) ?? -1);
  // A placeholder graphic (svg) counts only before the contact-info link: the action buttons after
  // it ("Message", "More") carry svg icons too.
  const companyHolder = Array.from(card.querySelectorAll('div[role="button"], p, a[href*="/company/"]')).find(
    (element) =>
      clean(element.textContent)
      && (element.querySelector("img") || (element.querySelector("svg") && contact && before(element, contact))),
  );
  if (companyHolder) {
    reading.company = cleanOrNull(visibleText(companyHolder));
    const link = companyHolder.closest("a[href]") ?? companyHolder.querySelector("a[href]");
    reading.companyUrl = companyPageUrl(link?.getAttribute("href"));
  }
  const paragraphs = Array.from(card.querySelectorAll("p")).filter(
    (p) =>
      !companyHolder?.contains(p) && !nameElement?.contains(p) && !(contact && p.contains(contact))
      && !isTopCardMarker(visibleText(p)),
  );
  const location = contact ? paragraphs.filter((p) => before(p, contact)).at(-1) : undefined;
  reading.location = location ? cleanOrNull(visibleText(location)) : null;
  const headline = paragraphs.find((p) => p !== location && (!nameElement || before(nameElement, p)));
  reading.headline = headline ? cleanOrNull(visibleText(headline)) : null;
  if (!reading.company && headline) {
    // No logo at all: the first line after the headline (and before the location) that reads
    // "Company · School" names the company before its " · ".
    const line = Array.from(card.querySelectorAll("p, div")).find(
      (element) =>
        before(headline, element) && !element.contains(headline) && (!location || before(element, location))
        && !(location && element.contains(location)) && !(contact && element.contains(contact))
        && visibleText(element).includes(" · "),
    );
    reading.company = line ? cleanOrNull(visibleText(line).split(" · ")[0]) : null;
  }
  return reading;
}

/**
 * Logged-in pages (2018-2026): the contact-info overlay link holds the vanity URL.
 * @param {Document} doc
 * @returns {Reading}
 */
export function readContactInfo(doc) {
  const link = doc.querySelector('a[href*="/overlay/contact-info/"], a[href*="/detail/contact-info/"]');
  return { profileUrl: profileUrl(link?.getAttribute("href")) };
}

/**
 * Older captures without a contact-info link: the profile's own section links
 * (`/in/<vanity>/detail/skills/`, `/detail/recent-activity/`, later `/details/experience/`) name
 * it. Other people's links on the page ("People also viewed") point at bare `/in/<vanity>/`, never
 * at their `/detail/` pages; the vanity most of the `/detail/` links name wins, the first one on a tie.
 * @param {Document} doc
 * @returns {Reading}
 */
export function readDetailLinks(doc) {
  /** @type {Map<string, number>} */
  const counts = new Map();
  for (const link of Array.from(doc.querySelectorAll('a[href*="/detail/"], a[href*="/details/"]'))) {
    const href = link.getAttribute("href") ?? "";
    if (!/^\/in\/[^/?#]+\/details?\//.test(parseLink(href)?.pathname ?? "")) continue;
    const url = profileUrl(href);
    if (url) counts.set(url, (counts.get(url) ?? 0) + 1);
  }
  let best = null;
  let most = 0;
  for (const [url, count] of counts) {
    if (count > most) [best, most] = [url, count];
  }
  return { profileUrl: best };
}

/**
 * @param {Document} doc
 * @returns {Reading}
 */
function readCanonical(doc) {
  const canonical = doc.querySelector('link[rel="canonical"]')?.getAttribute("href");
  return { profileUrl: profileUrl(canonical) ?? profileUrl(meta(doc, "og:url")) };
}

/**
 * The Experience section, in every era: the `#experience` anchor's section, the 2019
 * `#experience-section`, the 2026 component, or any section headed "Experience".
 * @param {Document} doc
 * @returns {Element | null}
 */
export function experienceSection(doc) {
  const anchored = doc.querySelector("#experience")?.closest("section");
  if (anchored) return anchored;
  const older = doc.querySelector("section#experience-section, [componentkey*='ExperienceTopLevelSection']");
  if (older) return older;
  return (
    Array.from(doc.querySelectorAll("section")).find((section) => {
      const heading = section.querySelector("h2, h3");
      return heading !== null && visibleText(heading) === "Experience";
    }) ?? null
  );
}

/**
 * The current Experience entry: the job title, the company and its page link. The current entry
 * is the first one whose dates have no end ("Jan 2020 - Present", "aug. 2022 - nu") or that shows
 * no dates at all; when every entry has an end date the person is between jobs and nothing is
 * read (`betweenJobs`), so that a past job never becomes the current company. Handles entries
 * grouping several roles at one company (the company is the entry's heading and the roles are a
 * nested list), companies without a page (a search link with the name as keywords), and the
 * 2016 public layout (`.item-title` / `.item-subtitle` headings).
 * @param {Document} doc
 * @returns {Reading}
 */
export function readExperience(doc) {
  const section = experienceSection(doc);
  if (!section) return {};
  const candidates = Array.from(section.querySelectorAll("li, [componentkey*='entity-collection-item']"));
  const entries = candidates.filter((c) => !candidates.some((other) => other !== c && other.contains(c)));
  if (entries.length === 0) return {};
  const entry = entries.find((e) => !hasEnded(e));
  if (!entry) return { betweenJobs: true };
  const link = entry.querySelector('a[href*="/company/"], a[href*="/search/results/"]');
  const href = link?.getAttribute("href");
  const url = companyPageUrl(href);
  const fromSearch = searchKeywords(href);
  // A nested list holds either the roles of a grouped entry or, in a single-role entry, the
  // description, skills and media attachments. A role has a title and its own dates; a media
  // attachment's bold caption has a thumbnail and no dates, so it is never taken for a role.
  const firstRole =
    Array.from(entry.querySelectorAll("ul li")).find(
      (li) => li.querySelector("h3, .t-bold") && dateRangeEnd(li) !== null && !li.querySelector("img"),
    ) ?? null;
  let title = null;
  let company = null;
  if (firstRole) {
    // Grouped: the company heads the entry, the first nested role is the current one.
    title = firstText(firstRole, ["h3", ".t-bold", "p"]);
    const heading = Array.from(entry.querySelectorAll("h3, .t-bold, p")).find((element) => !firstRole.contains(element));
    company = heading ? cleanOrNull(visibleText(heading)) : null;
  } else {
    title = firstText(entry, ["h3", ".t-bold", ".item-title"]);
    const line = firstText(entry, [
      ".pv-entity__secondary-title",
      "span.t-14.t-normal:not(.t-black--light)",
      ".item-subtitle",
    ]);
    company = line ? cleanOrNull(line.split(" · ")[0]) : null;
    if ((!title || !company) && entry.matches("[componentkey*='entity-collection-item']")) {
      // 2026: no usable classes; the paragraphs are title, "Company · Employment type", dates.
      // Only there: elsewhere the first paragraph is the job's description, never its title.
      const paragraphs = Array.from(entry.querySelectorAll("p")).map((p) => visibleText(p)).filter(Boolean);
      title ??= cleanOrNull(paragraphs[0]);
      company ??= paragraphs[1] ? cleanOrNull(paragraphs[1].split(" · ")[0]) : null;
    }
  }
  company ??= fromSearch ?? logoName(entry);
  return { title, company, companyUrl: url };
}

/** A date range as an Experience entry shows it: "Jan 2020 - Present · 5 yrs", "2014 – 2016", "thg 1 2020 - nay". */
const DATE_RANGE = /^(?:[\p{L}\d.]+\s+){0,2}(?:19|20)\d{2}\s*[-–—]\s*(\S.*)$/u;
const YEAR = /\b(?:19|20)\d{2}\b/;

/**
 * The end of the first date range shown in `root` ("Present · 5 yrs", "Jun 2016 (2 years)"), or
 * null when it shows none. The innermost element holding a range is read, so that a title or
 * description around it cannot add a year.
 * @param {Element} root
 * @returns {string | null}
 */
function dateRangeEnd(root) {
  const holders = Array.from(root.querySelectorAll("*")).filter((element) =>
    /(?:19|20)\d{2}\s*[-–—]/.test(element.textContent ?? ""),
  );
  const innermost = holders.filter((element) => !holders.some((other) => other !== element && element.contains(other)));
  for (const element of innermost) {
    const match = DATE_RANGE.exec(visibleText(element));
    if (match) return match[1];
  }
  return null;
}

/**
 * Whether an Experience entry's (first) date range has an end: a year after the dash. "Present"
 * in any language has none, and an entry without dates is not known to have ended.
 * @param {Element} entry
 * @returns {boolean}
 */
function hasEnded(entry) {
  const end = dateRangeEnd(entry);
  return end !== null && YEAR.test(end);
}

/**
 * "Acme logo" in the alt text of the entry's logo.
 * @param {Element} entry
 * @returns {string | null}
 */
function logoName(entry) {
  const alt = entry.querySelector("img[alt]")?.getAttribute("alt") ?? "";
  return cleanOrNull(alt.replace(/\s+logo$/i, ""));
}

/** The titles of LinkedIn's own pages (the last " | " part, after the count and " | LinkedIn" go). */
const SECTION_TITLES =
  /^(feed|notifications|messaging|my network|jobs|search|people|home|grow|manage my network|invitations|saved items|events|groups|learning|premium|settings|sign in|sign up|log in|join linkedin)$/i;

/**
 * The page title rule: strip a leading unread count "(3) ", drop the " | LinkedIn" suffix, and
 * take the text before the first " - " (or " | ") as the name. Public pages add "- Title - Company"
 * (whose company may itself hold " - ") or "- Headline".
 * @param {string | null | undefined} title
 * @returns {Reading}
 */
export function parsePageTitle(title) {
  let text = clean(title).replace(/^\(\d+\+?\)\s*/, "");
  text = text.replace(/\s*\|\s*LinkedIn\s*$/i, "");
  if (!text || /^linkedin$/i.test(text)) return {};
  // Reached in-app, a profile keeps the page it came from's title until it has rendered: "Feed",
  // "Notifications" or a search are LinkedIn's sections, never a person.
  if (SECTION_TITLES.test(text.split(" | ").at(-1) ?? "")) return {};
  const [head, ...rest] = text.split(" | ")[0].split(" - ");
  /** @type {Reading} */
  const reading = { name: cleanOrNull(head) };
  if (rest.length === 1) reading.headline = cleanOrNull(rest[0]);
  if (rest.length >= 2) {
    reading.title = cleanOrNull(rest[0]);
    reading.company = cleanOrNull(rest.slice(1).join(" - "));
  }
  return reading;
}

/** Segments that name a past job ("ex-Google", "Formerly at Acme"), never the current one. */
const PAST = /^(?:ex\b|ex-|former|formerly|previously|prev\b|past\b)/i;
/** Titles people write before a comma and their company: "Co-Founder, Acme (YC S25)". */
const LEAD_TITLE =
  /^((?:co-?\s?)?founder(?:\s*(?:&|and)\s*(?:ceo|cto|coo|cpo))?|(?:ceo|cto|coo|cfo|cpo|president|owner|managing director|managing partner|general partner|partner)(?:\s*(?:&|and)\s*co-?founder)?)\s*,\s*(.+)$/i;
/** An accelerator batch tag after a company name: "(YC S25)", "(YC W24)". */
const BATCH = /\s*\((?:yc|y combinator)\s+[swf]\d{2}\)$/i;

/**
 * The "title at company" rule for headlines. The headline's segments (split on " | ", " · ",
 * " - " and the like) are read in order and the first that names a current job wins:
 * "Senior Engineer at Acme | ex-Foo" gives "Senior Engineer" at "Acme"; "Building tools |
 * founder @ acme" gives "founder" at "acme" from its second segment; "@ MavenAGI" gives only the company;
 * "Co-Founder, Acme (YC S25)" gives "Co-Founder" at "Acme" (the comma form only after a founder or
 * executive title, since "Engineer, Data Platform" names a team, not a company; the batch tag is
 * dropped). Segments naming a past job ("ex-Foo", "Formerly at Bar") are skipped.
 * @param {string | null | undefined} headline
 * @returns {Reading}
 */
export function parseHeadline(headline) {
  for (const segment of clean(headline).split(/\s+[|·•–—]\s+|\s+-\s+/)) {
    if (PAST.test(segment)) continue;
    const match = /^(.*?)(?:\s+at\s+|\s*@\s*)(.+)$/i.exec(segment) ?? LEAD_TITLE.exec(segment);
    if (match) return { title: cleanOrNull(match[1]), company: cleanOrNull(match[2].replace(BATCH, "")) };
  }
  return {};
}

// --- DOM helpers --------------------------------------------------------------------------------------

/**
 * @param {Document} doc
 * @param {string} property
 * @returns {string | null}
 */
function meta(doc, property) {
  return doc.querySelector(`meta[property="${property}"]`)?.getAttribute("content") ?? null;
}

/**
 * @param {ParentNode} root
 * @param {readonly string[]} selectors
 * @returns {string | null}
 */
function firstText(root, selectors) {
  for (const selector of selectors) {
    const text = cleanOrNull(visibleText(root.querySelector(selector)));
    if (text) return text;
  }
  return null;
}
