// The one owner of the native-messaging port to the companion: ids, timeouts, hello, reconnects, idling.
//
// Chrome's `connectNative` port has no request/response notion and no timeout (a host that stops
// answering leaves a callback waiting forever), so this module adds both: each request gets an id
// and a timer, and replies are matched by id in any order (the host answers concurrently). The port
// is opened on the first request, `hello` goes first on every new port, and a port that breaks
// fails every pending request at once with a clear error. After a failed start, new requests fail
// fast until a backoff delay has passed (0.5 s doubling to 30 s), so a missing companion is
// reported at once instead of being hammered. Nothing here relies on surviving the service worker:
// when Chrome stops the worker the port (and the host) die with it, and the next instance starts
// from scratch. After `idleMs` without traffic the port is closed so that the worker may sleep.

import { CODES, CompanionError, MAX_REQUEST_BYTES, PROTOCOL_VERSION } from "../shared/messages.js";

/**
 * @typedef {import("../shared/messages.js").ConnectionState} ConnectionState
 * @typedef {import("../shared/messages.js").ErrorInfo} ErrorInfo
 * @typedef {{
 *   postMessage(message: unknown): void,
 *   disconnect(): void,
 *   onMessage: { addListener(callback: (message: any) => void): void },
 *   onDisconnect: { addListener(callback: () => void): void },
 * }} PortLike  What the module needs of chrome.runtime.Port.
 * @typedef {{
 *   setTimeout(callback: () => void, ms: number): unknown,
 *   clearTimeout(handle: any): void,
 *   now(): number,
 * }} Clock
 * @typedef {{
 *   connect: () => PortLike,
 *   lastError: () => string | undefined,
 *   extensionId?: string,
 *   onEvent?: (name: string, data: unknown) => void,
 *   onState?: (state: ConnectionState) => void,
 *   clock?: Clock,
 *   firstMessageTimeoutMs?: number,
 *   requestTimeoutMs?: number,
 *   backoffInitialMs?: number,
 *   backoffMaxMs?: number,
 *   idleMs?: number,
 *   idPrefix?: string,
 * }} NativePortOptions
 * @typedef {{ resolve: (data: any) => void, reject: (error: CompanionError) => void, timer: unknown, type: string }} Pending
 */

/** @type {Clock} */
const REAL_CLOCK = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle),
  now: () => Date.now(),
};

/** How Chrome words each port failure (chromium-e2e.md §4), and what we say instead. */
const CHROME_ERRORS = [
  { text: "Specified native messaging host not found.", code: CODES.hostNotInstalled },
  { text: "Access to the specified native messaging host is forbidden.", code: CODES.hostForbidden },
  { text: "Native host has exited.", code: CODES.hostExited },
];

/**
 * The error to report for a port that Chrome disconnected, with what the recruiter can do about it.
 * @param {string | undefined} reason chrome.runtime.lastError.message in onDisconnect
 * @param {string} extensionId
 * @returns {CompanionError}
 */
export function disconnectError(reason, extensionId) {
  const known = CHROME_ERRORS.find((entry) => entry.text === reason);
  switch (known?.code) {
    case CODES.hostNotInstalled:
      return new CompanionError(
        CODES.hostNotInstalled,
        "The CATS Companion app is not installed for this browser. Install it, then run " +
          "`cats-companion install-host`.",
      );
    case CODES.hostForbidden:
      return new CompanionError(
        CODES.hostForbidden,
        `The installed companion does not allow this copy of the extension (id ${extensionId}). ` +
          `Run \`cats-companion install-host --extension-id ${extensionId}\`.`,
      );
    case CODES.hostExited:
      return new CompanionError(
        CODES.hostExited,
        "The companion's native host stopped. Run `cats-companion doctor` to see why.",
      );
    default:
      return new CompanionError(
        CODES.hostDisconnected,
        `The connection to the companion broke${reason ? `: ${reason}` : ""}.`,
      );
  }
}

/** A per-instance prefix, so that ids stay unique across worker restarts (the daemon may dedupe by id). */
function randomPrefix() {
  const bytes = new Uint8Array(6);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export class NativePort {
  /** @param {NativePortOptions} options */
  constructor(options) {
    this.options = options;
    /** @type {Clock} */
    this.clock = options.clock ?? REAL_CLOCK;
    this.firstMessageTimeoutMs = options.firstMessageTimeoutMs ?? 15_000;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 35_000;
    this.backoffInitialMs = options.backoffInitialMs ?? 500;
    this.backoffMaxMs = options.backoffMaxMs ?? 30_000;
    this.idleMs = options.idleMs ?? 120_000;
    this.idPrefix = options.idPrefix ?? randomPrefix();
    this.extensionId = options.extensionId ?? "";
    /** @type {PortLike | null} */
    this.port = null;
    /** @type {Map<string, Pending>} */
    this.pending = new Map();
    this.counter = 0;
    /** Consecutive ports that broke before `hello` answered. */
    this.failures = 0;
    this.retryAt = 0;
    /** @type {unknown} */
    this.idleTimer = null;
    /** @type {ConnectionState} */
    this.current = { phase: "idle", error: null, hello: null, retryInMs: 0 };
  }

  /** @returns {ConnectionState} */
  get state() {
    const retryInMs = this.port ? 0 : Math.max(0, this.retryAt - this.clock.now());
    return { ...this.current, retryInMs };
  }

  /**
   * Send one message to the daemon; resolves with its `data`, rejects with a CompanionError.
   * @param {string} type
   * @param {Record<string, unknown>} [params]
   * @param {{ timeoutMs?: number }} [options]
   * @returns {Promise<any>}
   */
  request(type, params = {}, options = {}) {
    // Measured before a port is opened: an oversized request must not start a host for nothing.
    const size = new TextEncoder().encode(JSON.stringify({ id: "", type, params, v: PROTOCOL_VERSION })).length;
    if (size + 64 > MAX_REQUEST_BYTES) {
      return Promise.reject(
        new CompanionError(CODES.tooLarge, `the ${type} request is ${size} bytes, over the 1 MiB limit`),
      );
    }
    let port;
    try {
      port = this.ensurePort();
    } catch (error) {
      return Promise.reject(error);
    }
    // The id is taken after the port's hello, so ids go out in order.
    const envelope = { id: this.nextId(), type, params, v: PROTOCOL_VERSION };
    return this.post(port, envelope, options.timeoutMs ?? this.requestTimeoutMs);
  }

  /** Close the port (pending requests fail); the next request opens a new one. */
  close() {
    const port = this.port;
    if (!port) return;
    this.dropPort(new CompanionError(CODES.hostDisconnected, "the connection to the companion was closed"));
    this.setState({ phase: "idle", error: null, hello: this.current.hello });
    port.disconnect();
  }

  // --- internals -------------------------------------------------------------------------------------

  nextId() {
    this.counter += 1;
    return `${this.idPrefix}-${this.counter}`;
  }

  /** @returns {PortLike} */
  ensurePort() {
    if (this.port) return this.port;
    const wait = this.retryAt - this.clock.now();
    if (wait > 0 && this.current.error) {
      const { code, message } = this.current.error;
      throw new CompanionError(code, `${message} (trying again in ${Math.ceil(wait / 1000)} s)`);
    }
    return this.open();
  }

  /** @returns {PortLike} */
  open() {
    const port = this.options.connect();
    this.port = port;
    this.setState({ phase: "connecting", error: null, hello: null });
    port.onMessage.addListener((message) => this.receive(port, message));
    port.onDisconnect.addListener(() => this.disconnected(port));
    this.sendHello(port);
    return port;
  }

  /** @param {PortLike} port */
  sendHello(port) {
    const envelope = { id: this.nextId(), type: "hello", params: {}, v: PROTOCOL_VERSION };
    this.post(port, envelope, this.firstMessageTimeoutMs).then(
      (hello) => {
        if (this.port !== port) return;
        this.failures = 0;
        this.setState({ phase: "connected", error: null, hello });
      },
      (/** @type {CompanionError} */ error) => {
        if (this.port !== port) return;
        // The host answered but could not reach the daemon (daemon.unavailable...): the port stays
        // open, and the next request tries again through it.
        this.setState({ phase: "failed", error: error.toJSON(), hello: null });
      },
    );
  }

  /**
   * @param {PortLike} port
   * @param {{ id: string, type: string, params: Record<string, unknown>, v: number }} envelope
   * @param {number} timeoutMs
   * @returns {Promise<any>}
   */
  post(port, envelope, timeoutMs) {
    // A new port's first answers may wait for the daemon to start (the host allows it ~10 s).
    const limit = this.current.phase === "connecting" ? Math.max(timeoutMs, this.firstMessageTimeoutMs) : timeoutMs;
    return new Promise((resolve, reject) => {
      const timer = this.clock.setTimeout(() => {
        if (!this.pending.delete(envelope.id)) return;
        reject(
          new CompanionError(
            CODES.timeout,
            `the companion did not answer ${envelope.type} within ${Math.round(limit / 100) / 10} s`,
          ),
        );
        this.touch();
      }, limit);
      this.pending.set(envelope.id, { resolve, reject, timer, type: envelope.type });
      try {
        port.postMessage(envelope);
      } catch (error) {
        // Chrome throws synchronously for a message over 64 MiB or a port already gone.
        this.pending.delete(envelope.id);
        this.clock.clearTimeout(timer);
        reject(new CompanionError(CODES.hostDisconnected, `could not send ${envelope.type}: ${String(error)}`));
        return;
      }
      this.touch();
    });
  }

  /**
   * @param {PortLike} port
   * @param {any} message
   */
  receive(port, message) {
    if (this.port !== port || !message || typeof message !== "object") return;
    this.touch();
    if (typeof message.event === "string" && !("id" in message)) {
      this.options.onEvent?.(message.event, message.data);
      return;
    }
    const entry = typeof message.id === "string" ? this.pending.get(message.id) : undefined;
    if (!entry) {
      // A reply after its timeout, or the host's answer to something it could not read (id null).
      if (message.ok === false && message.error?.code === "auth.origin") {
        this.setState({ phase: "failed", error: message.error, hello: null });
      }
      return;
    }
    this.pending.delete(message.id);
    this.clock.clearTimeout(entry.timer);
    if (message.ok === true) {
      if (this.current.phase === "failed") {
        // The daemon is back: learn what it serves.
        this.setState({ phase: "connected", error: null, hello: this.current.hello });
        if (entry.type !== "hello") this.sendHello(port);
      }
      entry.resolve(message.data);
    } else {
      const error = message.error ?? {};
      entry.reject(new CompanionError(String(error.code ?? "internal"), String(error.message ?? "the companion failed")));
    }
  }

  /** @param {PortLike} port */
  disconnected(port) {
    if (this.port !== port) return;
    const error = disconnectError(this.options.lastError(), this.extensionId);
    const healthy = this.current.phase === "connected";
    this.dropPort(error);
    if (healthy) {
      this.failures = 0;
      this.retryAt = 0;
    } else {
      this.failures += 1;
      this.retryAt = this.clock.now() + Math.min(this.backoffMaxMs, this.backoffInitialMs * 2 ** (this.failures - 1));
    }
    this.setState({ phase: healthy ? "idle" : "failed", error: healthy ? null : error.toJSON(), hello: null });
  }

  /** @param {CompanionError} error */
  dropPort(error) {
    this.port = null;
    this.clock.clearTimeout(this.idleTimer);
    this.idleTimer = null;
    const waiting = Array.from(this.pending.values());
    this.pending.clear();
    for (const entry of waiting) {
      this.clock.clearTimeout(entry.timer);
      entry.reject(error);
    }
  }

  /** Restart the idle timer: the port closes after `idleMs` with nothing sent, received or pending. */
  touch() {
    this.clock.clearTimeout(this.idleTimer);
    this.idleTimer = this.clock.setTimeout(() => {
      this.idleTimer = null;
      if (this.pending.size === 0) this.close();
      else this.touch();
    }, this.idleMs);
  }

  /** @param {Omit<ConnectionState, "retryInMs">} next */
  setState(next) {
    const changed =
      next.phase !== this.current.phase ||
      next.error?.code !== this.current.error?.code ||
      next.hello !== this.current.hello;
    this.current = { ...next, retryInMs: 0 };
    if (changed) this.options.onState?.(this.state);
  }
}
