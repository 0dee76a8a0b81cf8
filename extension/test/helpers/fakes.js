// Fakes of the few chrome.* pieces the pure modules take as parameters: ports and a manual clock.

/** A clock whose time moves only when the test says so. */
export class FakeClock {
  constructor() {
    this.time = 1_000_000;
    this.nextHandle = 1;
    /** @type {Map<number, { at: number, callback: () => void }>} */
    this.timers = new Map();
  }

  now() {
    return this.time;
  }

  /**
   * @param {() => void} callback
   * @param {number} ms
   * @returns {number}
   */
  setTimeout(callback, ms) {
    const handle = this.nextHandle++;
    this.timers.set(handle, { at: this.time + ms, callback });
    return handle;
  }

  /** @param {any} handle */
  clearTimeout(handle) {
    this.timers.delete(handle);
  }

  /**
   * Move time forward, firing due timers in order (bounded, so a timer loop cannot hang a test).
   * @param {number} ms
   */
  advance(ms) {
    const end = this.time + ms;
    for (let fired = 0; fired < 10_000; fired += 1) {
      const due = Array.from(this.timers.entries())
        .filter(([, timer]) => timer.at <= end)
        .sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.timers.delete(due[0]);
      this.time = due[1].at;
      due[1].callback();
    }
    this.time = end;
  }
}

/** A chrome.runtime.Port stand-in: records what was posted; the test plays the other side. */
export class FakePort {
  /** @param {string} [name] */
  constructor(name = "") {
    this.name = name;
    /** @type {any[]} */
    this.posted = [];
    /** @type {((message: any) => void)[]} */
    this.messageListeners = [];
    /** @type {(() => void)[]} */
    this.disconnectListeners = [];
    this.disconnected = false;
    /** @type {unknown} */
    this.sender = undefined;
    this.onMessage = { addListener: (/** @type {(message: any) => void} */ cb) => this.messageListeners.push(cb) };
    this.onDisconnect = { addListener: (/** @type {() => void} */ cb) => this.disconnectListeners.push(cb) };
  }

  /** @param {unknown} message */
  postMessage(message) {
    if (this.disconnected) throw new Error("Attempting to use a disconnected port object");
    this.posted.push(message);
  }

  disconnect() {
    this.disconnected = true;
  }

  /** The other side sends a message. @param {unknown} message */
  deliver(message) {
    for (const listener of this.messageListeners) listener(message);
  }

  /** The other side goes away. */
  drop() {
    this.disconnected = true;
    for (const listener of this.disconnectListeners) listener();
  }
}

/** Let pending promise callbacks run. */
export function flush() {
  return new Promise((resolve) => setImmediate(resolve));
}
