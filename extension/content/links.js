// Pure helpers for LinkedIn links: canonical profile URLs, company page URLs and company-search links.

/** Where LinkedIn's relative links point (a page served elsewhere, like a saved fixture, still means LinkedIn). */
export const LINKEDIN_ORIGIN = "https://www.linkedin.com";

/**
 * Parse `href` as a URL, resolving a relative one against LinkedIn (never against the page's own
 * origin: a relative `/company/6926/` means linkedin.com even on a saved copy of the page).
 * @param {string | null | undefined} href
 * @returns {URL | null}
 */
export function parseLink(href) {
  if (!href) return null;
  try {
    return new URL(href.trim(), LINKEDIN_ORIGIN);
  } catch {
    return null;
  }
}

/**
 * `https://www.linkedin.com/in/<vanity>/` for any link into a profile (country subdomains, `?trk=`,
 * `/overlay/contact-info/` and `/detail/contact-info/` suffixes removed); null for anything else.
 * @param {string | null | undefined} href
 * @returns {string | null}
 */
export function profileUrl(href) {
  const url = parseLink(href);
  if (!url) return null;
  const match = /^\/in\/([^/?#]+)/.exec(url.pathname);
  if (!match) return null;
  return `${LINKEDIN_ORIGIN}/in/${match[1]}/`;
}

/**
 * `https://www.linkedin.com/company/<slug or numeric id>/` for a link to a company page (any
 * subdomain, relative, with tracking parameters or a sub-page like `/life/`); null for anything
 * else, including the company-search links LinkedIn shows for companies that have no page.
 * @param {string | null | undefined} href
 * @returns {string | null}
 */
export function companyPageUrl(href) {
  const url = parseLink(href);
  if (!url || !isLinkedInHost(url.hostname)) return null;
  const match = /^\/company\/([^/?#]+)/.exec(url.pathname);
  if (!match) return null;
  return `${LINKEDIN_ORIGIN}/company/${match[1]}/`;
}

/**
 * The company name a search link carries (`/search/results/all/?keywords=Acme%20Ltd`), or null.
 * @param {string | null | undefined} href
 * @returns {string | null}
 */
export function searchKeywords(href) {
  const url = parseLink(href);
  if (!url || !url.pathname.startsWith("/search/")) return null;
  const keywords = url.searchParams.get("keywords");
  return keywords && keywords.trim() ? keywords.trim() : null;
}

/**
 * @param {string} hostname
 * @returns {boolean}
 */
function isLinkedInHost(hostname) {
  return hostname === "linkedin.com" || hostname.endsWith(".linkedin.com");
}
