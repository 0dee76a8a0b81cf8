// Pure person extraction from a LinkedIn profile Document: several strategies per field, best first.
//
// LinkedIn changes its markup every year or two, so no single selector lasts. Each strategy below
// reads what it can and says so; `extractPerson` takes, field by field, the first strategy that
// found a value, and records which one it was (`sources`), so the card can show where a value came
// from and the recruiter can correct it. The layouts and anchors are those of
// ../shared/linkedin-layouts.md: JSON-LD on public pages, the top card of each logged-in era, the
// contact-info link for the vanity URL, and the first Experience entry for the company link.

import { clean, cleanOrNull, decodeLeftoverEntities, visibleText } from "./text.js";
import { companyPageUrl, profileUrl, searchKeywords } from "./links.js";

/**
 * @typedef {"name" | "headline" | "title" | "company" | "companyUrl" | "location" | "profileUrl"} PersonField
 * @typedef {"json-ld" | "top-card" | "top-card-2026" | "contact-info" | "experience" | "headline"
 *   | "page-title" | "og-title" | "canonical" | "page-url"} Strategy
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
 *   sources: Partial<Record<PersonField, Strategy>>,
 * }} Person
 * @typedef {Partial<Record<PersonField, string | null>> & { companies?: CompanyRef[] }} Reading
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
  profileUrl: ["contact-info", "canonical", "json-ld", "page-url"],
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
    "page-url": { profileUrl: profileUrl(pageUrl) },
  };
  /** @type {Person} */
  const person = {
    name: null, headline: null, title: null, company: null, companyUrl: null, location: null,
    profileUrl: null, companies: [], sources: {},
  };
  for (const field of /** @type {(keyof typeof ORDER)[]} */ (Object.keys(ORDER))) {
    if (field === "title" || field === "company") continue;
    take(person, field, readings);
  }
  // The headline is read by then, so the "title at company" rule can serve as a fallback.
  readings.headline = parseHeadline(person.headline);
  take(person, "title", readings);
  take(person, "company", readings);
  pickCompanyUrl(person, readings);
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

/**
 * The 2026 server-driven top card: hashed classes, so only structure is read. The name is the h2
 * in `[componentkey$="Topcard"]`; the headline is the first paragraph after it that is not the
 * degree; the company is the paragraph or button holding a logo; the location is the paragraph
 * just before the contact-info link.
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
  const companyHolder = Array.from(card.querySelectorAll('div[role="button"], p, a[href*="/company/"]')).find(
    (element) => element.querySelector("img") && clean(element.textContent),
  );
  if (companyHolder) {
    reading.company = cleanOrNull(visibleText(companyHolder));
    const link = companyHolder.closest("a[href]") ?? companyHolder.querySelector("a[href]");
    reading.companyUrl = companyPageUrl(link?.getAttribute("href"));
  }
  const contact = card.querySelector('a[href*="/overlay/contact-info/"], a[href*="/detail/contact-info/"]');
  // Document order by position in the card (compareDocumentPosition is unreliable in DOM shims).
  const position = new Map(Array.from(card.querySelectorAll("*")).map((element, index) => [element, index]));
  const before = (/** @type {Element} */ a, /** @type {Element} */ b) => (position.get(a) ?? -1) < (position.get(b) ?? -1);
  const paragraphs = Array.from(card.querySelectorAll("p")).filter(
    (p) => !companyHolder?.contains(p) && !nameElement?.contains(p) && clean(p.textContent),
  );
  const location = contact ? paragraphs.filter((p) => before(p, contact)).at(-1) : undefined;
  reading.location = location ? cleanOrNull(visibleText(location)) : null;
  const headline = paragraphs.find(
    (p) => p !== location && !DEGREE.test(clean(p.textContent)) && (!nameElement || before(nameElement, p)),
  );
  reading.headline = headline ? cleanOrNull(visibleText(headline)) : null;
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
 * The first Experience entry: the job title, the company and its page link. Handles entries
 * grouping several roles at one company (the company is the entry's heading and the roles are
 * a nested list) and companies without a page (a search link with the name as keywords).
 * @param {Document} doc
 * @returns {Reading}
 */
export function readExperience(doc) {
  const section = experienceSection(doc);
  const entry = section?.querySelector("li, [componentkey*='entity-collection-item']");
  if (!entry) return {};
  const link = entry.querySelector('a[href*="/company/"], a[href*="/search/results/"]');
  const href = link?.getAttribute("href");
  const url = companyPageUrl(href);
  const fromSearch = searchKeywords(href);
  // A nested list holds either the roles of a grouped entry (each with its own title) or, in a
  // single-role entry, the description and skills (no title): only the first kind is a role.
  const firstRole = Array.from(entry.querySelectorAll("ul li")).find((li) => li.querySelector("h3, .t-bold")) ?? null;
  let title = null;
  let company = null;
  if (firstRole) {
    // Grouped: the company heads the entry, the first nested role is the current one.
    title = firstText(firstRole, ["h3", ".t-bold", "p"]);
    const heading = Array.from(entry.querySelectorAll("h3, .t-bold, p")).find((element) => !firstRole.contains(element));
    company = heading ? cleanOrNull(visibleText(heading)) : null;
  } else {
    title = firstText(entry, ["h3", ".t-bold"]);
    const line = firstText(entry, [
      ".pv-entity__secondary-title",
      "span.t-14.t-normal:not(.t-black--light)",
    ]);
    company = line ? cleanOrNull(line.split(" · ")[0]) : null;
    if (!title || !company) {
      // 2026: no usable classes; the paragraphs are title, "Company · Employment type", dates.
      const paragraphs = Array.from(entry.querySelectorAll("p")).map((p) => visibleText(p)).filter(Boolean);
      title ??= cleanOrNull(paragraphs[0]);
      company ??= paragraphs[1] ? cleanOrNull(paragraphs[1].split(" · ")[0]) : null;
    }
  }
  company ??= fromSearch ?? logoName(entry);
  return { title, company, companyUrl: url };
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

/**
 * The "title at company" rule for headlines: "Senior Engineer at Acme | ex-Foo" gives the title
 * "Senior Engineer" and the company "Acme"; "@ MavenAGI" gives only the company.
 * @param {string | null | undefined} headline
 * @returns {Reading}
 */
export function parseHeadline(headline) {
  const first = clean(headline).split(/\s+[|·•–—]\s+|\s+-\s+/)[0] ?? "";
  const match = /^(.*?)(?:\s+at\s+|\s*@\s*)(.+)$/i.exec(first);
  if (!match) return {};
  return { title: cleanOrNull(match[1]), company: cleanOrNull(match[2]) };
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
