// Person extraction against the saved profile pages, layout by layout, and its fallbacks.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { extractPerson, parseHeadline, parsePageTitle, readExperience, sameCompany } from "../content/extract.js";
import { companyPageUrl, profileUrl, searchKeywords } from "../content/links.js";
import { decodeLeftoverEntities, visibleText } from "../content/text.js";
import { loadPage, parsePage } from "./helpers/pages.js";

const FIXTURE_URL = "http://127.0.0.1:8123/in/fixture/";

describe("extraction from the saved layouts", () => {
  it("reads a logged-out public page from its JSON-LD, with both current jobs", () => {
    const person = extractPerson(loadPage("public-2024.html"), FIXTURE_URL);
    assert.equal(person.name, "Lena Fischer");
    assert.equal(person.title, "Senior Data Engineer"); // the array's first item, leading space trimmed
    assert.equal(person.company, "Northwind Analytics GmbH");
    // Country subdomain and ?trk= removed.
    assert.equal(person.companyUrl, "https://www.linkedin.com/company/northwind-analytics/");
    assert.equal(person.location, "Berlin, Berlin, Germany");
    assert.equal(person.profileUrl, "https://www.linkedin.com/in/lena-fischer-3a1b2c/");
    assert.equal(person.headline, "Senior Data Engineer at Northwind Analytics | Streaming & lakehouse platforms");
    assert.deepEqual(person.companies.map((c) => c.name), ["Northwind Analytics GmbH", "Data Guild Berlin e.V."]);
    assert.deepEqual(person.sources, {
      name: "json-ld", headline: "top-card", location: "top-card", profileUrl: "canonical",
      title: "json-ld", company: "json-ld", companyUrl: "json-ld",
    });
  });

  it("reads the 2019 logged-in layout, with a relative numeric company link", () => {
    const person = extractPerson(loadPage("loggedin-2019.html"), FIXTURE_URL);
    assert.equal(person.name, "Marco Bianchi");
    assert.equal(person.headline, "Logistics Planner at Rivermark Freight | Intermodal & customs");
    assert.equal(person.title, "Logistics Planner");
    assert.equal(person.company, "Rivermark Freight S.p.A.");
    assert.equal(person.companyUrl, "https://www.linkedin.com/company/6926/");
    assert.equal(person.location, "Milan, Lombardy, Italy");
    assert.equal(person.profileUrl, "https://www.linkedin.com/in/marco-bianchi-logistics/");
    assert.equal(person.sources.profileUrl, "contact-info");
    assert.equal(person.sources.companyUrl, "experience");
  });

  it("reads the 2024 layout: grouped positions, doubled screen-reader text, the company button", () => {
    const person = extractPerson(loadPage("loggedin-2024.html"), FIXTURE_URL);
    assert.equal(person.name, "Aisha Rahman"); // not "(3) Aisha Rahman"
    assert.equal(person.title, "Head of Talent"); // the first role of the grouped entry, read once
    assert.equal(person.company, "Maven AGI"); // the button's label, not the headline's "MavenAGI"
    assert.equal(person.sources.company, "top-card");
    assert.equal(person.companyUrl, "https://www.linkedin.com/company/maven-agi/");
    assert.equal(person.location, "Toronto, Ontario, Canada");
    assert.equal(person.profileUrl, "https://www.linkedin.com/in/aisha-rahman-talent/");
  });

  it("reads the 2025 layout, where the name is only in the about-this-profile link", () => {
    const person = extractPerson(loadPage("loggedin-2025.html"), FIXTURE_URL);
    assert.equal(person.name, "Tomás Oliveira");
    // The label "Current company: Atlântico Energia S.A.. Click ..." keeps the name's own full stop.
    assert.equal(person.company, "Atlântico Energia S.A.");
    assert.equal(person.companyUrl, "https://www.linkedin.com/company/2414183/");
    assert.equal(person.title, "Operations Director");
    assert.equal(person.location, "Lisbon, Lisbon, Portugal");
  });

  it("reads the 2026 server-driven layout by structure, with unicode names and a company without a page", () => {
    const person = extractPerson(loadPage("loggedin-2026.html"), FIXTURE_URL);
    assert.equal(person.name, "Søren Østergaard-Nielsen");
    assert.equal(person.headline, "Projektleder, vindmølleservice · Offshore O&M"); // not the "· 2nd" degree
    assert.equal(person.company, "Hørning & Søn A/S");
    assert.equal(person.companyUrl, null); // the Experience link is a search, not a company page
    assert.equal(person.title, "Projektleder");
    assert.equal(person.location, "Aarhus, Central Denmark Region, Denmark"); // not "312 connections"
    assert.equal(person.sources.headline, "top-card-2026");
    assert.equal(person.profileUrl, "https://www.linkedin.com/in/soren-ostergaard-nielsen/");
  });

  it("reads the 2016 public layout", () => {
    const person = extractPerson(loadPage("public-2016.html"), FIXTURE_URL);
    assert.equal(person.name, "Priya Natarajan");
    assert.equal(person.company, "Sundaram Health Trust");
    assert.equal(person.companyUrl, "https://www.linkedin.com/company/sundaram-health-trust/");
    assert.equal(person.location, "Chennai Area, India");
    assert.equal(person.title, "Clinical Research Coordinator"); // from the headline's "title at company"
    assert.equal(person.sources.title, "headline");
    assert.equal(person.profileUrl, "https://www.linkedin.com/in/priyanatarajan/");
  });

  it("returns only the name for a bare profile, and the page URL as its address", () => {
    const person = extractPerson(loadPage("name-only.html"), "https://www.linkedin.com/in/wen-li-88/?trk=x");
    assert.equal(person.name, "Wen Li");
    assert.equal(person.company, null);
    assert.equal(person.title, null);
    assert.equal(person.companyUrl, null);
    assert.deepEqual(person.companies, []);
    assert.equal(person.profileUrl, "https://www.linkedin.com/in/wen-li-88/");
    assert.equal(person.sources.profileUrl, "page-url");
  });
});

describe("fallbacks", () => {
  it("falls back to the page title when no selector matches", () => {
    const person = extractPerson(parsePage("<html><head><title>(7) Jane Roe | LinkedIn</title></head><body></body></html>"));
    assert.equal(person.name, "Jane Roe");
    assert.equal(person.sources.name, "page-title");
  });

  it("falls back to a double-escaped og:title when the page has no title", () => {
    const doc = parsePage('<html><head><meta property="og:title" content="Ana &amp;amp; Co - Partner | LinkedIn"></head><body></body></html>');
    const person = extractPerson(doc);
    assert.equal(person.name, "Ana & Co");
    assert.equal(person.headline, "Partner");
    assert.equal(person.sources.name, "og-title");
  });

  it("skips a broken JSON-LD block and reads the next one", () => {
    const doc = parsePage(`<html><head>
      <script type="application/ld+json">{not json</script>
      <script type="application/ld+json">{"@type": "Person", "name": "Kai Berg", "worksFor": {"name": "Fjord Labs AS"}}</script>
      </head><body></body></html>`);
    const person = extractPerson(doc);
    assert.equal(person.name, "Kai Berg");
    assert.equal(person.company, "Fjord Labs AS");
  });

  it("prefers the Experience spelling over the headline's and takes its link", () => {
    const doc = parsePage(`<html><head><title>Aisha Rahman | LinkedIn</title></head><body>
      <div class="text-body-medium break-words">Head of Talent @ MavenAGI</div>
      <section><div id="experience"></div><ul><li>
        <a href="/company/maven-agi/?trk=x"><img alt="Maven AGI logo"></a>
        <div class="t-bold"><span aria-hidden="true">Head of Talent</span><span class="visually-hidden">Head of Talent</span></div>
        <span class="t-14 t-normal"><span aria-hidden="true">Maven AGI · Full-time</span></span>
      </li></ul></section></body></html>`);
    const person = extractPerson(doc);
    assert.equal(person.company, "Maven AGI");
    assert.equal(person.sources.company, "experience");
    assert.equal(person.companyUrl, "https://www.linkedin.com/company/maven-agi/");
  });

  it("does not take the company link of an older job for the current company", () => {
    const doc = parsePage(`<html><body>
      <button aria-label="Current company: Brightline Retail. Click to skip to experience card"></button>
      <section><div id="experience"></div><ul><li>
        <a href="https://www.linkedin.com/company/kestrel-mobility/"></a>
        <div class="t-bold"><span aria-hidden="true">Analyst</span></div>
        <span class="t-14 t-normal"><span aria-hidden="true">Kestrel Mobility · Full-time</span></span>
      </li></ul></section></body></html>`);
    const person = extractPerson(doc);
    assert.equal(person.company, "Brightline Retail");
    assert.equal(person.companyUrl, null);
  });

  it("uses the logo's alt text when an Experience entry names the company nowhere else", () => {
    const doc = parsePage(`<section><h2>Experience</h2><ul><li>
      <a href="/company/1234/"><img alt="Orbital Freight logo"></a><h3>Dispatcher</h3></li></ul></section>`);
    assert.deepEqual(readExperience(doc), {
      title: "Dispatcher", company: "Orbital Freight", companyUrl: "https://www.linkedin.com/company/1234/",
    });
  });
});

describe("the page-title and headline rules", () => {
  it("splits public titles into name, title and a company that itself holds ' - '", () => {
    assert.deepEqual(parsePageTitle("Lena Fischer - Data Engineer - Smith - Jones Partners | LinkedIn"), {
      name: "Lena Fischer", title: "Data Engineer", company: "Smith - Jones Partners",
    });
  });

  it("strips the unread count, with or without a plus", () => {
    assert.equal(parsePageTitle("(12+) Søren Østergaard | LinkedIn").name, "Søren Østergaard");
    assert.equal(parsePageTitle("(3) Aisha Rahman | LinkedIn").name, "Aisha Rahman");
  });

  it("reads nothing from LinkedIn's own title", () => {
    assert.deepEqual(parsePageTitle("LinkedIn"), {});
  });

  it("reads no person from the title of a LinkedIn section a profile was opened from", () => {
    assert.deepEqual(parsePageTitle("(3) Feed | LinkedIn"), {});
    assert.deepEqual(parsePageTitle("Notifications | LinkedIn"), {});
    assert.deepEqual(parsePageTitle("\"lena fischer\" | Search | LinkedIn"), {});
    assert.deepEqual(parsePageTitle("My Network | LinkedIn"), {});
    assert.equal(parsePageTitle("Jobs Beaumont | LinkedIn").name, "Jobs Beaumont");
  });

  it("reads 'title at company' and '@ company' headlines", () => {
    assert.deepEqual(parseHeadline("Senior Engineer at Acme | ex-Foo"), { title: "Senior Engineer", company: "Acme" });
    assert.deepEqual(parseHeadline("@ MavenAGI"), { title: null, company: "MavenAGI" });
    assert.deepEqual(parseHeadline("Building things"), {});
  });

  it("treats spellings of one company as the same", () => {
    assert.ok(sameCompany("Maven AGI", "MavenAGI"));
    assert.ok(sameCompany("Acme", "ACME Ltd."));
    assert.ok(!sameCompany("Acme", "Brightline"));
    assert.ok(!sameCompany("", "Acme"));
  });
});

describe("links and text", () => {
  it("normalises profile links from any subdomain and suffix", () => {
    assert.equal(profileUrl("https://sg.linkedin.com/in/jo-tan?trk=abc"), "https://www.linkedin.com/in/jo-tan/");
    assert.equal(profileUrl("/in/jo-tan/overlay/contact-info/"), "https://www.linkedin.com/in/jo-tan/");
    assert.equal(profileUrl("/company/acme/"), null);
  });

  it("normalises company links and refuses search links and foreign hosts", () => {
    assert.equal(companyPageUrl("/company/6926/"), "https://www.linkedin.com/company/6926/");
    assert.equal(companyPageUrl("https://de.linkedin.com/company/acme/life/?trk=x"), "https://www.linkedin.com/company/acme/");
    assert.equal(companyPageUrl("/search/results/all/?keywords=Acme"), null);
    assert.equal(companyPageUrl("https://evil.example/company/acme/"), null);
    assert.equal(searchKeywords("/search/results/all/?keywords=H%C3%B8rning%20%26%20S%C3%B8n"), "Hørning & Søn");
  });

  it("reads the visible copy of doubled text, and ignores empty icons", () => {
    const doc = parsePage(`<div id="a"><svg aria-hidden="true"></svg><span aria-hidden="true">Acme</span><span class="visually-hidden">Acme</span></div>
      <div id="b">Plain <span class="visually-hidden">hidden</span>text</div>`);
    assert.equal(visibleText(doc.getElementById("a")), "Acme");
    assert.equal(visibleText(doc.getElementById("b")), "Plain text");
  });

  it("decodes at most two leftover levels of entities", () => {
    assert.equal(decodeLeftoverEntities("Data &amp;amp; Platform"), "Data & Platform");
    assert.equal(decodeLeftoverEntities("&#39;quoted&#39; &#x41;"), "'quoted' A");
    // Each round undoes one level: "&amp;amp;amp;lt;" is four levels deep, so two remain.
    assert.equal(decodeLeftoverEntities("&amp;amp;amp;lt;"), "&amp;lt;");
  });
});
