// The worker's gate: who may send what. Checks each sender and each message before anything reaches the port.
//
// Senders allowed: this extension's own pages (popup, options, search) and its content scripts
// running on the URLs the manifest injects them into — nobody else (other extensions arrive
// through onMessageExternal, which the worker does not listen to, but the id is checked anyway).
// Content scripts run inside web pages, so they get fewer message types than extension pages:
// nothing that mints a settings-window link or changes settings, keys or the team policy.

import { CODES, MAX_TIMEOUT_MS, MIN_TIMEOUT_MS, TYPE_PATTERN, failure } from "../shared/messages.js";

/**
 * @typedef {import("../shared/messages.js").Reply} Reply
 * @typedef {import("../shared/messages.js").WorkerMessage} WorkerMessage
 * @typedef {import("../shared/messages.js").NativeMessage} NativeMessage
 * @typedef {"page" | "content"} SenderKind
 * @typedef {{ id?: string, url?: string, tab?: unknown, frameId?: number, origin?: string }} SenderLike
 * @typedef {{
 *   extensionId: string,
 *   contentPatterns: readonly string[],
 *   pages: readonly string[],
 * }} SenderPolicy
 * @typedef {{
 *   policy: SenderPolicy,
 *   request: (type: string, params: Record<string, unknown>, options: { timeoutMs?: number }) => Promise<any>,
 *   connection: () => unknown,
 * }} RouterOptions
 */

/** The extension pages that may talk to the worker (paths inside the extension). */
export const EXTENSION_PAGES = Object.freeze(["popup/popup.html", "options/options.html", "search/search.html"]);

/** Type prefixes a content script may not use (checked after the exact names below). */
const CONTENT_DENIED_PREFIXES = Object.freeze(["window.", "settings.", "key.", "connection.", "policy."]);
/** Reads of the settings a content script may make. */
const CONTENT_ALLOWED_EXCEPTIONS = Object.freeze(["settings.get"]);

/**
 * Whether `url` matches a manifest match pattern (`https://*.linkedin.com/*`, `http://127.0.0.1/*`).
 * As in Chrome: `*.` in the host also matches the bare domain, and a pattern without a port
 * matches every port.
 * @param {string} url
 * @param {string} pattern
 * @returns {boolean}
 */
export function matchesPattern(url, pattern) {
  const parsedPattern = /^(\*|https?|file):\/\/([^/]*)(\/.*)$/.exec(pattern);
  if (!parsedPattern) return pattern === "<all_urls>" && /^(https?|file):/.test(url);
  let target;
  try {
    target = new URL(url);
  } catch {
    return false;
  }
  const [, scheme, host, path] = parsedPattern;
  const protocol = target.protocol.slice(0, -1);
  if (scheme === "*" ? !["http", "https"].includes(protocol) : scheme !== protocol) return false;
  if (host !== "*") {
    if (host.startsWith("*.")) {
      const base = host.slice(2);
      if (target.hostname !== base && !target.hostname.endsWith(`.${base}`)) return false;
    } else if (host.includes(":") ? target.host !== host : target.hostname !== host) {
      return false;
    }
  }
  const pathPattern = new RegExp(`^${path.split("*").map(escapeRegExp).join(".*")}$`);
  return pathPattern.test(target.pathname + target.search);
}

/** @param {string} text */
function escapeRegExp(text) {
  return text.replace(/[.+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * What kind of sender this is, or null when it may not talk to the worker at all.
 * @param {SenderLike | undefined} sender
 * @param {SenderPolicy} policy
 * @returns {SenderKind | null}
 */
export function senderKind(sender, policy) {
  if (!sender || sender.id !== policy.extensionId || typeof sender.url !== "string") return null;
  const own = `chrome-extension://${policy.extensionId}/`;
  if (sender.url.startsWith(own)) {
    const path = sender.url.slice(own.length).split(/[?#]/)[0];
    return policy.pages.includes(path) ? "page" : null;
  }
  // A content script: it runs in a tab, on a page the manifest injects it into.
  if (sender.tab && policy.contentPatterns.some((pattern) => matchesPattern(sender.url ?? "", pattern))) {
    return "content";
  }
  return null;
}

/**
 * Whether a sender of `kind` may send the message type `type`.
 * @param {SenderKind} kind
 * @param {string} type
 * @returns {boolean}
 */
export function typeAllowed(kind, type) {
  if (kind === "page") return true;
  if (CONTENT_ALLOWED_EXCEPTIONS.includes(type)) return true;
  return !CONTENT_DENIED_PREFIXES.some((prefix) => type.startsWith(prefix));
}

/**
 * Check a message's shape; returns the problem in words, or null when it is well formed.
 * @param {unknown} message
 * @returns {string | null}
 */
export function messageProblem(message) {
  if (!message || typeof message !== "object" || Array.isArray(message)) return "a message must be an object";
  const record = /** @type {Record<string, unknown>} */ (message);
  if (record.kind === "connection") {
    return Object.keys(record).length === 1 ? null : "a connection message takes no other field";
  }
  if (record.kind !== "native") return `unknown message kind ${JSON.stringify(record.kind)}`;
  const extra = Object.keys(record).filter((key) => !["kind", "type", "params", "timeoutMs"].includes(key));
  if (extra.length) return `unknown field(s) ${extra.join(", ")}`;
  if (typeof record.type !== "string" || record.type.length > 100 || !TYPE_PATTERN.test(record.type)) {
    return "type must be a dotted lower-case name such as company.lookup";
  }
  const params = record.params;
  if (params !== undefined && (params === null || typeof params !== "object" || Array.isArray(params))) {
    return "params must be an object";
  }
  const timeout = record.timeoutMs;
  if (
    timeout !== undefined &&
    (typeof timeout !== "number" || !Number.isInteger(timeout) || timeout < MIN_TIMEOUT_MS || timeout > MAX_TIMEOUT_MS)
  ) {
    return `timeoutMs must be a whole number of milliseconds from ${MIN_TIMEOUT_MS} to ${MAX_TIMEOUT_MS}`;
  }
  return null;
}

/**
 * The worker's message handler: sender check, schema check, then the port.
 * @param {RouterOptions} options
 * @returns {(message: unknown, sender: SenderLike | undefined) => Promise<Reply>}
 */
export function createRouter(options) {
  return async function route(message, sender) {
    const kind = senderKind(sender, options.policy);
    if (kind === null) return failure(CODES.refused, "this sender may not talk to CATS Companion");
    const problem = messageProblem(message);
    if (problem !== null) return failure(CODES.refused, `malformed message: ${problem}`);
    const checked = /** @type {WorkerMessage} */ (message);
    if (checked.kind === "connection") return { ok: true, data: options.connection() };
    if (!typeAllowed(kind, checked.type)) {
      return failure(CODES.refused, `${checked.type} may only be sent from the extension's own pages`);
    }
    try {
      const data = await options.request(checked.type, checked.params ?? {}, { timeoutMs: checked.timeoutMs });
      return { ok: true, data };
    } catch (error) {
      const { code, message: text } = /** @type {{ code?: unknown, message?: unknown }} */ (error ?? {});
      return failure(typeof code === "string" ? code : "internal", typeof text === "string" ? text : String(error));
    }
  };
}

/**
 * Answers requests that arrive on an events port: `{ask: n, message}` gets `{answer: n, reply}`.
 *
 * A page that keeps its events port open sends its requests on it too: a runtime.sendMessage opens
 * and closes a message channel for every call, which made the card's company lookup about half a
 * millisecond slower than the same request on a port (`cats-companion bench roundtrip`). Each
 * request is checked exactly as a sendMessage is, against the sender Chrome recorded for the port.
 * @param {(message: unknown, sender: SenderLike | undefined) => Promise<Reply>} route
 * @returns {(port: { sender?: SenderLike, postMessage(message: unknown): void }, message: unknown) => void}
 */
export function createPortAnswerer(route) {
  return function answer(port, message) {
    if (!message || typeof message !== "object" || !("ask" in message)) return; // an event-port message of another kind
    const { ask, message: request } = /** @type {{ ask: unknown, message: unknown }} */ (message);
    if (typeof ask !== "number" || !Number.isSafeInteger(ask)) return; // nothing to answer it by
    route(request, port.sender).then((reply) => {
      try {
        port.postMessage({ answer: ask, reply });
      } catch {
        // The page went away while its request was answered: nobody is waiting for it.
      }
    });
  };
}

/**
 * The content-script URL patterns of a manifest (the single source of truth for where they run).
 * @param {{ content_scripts?: { matches?: string[] }[] }} manifest
 * @returns {string[]}
 */
export function contentPatterns(manifest) {
  return (manifest.content_scripts ?? []).flatMap((entry) => entry.matches ?? []);
}
