// The contract between the extension's pages / content scripts and its service worker.
//
//   runtime.sendMessage({kind: "native", type, params?, timeoutMs?})  -> Reply   (one daemon message)
//   runtime.sendMessage({kind: "connection"})                         -> Reply   (the native port's state)
//   runtime.connect({name: EVENTS_PORT})  <- {event, data} for every daemon event, plus CONNECTION_EVENT
//     on that port, too:  -> {ask: n, message: <a message as above>}  <- {answer: n, reply: Reply}
//     (checked as sendMessage is, against the port's sender; what shared/client.js uses while the port is open)
//
// A Reply is the daemon's own shape, `{ok: true, data}` or `{ok: false, error: {code, message}}`,
// so errors raised in the extension (codes below) and by the daemon (native-messaging/PROTOCOL.md)
// reach the UI the same way.

/** The native host's name (native-messaging/PROTOCOL.md). */
export const HOST_NAME = "com.cats_companion.host";
/** The protocol version the extension speaks. */
export const PROTOCOL_VERSION = 1;
/** Name of the runtime port on which the worker fans daemon events out. */
export const EVENTS_PORT = "companion.events";
/** Event the worker publishes when the native port's state changes (data: ConnectionState). */
export const CONNECTION_EVENT = "companion.connection";
/** The daemon's event after every company sync: the cache as lookups report it (offline with why, or ready). */
export const CACHE_EVENT = "cache.state";
/** Message-type names, as the daemon checks them. */
export const TYPE_PATTERN = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$/;
/** The daemon and the host refuse requests over 1 MiB; refusing them here saves the trip. */
export const MAX_REQUEST_BYTES = 1024 * 1024;
/** Bounds of a caller-chosen request timeout (milliseconds). */
export const MIN_TIMEOUT_MS = 100;
export const MAX_TIMEOUT_MS = 120_000;

/**
 * Error codes raised inside the extension (the daemon's own codes are in PROTOCOL.md).
 * @type {Readonly<Record<string, string>>}
 */
export const CODES = Object.freeze({
  /** No host manifest for this browser: `cats-companion install-host`. */
  hostNotInstalled: "host.not_installed",
  /** The host manifest does not allow this extension id. */
  hostForbidden: "host.forbidden",
  /** The host process exited (refused the caller, crashed, or its interpreter is gone). */
  hostExited: "host.exited",
  /** The port broke for another reason (a malformed frame, the browser's own error). */
  hostDisconnected: "host.disconnected",
  /** No answer within the request's timeout (Chrome itself never times out). */
  timeout: "extension.timeout",
  /** The service worker could not be reached or stopped before answering. */
  workerUnavailable: "extension.unavailable",
  /** The extension was reloaded or updated; this page's script is orphaned until the page reloads. */
  extensionReloaded: "extension.reloaded",
  /** The sender may not send this message, or the message is malformed. */
  refused: "extension.refused",
  /** The request is over MAX_REQUEST_BYTES. */
  tooLarge: "request.too_large",
});

/**
 * @typedef {{ code: string, message: string, fields?: Array<Record<string, string>> }} ErrorInfo
 * @typedef {{ ok: true, data: any } | { ok: false, error: ErrorInfo }} Reply
 * @typedef {"idle" | "connecting" | "connected" | "failed"} PortPhase
 * @typedef {{
 *   phase: PortPhase,
 *   error: ErrorInfo | null,
 *   hello: { protocol: number, daemon_version: string, types: string[] } | null,
 *   retryInMs: number,
 * }} ConnectionState
 * @typedef {{ kind: "native", type: string, params?: Record<string, unknown>, timeoutMs?: number }} NativeMessage
 * @typedef {{ kind: "connection" }} ConnectionMessage
 * @typedef {NativeMessage | ConnectionMessage} WorkerMessage
 */

/**
 * @param {string} code
 * @param {string} message
 * @returns {{ ok: false, error: ErrorInfo }}
 */
export function failure(code, message) {
  return { ok: false, error: { code, message } };
}

/** An error with the protocol's stable `code`, as the UI receives it. */
export class CompanionError extends Error {
  /**
   * @param {string} code
   * @param {string} message
   * @param {{ fields?: Array<Record<string, string>> }} [details] per-field problems the daemon named
   *   (push.mandatory_missing, push.invalid_value), shown next to each field
   */
  constructor(code, message, details = {}) {
    super(message);
    this.name = "CompanionError";
    this.code = code;
    /** @type {Array<Record<string, string>> | undefined} */
    this.fields = details.fields;
  }

  /** @returns {ErrorInfo} */
  toJSON() {
    return { code: this.code, message: this.message };
  }
}
