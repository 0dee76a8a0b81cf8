// The companion client for extension pages and content scripts: send(type, params) and subscribe(event, cb).
//
// It talks to the service worker (background/router.js), never to the native port directly, and
// takes the `chrome` object as a parameter so that Node tests can hand it a fake. While the events
// port is open, requests go on it (`{ask, message}` -> `{answer, reply}`): cheaper than a
// runtime.sendMessage, which opens a message channel per call; otherwise they go by sendMessage,
// which also wakes a worker that Chrome stopped. The events port dies with the worker (its requests
// in flight then fail as with sendMessage) and is reopened on the next send while anyone is
// subscribed (reconnecting at once would keep the worker awake forever). Read-only callers can ask
// for one retry when the worker went away mid-request.

import { CODES, CompanionError, EVENTS_PORT } from "./messages.js";

/**
 * @typedef {import("./messages.js").Reply} Reply
 * @typedef {(data: any, name: string) => void} EventCallback
 * @typedef {{
 *   runtime: {
 *     id?: string,
 *     sendMessage(message: unknown): Promise<any>,
 *     connect(info: { name: string }): {
 *       postMessage(message: unknown): void,
 *       disconnect(): void,
 *       onMessage: { addListener(callback: (message: any) => void): void },
 *       onDisconnect: { addListener(callback: () => void): void },
 *     },
 *   },
 * }} ChromeLike
 * @typedef {{ timeoutMs?: number, retry?: boolean }} SendOptions
 * @typedef {{
 *   send: (type: string, params?: Record<string, unknown>, options?: SendOptions) => Promise<any>,
 *   subscribe: (name: string, callback: EventCallback) => () => void,
 *   connection: () => Promise<import("./messages.js").ConnectionState>,
 *   close: () => void,
 * }} CompanionClient
 */

/** Extra time the page waits beyond the worker's own timeout, so the worker's clearer error wins. */
const GRACE_MS = 2_000;
/** What the page waits when the caller names no timeout (the worker's default is 35 s). */
const DEFAULT_WAIT_MS = 37_000;

/**
 * The error for a sendMessage that failed in Chrome itself.
 * @param {unknown} error
 * @returns {CompanionError}
 */
export function runtimeError(error) {
  const text = error instanceof Error ? error.message : String(error);
  if (/Extension context invalidated/i.test(text)) {
    return new CompanionError(
      CODES.extensionReloaded,
      "CATS Companion was updated or reloaded: reload this page to use it again.",
    );
  }
  return new CompanionError(CODES.workerUnavailable, `the extension's background worker did not answer (${text})`);
}

/**
 * @param {ChromeLike} chromeApi
 * @param {{ setTimeout?: (callback: () => void, ms: number) => unknown, clearTimeout?: (handle: any) => void }} [timers]
 * @returns {CompanionClient}
 */
export function createClient(chromeApi, timers = {}) {
  const setTimer = timers.setTimeout ?? ((callback, ms) => setTimeout(callback, ms));
  const clearTimer = timers.clearTimeout ?? ((handle) => clearTimeout(handle));
  /** @type {Map<string, Set<EventCallback>>} */
  const listeners = new Map();
  /** @type {ReturnType<ChromeLike["runtime"]["connect"]> | null} */
  let eventsPort = null;
  let closed = false;
  let asked = 0;
  /**
   * Requests sent on an events port, by their `ask` number: the port and what settles the request
   * (with the reply, or undefined when that port died first). The worker answers every request it
   * receives (it has its own timeout), so an entry lasts until its answer or its port's end.
   * @type {Map<number, { port: unknown, settle: (reply: unknown) => void }>}
   */
  const awaiting = new Map();

  function openEvents() {
    if (eventsPort || closed || listeners.size === 0 || !chromeApi.runtime.id) return;
    let port;
    try {
      port = chromeApi.runtime.connect({ name: EVENTS_PORT });
    } catch {
      return; // the extension was reloaded: sends report it
    }
    eventsPort = port;
    port.onMessage.addListener((message) => {
      if (message && typeof message.answer === "number") {
        awaiting.get(message.answer)?.settle(message.reply);
        return;
      }
      if (!message || typeof message.event !== "string") return;
      for (const name of [message.event, "*"]) {
        for (const callback of Array.from(listeners.get(name) ?? [])) {
          try {
            callback(message.data, message.event);
          } catch (error) {
            console.error("CATS Companion: an event listener failed", error);
          }
        }
      }
    });
    port.onDisconnect.addListener(() => {
      if (eventsPort === port) eventsPort = null;
      // The worker stopped (or the extension was reloaded) with these unanswered, as a sendMessage
      // whose port closed: each fails as the worker being unavailable.
      for (const entry of Array.from(awaiting.values())) {
        if (entry.port === port) entry.settle(undefined);
      }
    });
  }

  /**
   * The worker's reply to `message`, by the events port when it is open, else by sendMessage.
   * @param {unknown} message
   * @returns {Promise<any>}
   */
  function deliver(message) {
    const port = eventsPort;
    if (!port) return chromeApi.runtime.sendMessage(message);
    asked += 1;
    const number = asked;
    return new Promise((resolve, reject) => {
      const settle = (/** @type {unknown} */ reply) => {
        awaiting.delete(number);
        if (reply === undefined) reject(new Error("the worker stopped before answering"));
        else resolve(reply);
      };
      awaiting.set(number, { port, settle });
      try {
        port.postMessage({ ask: number, message });
      } catch {
        // The port died before Chrome told us: nothing was sent, so sendMessage may carry it safely.
        awaiting.delete(number);
        if (eventsPort === port) eventsPort = null;
        chromeApi.runtime.sendMessage(message).then(resolve, reject);
      }
    });
  }

  /**
   * @param {unknown} message
   * @param {number} waitMs
   * @returns {Promise<Reply>}
   */
  function ask(message, waitMs) {
    if (!chromeApi.runtime.id) return Promise.reject(runtimeError("Extension context invalidated."));
    return new Promise((resolve, reject) => {
      const timer = setTimer(
        () => reject(new CompanionError(CODES.timeout, `the extension did not answer within ${Math.round(waitMs / 1000)} s`)),
        waitMs,
      );
      let pending;
      try {
        pending = deliver(message);
      } catch (error) {
        pending = Promise.reject(error);
      }
      pending.then(
        (reply) => {
          clearTimer(timer);
          if (!reply || typeof reply !== "object" || typeof reply.ok !== "boolean") {
            reject(new CompanionError(CODES.workerUnavailable, "the extension's background worker gave no answer"));
          } else {
            resolve(reply);
          }
        },
        (error) => {
          clearTimer(timer);
          reject(runtimeError(error));
        },
      );
    });
  }

  /** @type {CompanionClient["send"]} */
  async function send(type, params = {}, options = {}) {
    const message = { kind: "native", type, params, ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}) };
    const waitMs = options.timeoutMs ? options.timeoutMs + GRACE_MS : DEFAULT_WAIT_MS;
    let reply;
    try {
      reply = await ask(message, waitMs);
    } catch (error) {
      const retryable = error instanceof CompanionError && error.code === CODES.workerUnavailable;
      if (!options.retry || !retryable) throw error;
      reply = await ask(message, waitMs);
    }
    openEvents();
    if (reply.ok) return reply.data;
    const fields = Array.isArray(reply.error?.fields) ? reply.error.fields : undefined;
    throw new CompanionError(String(reply.error?.code ?? "internal"), String(reply.error?.message ?? "failed"), {
      fields,
    });
  }

  return {
    send,
    subscribe(name, callback) {
      let set = listeners.get(name);
      if (!set) {
        set = new Set();
        listeners.set(name, set);
      }
      set.add(callback);
      openEvents();
      return () => {
        set?.delete(callback);
        if (set?.size === 0) listeners.delete(name);
      };
    },
    async connection() {
      const reply = await ask({ kind: "connection" }, 5_000);
      openEvents();
      if (reply.ok) return reply.data;
      throw new CompanionError(reply.error.code, reply.error.message);
    },
    close() {
      closed = true;
      listeners.clear();
      eventsPort?.disconnect();
      eventsPort = null;
      // Chrome tells only the other side of a disconnect: what was asked on the port fails here.
      for (const entry of Array.from(awaiting.values())) entry.settle(undefined);
    },
  };
}
