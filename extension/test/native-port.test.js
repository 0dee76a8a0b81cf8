// The native port: hello first, replies matched by id in any order, timeouts, breaks, backoff, idling.

import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import { NativePort, disconnectError } from "../background/native-port.js";
import { FakeClock, FakePort, flush } from "./helpers/fakes.js";

/** @type {FakeClock} */
let clock;
/** @type {FakePort[]} */
let ports;
/** @type {string | undefined} */
let lastError;
/** @type {[string, unknown][]} */
let events;
/** @type {import("../shared/messages.js").ConnectionState[]} */
let states;

/** @param {Partial<import("../background/native-port.js").NativePortOptions>} [overrides] */
function makePort(overrides = {}) {
  return new NativePort({
    connect: () => {
      const port = new FakePort();
      ports.push(port);
      return port;
    },
    lastError: () => lastError,
    extensionId: "nkjhiffbkojlkpmflomcllhmfeegoofd",
    onEvent: (name, data) => events.push([name, data]),
    onState: (state) => states.push(state),
    clock,
    idPrefix: "t",
    requestTimeoutMs: 5_000,
    firstMessageTimeoutMs: 15_000,
    idleMs: 60_000,
    ...overrides,
  });
}

/**
 * Answer the hello on `port` so the port counts as connected.
 * @param {FakePort} port
 */
async function answerHello(port) {
  const hello = port.posted.find((/** @type {any} */ m) => m.type === "hello");
  port.deliver({ id: hello.id, ok: true, data: { protocol: 1, daemon_version: "0.1.0", types: ["hello"] } });
  await flush();
}

beforeEach(() => {
  clock = new FakeClock();
  ports = [];
  lastError = undefined;
  events = [];
  states = [];
});

describe("requests", () => {
  it("sends hello first on a new port, then the request in the protocol's envelope", async () => {
    const native = makePort();
    const reply = native.request("company.lookup", { name: "Acme" });
    assert.equal(ports.length, 1);
    assert.deepEqual(ports[0].posted.map((m) => m.type), ["hello", "company.lookup"]);
    assert.deepEqual(ports[0].posted[1], { id: "t-2", type: "company.lookup", params: { name: "Acme" }, v: 1 });
    await answerHello(ports[0]);
    assert.equal(native.state.phase, "connected");
    ports[0].deliver({ id: "t-2", ok: true, data: { match: null } });
    assert.deepEqual(await reply, { match: null });
  });

  it("matches replies that arrive out of order by their id", async () => {
    const native = makePort();
    const first = native.request("ping", { echo: "one" });
    const second = native.request("ping", { echo: "two" });
    await answerHello(ports[0]);
    const [, a, b] = ports[0].posted;
    ports[0].deliver({ id: b.id, ok: true, data: { echo: "two" } });
    ports[0].deliver({ id: a.id, ok: true, data: { echo: "one" } });
    assert.deepEqual(await Promise.all([first, second]), [{ echo: "one" }, { echo: "two" }]);
  });

  it("rejects with the daemon's code and message", async () => {
    const native = makePort();
    const reply = native.request("company.confirm", { company_id: 1 });
    await answerHello(ports[0]);
    ports[0].deliver({ id: "t-2", ok: false, error: { code: "request.invalid", message: "bad" } });
    await assert.rejects(reply, { code: "request.invalid", message: "bad" });
  });

  it("reuses one port for later requests", async () => {
    const native = makePort();
    const one = native.request("ping");
    await answerHello(ports[0]);
    ports[0].deliver({ id: "t-2", ok: true, data: {} });
    await one;
    const two = native.request("ping");
    ports[0].deliver({ id: "t-3", ok: true, data: { again: true } });
    assert.deepEqual(await two, { again: true });
    assert.equal(ports.length, 1);
  });

  it("refuses a request over 1 MiB without sending anything", async () => {
    const native = makePort();
    await assert.rejects(native.request("ping", { echo: "x".repeat(1024 * 1024) }), { code: "request.too_large" });
    assert.equal(ports.length, 0);
  });

  it("uses ids with a per-instance prefix, so a restarted worker never repeats one", () => {
    const a = new NativePort({ connect: () => new FakePort(), lastError: () => undefined, clock });
    const b = new NativePort({ connect: () => new FakePort(), lastError: () => undefined, clock });
    assert.notEqual(a.nextId().split("-")[0], b.nextId().split("-")[0]);
  });
});

describe("timeouts", () => {
  it("times out a request the host never answers, and ignores its late reply", async () => {
    const native = makePort();
    const warm = native.request("ping");
    await answerHello(ports[0]);
    ports[0].deliver({ id: "t-2", ok: true, data: {} });
    await warm;
    const slow = native.request("company.lookup", { name: "Acme" }, { timeoutMs: 2_000 });
    clock.advance(1_999);
    await flush();
    let settled = false;
    slow.catch(() => {}).finally(() => { settled = true; });
    await flush();
    assert.equal(settled, false);
    clock.advance(1);
    await assert.rejects(slow, { code: "extension.timeout" });
    ports[0].deliver({ id: "t-3", ok: true, data: {} }); // too late: dropped without error
    assert.equal(native.pending.size, 0);
  });

  it("gives the first messages on a new port the longer start-up timeout", async () => {
    const native = makePort();
    const first = native.request("ping", {}, { timeoutMs: 1_000 });
    clock.advance(14_000);
    await flush();
    let settled = false;
    first.catch(() => {}).finally(() => { settled = true; });
    await flush();
    assert.equal(settled, false); // the daemon may be starting: 15 s, not 1 s
    clock.advance(1_000);
    await assert.rejects(first, { code: "extension.timeout" });
  });
});

describe("disconnects and reconnects", () => {
  it("fails every pending request at once when the host is not installed", async () => {
    const native = makePort();
    const a = native.request("ping");
    const b = native.request("status");
    lastError = "Specified native messaging host not found.";
    ports[0].drop();
    await assert.rejects(a, { code: "host.not_installed", message: /cats-companion install-host/ });
    await assert.rejects(b, { code: "host.not_installed" });
    assert.equal(native.state.phase, "failed");
    assert.equal(states.at(-1)?.error?.code, "host.not_installed");
  });

  it("fails fast during the backoff, then tries again, doubling the delay", async () => {
    const native = makePort({ backoffInitialMs: 500 });
    lastError = "Native host has exited.";
    const first = native.request("ping");
    ports[0].drop();
    await assert.rejects(first, { code: "host.exited" });
    await assert.rejects(native.request("ping"), { code: "host.exited", message: /trying again in 1 s/ });
    assert.equal(ports.length, 1); // no new process while backing off
    clock.advance(500);
    const second = native.request("ping");
    assert.equal(ports.length, 2);
    ports[1].drop();
    await assert.rejects(second, { code: "host.exited" });
    clock.advance(500);
    await assert.rejects(native.request("ping"), { code: "host.exited" }); // now 1 s
    assert.equal(ports.length, 2);
    clock.advance(500);
    const third = native.request("ping");
    assert.equal(ports.length, 3);
    await answerHello(ports[2]);
    ports[2].deliver({ id: ports[2].posted[1].id, ok: true, data: { pong: true } });
    assert.deepEqual(await third, { pong: true });
    assert.equal(native.failures, 0);
  });

  it("reconnects at once after a healthy port breaks (the worker or the host went away)", async () => {
    const native = makePort();
    const one = native.request("ping");
    await answerHello(ports[0]);
    ports[0].deliver({ id: "t-2", ok: true, data: {} });
    await one;
    const pending = native.request("status");
    lastError = "Native host has exited.";
    ports[0].drop();
    await assert.rejects(pending, { code: "host.exited" });
    assert.equal(native.state.phase, "idle");
    const again = native.request("ping");
    assert.equal(ports.length, 2);
    assert.equal(ports[1].posted[0].type, "hello");
    await answerHello(ports[1]);
    ports[1].deliver({ id: ports[1].posted[1].id, ok: true, data: { pong: true } });
    assert.deepEqual(await again, { pong: true });
  });

  it("keeps the port when the host answers hello with daemon.unavailable, and recovers", async () => {
    const native = makePort();
    const first = native.request("ping");
    const hello = ports[0].posted[0];
    ports[0].deliver({ id: hello.id, ok: false, error: { code: "daemon.unavailable", message: "not running" } });
    ports[0].deliver({ id: "t-2", ok: false, error: { code: "daemon.unavailable", message: "not running" } });
    await assert.rejects(first, { code: "daemon.unavailable" });
    assert.equal(native.state.phase, "failed");
    const second = native.request("ping");
    assert.equal(ports.length, 1);
    ports[0].deliver({ id: "t-3", ok: true, data: { pong: true } });
    assert.deepEqual(await second, { pong: true });
    assert.equal(native.state.phase, "connected");
    assert.equal(ports[0].posted.at(-1).type, "hello"); // learns the daemon's types again
  });

  it("reports a refused caller", () => {
    const error = disconnectError("Access to the specified native messaging host is forbidden.", "abc");
    assert.equal(error.code, "host.forbidden");
    assert.match(error.message, /--extension-id abc/);
    assert.equal(disconnectError(undefined, "abc").code, "host.disconnected");
  });

  it("turns a synchronous postMessage failure into a rejection", async () => {
    const native = makePort();
    const first = native.request("ping");
    await answerHello(ports[0]);
    ports[0].deliver({ id: "t-2", ok: true, data: {} });
    await first;
    ports[0].disconnected = true; // Chrome throws on a dead port
    await assert.rejects(native.request("ping"), { code: "host.disconnected" });
  });
});

describe("events and idling", () => {
  it("hands daemon events to onEvent", async () => {
    const native = makePort();
    void native.request("ping").catch(() => {});
    ports[0].deliver({ event: "push.state", data: { id: 4, status: "synced" } });
    assert.deepEqual(events, [["push.state", { id: 4, status: "synced" }]]);
  });

  it("closes the port after idleMs without traffic, but not while a request is pending", async () => {
    const native = makePort({ idleMs: 60_000, requestTimeoutMs: 100_000 });
    const slow = native.request("ping");
    await answerHello(ports[0]);
    clock.advance(60_000);
    assert.equal(ports[0].disconnected, false); // the ping is still waiting
    ports[0].deliver({ id: "t-2", ok: true, data: {} });
    await slow;
    clock.advance(59_999);
    assert.equal(ports[0].disconnected, false);
    clock.advance(1);
    assert.equal(ports[0].disconnected, true);
    assert.equal(native.state.phase, "idle");
  });
});
