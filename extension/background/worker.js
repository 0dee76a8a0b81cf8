// The service worker's entry: wires the native port, the router and the event fan-out to chrome.*.
//
// Listeners are registered synchronously at the top level, as MV3 requires for a worker that
// Chrome restarts on demand: a message that wakes a stopped worker finds its listener in place.
// Everything else is rebuilt by each worker instance; nothing needs to survive a stop.

import { CONNECTION_EVENT, HOST_NAME } from "../shared/messages.js";
import { EventFanout } from "./fanout.js";
import { NativePort } from "./native-port.js";
import { EXTENSION_PAGES, contentPatterns, createPortAnswerer, createRouter } from "./router.js";

const policy = {
  extensionId: chrome.runtime.id,
  contentPatterns: contentPatterns(chrome.runtime.getManifest()),
  pages: EXTENSION_PAGES,
};
const fanout = new EventFanout(policy);
const nativePort = new NativePort({
  connect: () => chrome.runtime.connectNative(HOST_NAME),
  lastError: () => chrome.runtime.lastError?.message,
  extensionId: chrome.runtime.id,
  onEvent: (name, data) => fanout.publish(name, data),
  onState: (state) => fanout.publish(CONNECTION_EVENT, state),
});
const route = createRouter({
  policy,
  request: (type, params, options) => nativePort.request(type, params, options),
  connection: () => nativePort.state,
});

const answerOnPort = createPortAnswerer(route);

chrome.runtime.onMessage.addListener((message, sender, sendResponse) => {
  route(message, sender).then(sendResponse);
  return true; // the answer is sent asynchronously
});
chrome.runtime.onConnect.addListener((port) => {
  if (fanout.accept(port)) port.onMessage.addListener((message) => answerOnPort(port, message));
});

// For tests and `cats-companion bench roundtrip`, which drive the worker with `worker.evaluate(...)`.
Object.assign(globalThis, {
  companion: {
    request: (/** @type {string} */ type, /** @type {Record<string, unknown>} */ params = {}) =>
      nativePort.request(type, params),
    state: () => nativePort.state,
    close: () => nativePort.close(),
  },
});
