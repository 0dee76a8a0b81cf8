// Fans daemon events out to every open extension page and card: runtime ports named EVENTS_PORT.
//
// Pages and content scripts connect with `chrome.runtime.connect({name: EVENTS_PORT})`; the port
// is checked like a message (router.senderKind) and dropped when its page goes away. Each event
// is posted as `{event, data}`. Ports do not survive the worker: when Chrome stops it, every page's
// port disconnects, and the page reconnects the next time it sends a message (shared/client.js).

import { EVENTS_PORT } from "../shared/messages.js";
import { senderKind } from "./router.js";

/**
 * @typedef {import("./router.js").SenderPolicy} SenderPolicy
 * @typedef {import("./router.js").SenderLike} SenderLike
 * @typedef {{
 *   name: string,
 *   sender?: SenderLike,
 *   postMessage(message: unknown): void,
 *   disconnect(): void,
 *   onDisconnect: { addListener(callback: () => void): void },
 * }} RuntimePortLike
 */

export class EventFanout {
  /** @param {SenderPolicy} policy */
  constructor(policy) {
    this.policy = policy;
    /** @type {Set<RuntimePortLike>} */
    this.ports = new Set();
  }

  /**
   * Take a port from runtime.onConnect; returns whether it was accepted.
   * @param {RuntimePortLike} port
   * @returns {boolean}
   */
  accept(port) {
    if (port.name !== EVENTS_PORT || senderKind(port.sender, this.policy) === null) {
      port.disconnect();
      return false;
    }
    this.ports.add(port);
    port.onDisconnect.addListener(() => this.ports.delete(port));
    return true;
  }

  /**
   * @param {string} name
   * @param {unknown} data
   */
  publish(name, data) {
    for (const port of Array.from(this.ports)) {
      try {
        port.postMessage({ event: name, data });
      } catch {
        this.ports.delete(port); // its page went away between the disconnect and this event
      }
    }
  }

  get size() {
    return this.ports.size;
  }
}
