// Opening the companion's settings window: ask the daemon for a one-time link (`window.link`).

/**
 * The one-time link to the settings window (valid for about a minute, usable once).
 * @param {import("./client.js").CompanionClient} client
 * @returns {Promise<string>}
 */
export async function settingsLink(client) {
  const data = await client.send("window.link", {}, { timeoutMs: 15_000 });
  const url = typeof data?.url === "string" ? data.url : "";
  // The daemon only ever serves its window on loopback; anything else is not ours to open.
  if (!/^http:\/\/127\.0\.0\.1:\d+\//.test(url)) throw new Error("the companion sent an unexpected settings link");
  return url;
}
