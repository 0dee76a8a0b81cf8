// Turns what someone types into a company lookup: a name, a website, an e-mail address or a LinkedIn page.

/**
 * @param {string} text
 * @returns {{ name?: string, website?: string, email?: string, linkedin_url?: string } | null}
 */
export function queryFromText(text) {
  const value = text.trim();
  if (!value) return null;
  if (/linkedin\.com\/company\//i.test(value)) return { linkedin_url: value.slice(0, 2000) };
  if (/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value)) return { email: value.slice(0, 320) };
  if (/^(https?:\/\/)?([a-z0-9-]+\.)+[a-z]{2,}(\/\S*)?$/i.test(value)) return { website: value.slice(0, 2000) };
  return { name: value.slice(0, 500) };
}
