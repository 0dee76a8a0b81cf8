// Profile layouts the parser once read wrongly, one fixture each, and the rule each fallback follows.
//
// Every fixture is a small hand-written page in tests/fixtures/pages/ with the structure of one
// layout (see the README there). The "rules" block states, one test per rule, what each fallback
// reads and what it must refuse, so that the next layout change fails here instead of reading the
// wrong field.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  extractPerson, isTopCardMarker, parseHeadline, readDetailLinks, readExperience, readTopCard2026,
} from "../content/extract.js";
import { visibleText } from "../content/text.js";
import { loadPage, parsePage } from "./helpers/pages.js";

const FIXTURE_URL = "http://127.0.0.1:8123/in/fixture/";

describe("layouts the parser used to read wrongly", () => {
  it("reads a 2016 position's title from its item-title heading, not from the description", () => {
    const person = extractPerson(loadPage("public-2016-positions.html"), FIXTURE_URL);
    assert.equal(person.title, "Operations Supervisor");
    assert.equal(person.sources.title, "experience");
    assert.equal(person.company, "Frionorte Logística");
    assert.equal(person.companyUrl, "https://www.linkedin.com/company/frionorte-logistica/");
    assert.equal(person.location, "Monterrey Area, Mexico");
    assert.equal(person.betweenJobs, false);
  });

  it("reads a line break as a space, so two lines never glue into one word", () => {
    const doc = loadPage("public-2016-positions.html");
    assert.equal(
      visibleText(doc.querySelector(".description")),
      "Run the night shift of a 40-dock cross-dock Cut spoilage claims by a third",
    );
    const hidden = parsePage('<div id="x"><span aria-hidden="true">Head of Ops<br>EMEA</span></div>');
    assert.equal(visibleText(hidden.getElementById("x")), "Head of Ops EMEA");
  });

  it("does not take a single role's media attachment for a grouped entry", () => {
    const person = extractPerson(loadPage("loggedin-2024-media.html"), FIXTURE_URL);
    assert.equal(person.title, "Senior Product Manager"); // not the caption "Instant payouts launch deck"
    assert.equal(person.company, "Tidewater Payments AS");
    assert.equal(person.companyUrl, "https://www.linkedin.com/company/tidewater-payments/");
    assert.equal(person.sources.companyUrl, "experience");
  });

  it("reads the 2026 location when the contact-info link has its own paragraph after a '·'", () => {
    const person = extractPerson(loadPage("loggedin-2026-contact-paragraph.html"), FIXTURE_URL);
    assert.equal(person.location, "Turin, Piedmont, Italy"); // not "Contact info", not "·"
    assert.equal(person.headline, "UX Researcher · Accessibility");
    assert.equal(person.company, "Lumen Civic Tech");
    assert.equal(person.profileUrl, "https://www.linkedin.com/in/chiara-ferri-ux/");
  });

  it("invents no current job for a person whose every position has ended, and says so", () => {
    const person = extractPerson(loadPage("loggedin-2024-between-jobs.html"), FIXTURE_URL);
    assert.equal(person.betweenJobs, true);
    // Neither the newest (ended) entry nor the stale headline "... at Corvid Cloud" is current.
    assert.equal(person.company, null);
    assert.equal(person.title, null);
    assert.equal(person.companyUrl, null);
    assert.deepEqual(person.companies, []);
    assert.equal(person.headline, "Site Reliability Engineer at Corvid Cloud | Kubernetes, Go");
    assert.equal(person.name, "Dmitri Volkov");
  });

  it("reads a 2026 company with a placeholder instead of a logo from the line under the headline", () => {
    const person = extractPerson(loadPage("loggedin-2026-no-logo.html"), FIXTURE_URL);
    assert.equal(person.company, "Qirsh Labs"); // the part before " · ", not the university
    assert.equal(person.sources.company, "top-card-2026");
    assert.equal(person.headline, "Building reliable payments rails for MENA merchants");
    assert.equal(person.location, "Beirut, Lebanon");
  });

  it("does not read a pronouns line as the headline", () => {
    const person = extractPerson(loadPage("loggedin-2026-pronouns.html"), FIXTURE_URL);
    assert.equal(person.headline, "Talent Partner at Umoya Energy · Hiring engineers in Cape Town");
    assert.equal(person.title, "Talent Partner");
    assert.equal(person.company, "Umoya Energy");
    assert.equal(person.location, "Cape Town, Western Cape, South Africa");
  });

  it("finds a title written only in the headline, as 'Founder, Company' or in a later '|' segment", () => {
    const founder = extractPerson(parsePage(`<html><head><title>Maya Lind | LinkedIn</title></head><body>
      <h1 class="text-heading-xlarge">Maya Lind</h1>
      <div class="text-body-medium break-words">Co-Founder, Acme (YC S25)</div></body></html>`));
    assert.equal(founder.title, "Co-Founder");
    assert.equal(founder.company, "Acme");
    assert.equal(founder.sources.title, "headline");
    const later = extractPerson(parsePage(`<html><body><h1 class="text-heading-xlarge">Omar Said</h1>
      <div class="text-body-medium break-words">Payments nerd | ex-Stripe | founder @ acme</div></body></html>`));
    assert.equal(later.title, "founder");
    assert.equal(later.company, "acme"); // not Stripe: an "ex-" segment is a past job
  });

  it("takes the profile URL from the profile's own /detail/ links when there is no contact-info link", () => {
    const person = extractPerson(loadPage("loggedin-2018-detail-links.html"), "https://www.linkedin.com/in/ACoAAB12xyz/");
    assert.equal(person.profileUrl, "https://www.linkedin.com/in/helga-brandt-ops/");
    assert.equal(person.sources.profileUrl, "detail-links");
    assert.equal(person.company, "Rheintal Präzision GmbH");
  });
});

describe("the rule each fallback follows", () => {
  it("Experience: the current entry is the first without an end date; none such means between jobs", () => {
    const entry = (/** @type {string} */ title, /** @type {string} */ dates) =>
      `<li><div class="t-bold">${title}</div><span class="t-14 t-normal">${title} Co · Full-time</span>`
      + `<span class="t-14 t-normal t-black--light">${dates}</span></li>`;
    const read = (/** @type {string} */ items) =>
      readExperience(parsePage(`<section><h2>Experience</h2><ul>${items}</ul></section>`));
    // An older concurrent job still running is the current one, though listed second.
    assert.equal(read(entry("Advisor", "Jan 2020 - Jun 2023")+entry("Board member", "2019 - Present")).title, "Board member");
    // "Present" in any language: no year after the dash.
    assert.equal(read(entry("Ingeniør", "aug. 2022 - nu · 2 år")).title, "Ingeniør");
    // No dates at all: not known to have ended, so read as before.
    assert.equal(read(entry("Owner", "")).title, "Owner");
    assert.deepEqual(read(entry("Analyst", "Mar 2019 – Jun 2022 · 3 yrs")), { betweenJobs: true });
  });

  it("Experience: a nested item is a role only with a title and its own dates, and without a thumbnail", () => {
    const grouped = readExperience(parsePage(`<section><h2>Experience</h2><ul><li>
      <a href="/company/acme/"><div class="t-bold">Acme</div><span class="t-14 t-normal">Full-time · 4 yrs</span></a>
      <ul><li><div class="t-bold">Director</div><span>Jan 2023 - Present</span></li>
        <li><div class="t-bold">Manager</div><span>2020 - 2022</span></li></ul></li></ul></section>`));
    assert.deepEqual(grouped, { title: "Director", company: "Acme", companyUrl: "https://www.linkedin.com/company/acme/" });
  });

  it("Experience: paragraphs stand for title and company only in 2026 entries, never a description", () => {
    const older = readExperience(parsePage(`<section><h2>Experience</h2><ul><li>
      <p class="description">Ran the warehouse</p><p>Second paragraph</p></li></ul></section>`));
    assert.equal(older.title, null);
    const modern = readExperience(parsePage(`<section><h2>Experience</h2>
      <div componentkey="entity-collection-item-9"><p>Welder</p><p>Forge AB · Full-time</p></div></section>`));
    assert.equal(modern.title, "Welder");
    assert.equal(modern.company, "Forge AB");
  });

  it("2026 top card: the company is the first item with a logo or a placeholder graphic, else the line before ' · '", () => {
    const card = (/** @type {string} */ inner) =>
      readTopCard2026(parsePage(`<section componentkey="x.Topcard"><h2>Ana Ruiz</h2><p>Engineer</p>${inner}
        <p>Madrid, Spain</p><a href="/in/ana-ruiz/overlay/contact-info/">Contact info</a></section>`));
    // An svg placeholder counts as a logo: the company comes before a school whose logo is an image.
    assert.equal(card('<div role="button"><svg></svg><p>Brasa Foods</p></div><div role="button"><img alt=""><p>UPM</p></div>').company, "Brasa Foods");
    assert.equal(card('<div><p>Brasa Foods</p> · <p>UPM</p></div>').company, "Brasa Foods");
    // A lone line without " · " and without a graphic may be a school: nothing is read.
    assert.equal(card("<div><p>UPM</p></div>").company ?? null, null);
    // An action button's svg icon after the contact-info link is no placeholder logo.
    const actions = readTopCard2026(parsePage(`<section componentkey="x.Topcard"><h2>Ana Ruiz</h2><p>Engineer</p>
      <p>Madrid, Spain</p><a href="/in/ana-ruiz/overlay/contact-info/">Contact info</a>
      <div role="button"><svg></svg><p>Message</p></div></section>`));
    assert.equal(actions.company ?? null, null);
  });

  it("2026 top card: the degree, a separator and pronouns are markers, never a headline or a location", () => {
    for (const marker of ["· 2nd", "3rd+", "·", "He/Him", "she / her", "They/Them/Theirs"]) {
      assert.ok(isTopCardMarker(marker), marker);
    }
    for (const text of ["Her/Him Consulting", "Aarhus, Denmark", "He built things"]) {
      assert.ok(!isTopCardMarker(text), text);
    }
  });

  it("headline: the first segment naming a current job wins; past jobs and bare teams are skipped", () => {
    assert.deepEqual(parseHeadline("Senior Engineer at Acme | ex-Foo"), { title: "Senior Engineer", company: "Acme" });
    assert.deepEqual(parseHeadline("Formerly at Google | Founder @ Brasa"), { title: "Founder", company: "Brasa" });
    assert.deepEqual(parseHeadline("CEO & Co-Founder, Qirsh Labs"), { title: "CEO & Co-Founder", company: "Qirsh Labs" });
    assert.deepEqual(parseHeadline("Engineer, Data Platform"), {});
    assert.deepEqual(parseHeadline("Co-Founder, Acme (YC W24)"), { title: "Co-Founder", company: "Acme" });
  });

  it("profile URL: the vanity most of the page's /in/<name>/detail/ links name; bare /in/ links never count", () => {
    const doc = parsePage(`<a href="/in/viewer/">Me</a><a href="/in/viewer/">Me</a>
      <a href="/in/jo/detail/skills/">s</a><a href="/in/jo/detail/recent-activity/">a</a>
      <a href="/in/someone/detail/recent-activity/">b</a>`);
    assert.deepEqual(readDetailLinks(doc), { profileUrl: "https://www.linkedin.com/in/jo/" });
    assert.deepEqual(readDetailLinks(parsePage('<a href="/in/viewer/">Me</a>')), { profileUrl: null });
    // Later pages spell the section links /details/; a search for "/detail/" elsewhere is no profile link.
    const later = parsePage(`<a href="/in/jo/details/experience/">e</a><a href="/search/results/?q=/in/x/detail/">q</a>`);
    assert.deepEqual(readDetailLinks(later), { profileUrl: "https://www.linkedin.com/in/jo/" });
  });
});
