// The worker's router: sender checks, per-sender message types, message shapes, and the event fan-out.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { EventFanout } from "../background/fanout.js";
import {
  EXTENSION_PAGES, contentPatterns, createPortAnswerer, createRouter, matchesPattern, messageProblem, senderKind, typeAllowed,
} from "../background/router.js";
import { FakePort, flush } from "./helpers/fakes.js";

const ID = "nkjhiffbkojlkpmflomcllhmfeegoofd";
const manifest = JSON.parse(readFileSync(new URL("../manifest.json", import.meta.url), "utf8"));
const policy = { extensionId: ID, contentPatterns: contentPatterns(manifest), pages: EXTENSION_PAGES };
const profileTab = { id: ID, url: "https://www.linkedin.com/in/lena-fischer/", tab: { id: 3 } };
const popup = { id: ID, url: `chrome-extension://${ID}/popup/popup.html` };

describe("match patterns", () => {
  it("matches the manifest's LinkedIn pattern on every LinkedIn subdomain, and nothing else", () => {
    assert.deepEqual(policy.contentPatterns, ["https://*.linkedin.com/*"]);
    assert.ok(matchesPattern("https://www.linkedin.com/feed/", "https://*.linkedin.com/*"));
    assert.ok(!matchesPattern("https://linkedin.com.evil.example/feed/", "https://*.linkedin.com/*"));
    assert.ok(matchesPattern("https://www.linkedin.com/in/x/", "https://*.linkedin.com/in/*"));
    assert.ok(matchesPattern("https://de.linkedin.com/in/x/?trk=1", "https://*.linkedin.com/in/*"));
    assert.ok(matchesPattern("https://linkedin.com/in/x", "https://*.linkedin.com/in/*"));
    assert.ok(!matchesPattern("https://www.linkedin.com/feed/", "https://*.linkedin.com/in/*"));
    assert.ok(!matchesPattern("http://www.linkedin.com/in/x/", "https://*.linkedin.com/in/*"));
    assert.ok(!matchesPattern("https://linkedin.com.evil.example/in/x/", "https://*.linkedin.com/in/*"));
    assert.ok(!matchesPattern("https://evillinkedin.com/in/x/", "https://*.linkedin.com/in/*"));
  });

  it("matches a loopback pattern on any port, as Chrome does", () => {
    assert.ok(matchesPattern("http://127.0.0.1:41234/in/x/", "http://127.0.0.1/*"));
    assert.ok(!matchesPattern("http://127.0.0.2:41234/in/x/", "http://127.0.0.1/*"));
    assert.ok(!matchesPattern("not a url", "http://127.0.0.1/*"));
  });
});

describe("senders", () => {
  it("accepts the extension's own pages and content scripts on profile pages", () => {
    assert.equal(senderKind(popup, policy), "page");
    assert.equal(senderKind({ id: ID, url: `chrome-extension://${ID}/options/options.html#x` }, policy), "page");
    assert.equal(senderKind(profileTab, policy), "content");
  });

  it("refuses other extensions, unknown pages, and content scripts on other sites", () => {
    assert.equal(senderKind({ ...popup, id: "abcdefghijklmnopabcdefghijklmnop" }, policy), null);
    assert.equal(senderKind({ id: ID, url: `chrome-extension://${ID}/test/evil.html` }, policy), null);
    assert.equal(senderKind({ id: ID, url: "https://evil.example/in/x/", tab: { id: 1 } }, policy), null);
    assert.equal(senderKind({ id: ID, url: "https://www.linkedin.com/in/x/" }, policy), null); // no tab
    assert.equal(senderKind(undefined, policy), null);
  });

  it("keeps settings links and settings changes away from content scripts", () => {
    for (const type of ["company.lookup", "person.push", "campaign.add_member", "outbox.retry", "status", "settings.get"]) {
      assert.ok(typeAllowed("content", type), type);
    }
    for (const type of ["window.link", "settings.patch", "key.set", "policy.put", "connection.activate"]) {
      assert.ok(!typeAllowed("content", type), type);
      assert.ok(typeAllowed("page", type), type);
    }
  });
});

describe("message shapes", () => {
  it("accepts well-formed messages", () => {
    assert.equal(messageProblem({ kind: "native", type: "company.lookup", params: { name: "A" }, timeoutMs: 5000 }), null);
    assert.equal(messageProblem({ kind: "native", type: "ping" }), null);
    assert.equal(messageProblem({ kind: "connection" }), null);
  });

  it("says what is wrong with a malformed one", () => {
    assert.match(String(messageProblem(null)), /object/);
    assert.match(String(messageProblem({ kind: "eval" })), /unknown message kind/);
    assert.match(String(messageProblem({ kind: "native", type: "Company.Lookup" })), /type/);
    assert.match(String(messageProblem({ kind: "native", type: "ping", params: [] })), /params/);
    assert.match(String(messageProblem({ kind: "native", type: "ping", timeoutMs: 10 })), /timeoutMs/);
    assert.match(String(messageProblem({ kind: "native", type: "ping", extra: 1 })), /extra/);
    assert.match(String(messageProblem({ kind: "connection", type: "x" })), /no other field/);
  });
});

describe("the router", () => {
  /** @type {[string, Record<string, unknown>, unknown][]} */
  const sent = [];
  const route = createRouter({
    policy,
    request: async (type, params, options) => {
      sent.push([type, params, options]);
      if (type === "company.confirm") throw Object.assign(new Error("no such company"), { code: "cats.not_found" });
      return { echoed: type };
    },
    connection: () => ({ phase: "connected" }),
  });

  it("passes an allowed message to the port and wraps the answer", async () => {
    const reply = await route({ kind: "native", type: "company.lookup", params: { name: "Acme" }, timeoutMs: 9000 }, profileTab);
    assert.deepEqual(reply, { ok: true, data: { echoed: "company.lookup" } });
    assert.deepEqual(sent.at(-1), ["company.lookup", { name: "Acme" }, { timeoutMs: 9000 }]);
  });

  it("answers a port error with its code", async () => {
    const reply = await route({ kind: "native", type: "company.confirm", params: {} }, profileTab);
    assert.deepEqual(reply, { ok: false, error: { code: "cats.not_found", message: "no such company" } });
  });

  it("refuses a stranger, a bad message and a forbidden type before reaching the port", async () => {
    const before = sent.length;
    const stranger = await route({ kind: "native", type: "ping" }, { id: "x", url: "https://evil.example/" });
    assert.equal(stranger.ok ? "" : stranger.error.code, "extension.refused");
    const malformed = await route({ kind: "native", type: 42 }, popup);
    assert.equal(malformed.ok ? "" : malformed.error.code, "extension.refused");
    const forbidden = await route({ kind: "native", type: "window.link" }, profileTab);
    assert.match(forbidden.ok ? "" : forbidden.error.message, /extension's own pages/);
    assert.equal(sent.length, before);
  });

  it("answers the connection state without touching the port", async () => {
    assert.deepEqual(await route({ kind: "connection" }, popup), { ok: true, data: { phase: "connected" } });
  });
});

describe("requests on an events port", () => {
  /** @type {string[]} */
  const sent = [];
  const answer = createPortAnswerer(
    createRouter({
      policy,
      request: async (type) => {
        sent.push(type);
        return { echoed: type };
      },
      connection: () => ({ phase: "connected" }),
    }),
  );
  /** @param {import("../background/router.js").SenderLike} sender */
  const portFrom = (sender) => Object.assign(new FakePort("companion.events"), { sender });

  it("answers each request by its number, checked against the port's sender", async () => {
    const port = portFrom(profileTab);
    answer(port, { ask: 4, message: { kind: "native", type: "company.lookup", params: {} } });
    answer(port, { ask: 5, message: { kind: "native", type: "settings.patch", params: {} } });
    await flush();
    const byNumber = new Map(port.posted.map((posted) => [posted.answer, posted.reply]));
    assert.deepEqual(byNumber.get(4), { ok: true, data: { echoed: "company.lookup" } });
    assert.equal(byNumber.get(5).error.code, "extension.refused");
    assert.equal(port.posted.length, 2);
    assert.deepEqual(sent, ["company.lookup"]);
  });

  it("refuses a port whose sender may not talk to the worker, and ignores what it cannot answer", async () => {
    const stranger = portFrom({ id: "x", url: "https://evil.example/", tab: { id: 1 } });
    answer(stranger, { ask: 1, message: { kind: "native", type: "ping" } });
    const port = portFrom(popup);
    for (const message of [null, "ask", { event: "x" }, { ask: "1", message: {} }, { ask: 1.5, message: {} }]) {
      answer(port, message);
    }
    await flush();
    assert.equal(stranger.posted[0].reply.error.code, "extension.refused");
    assert.deepEqual(port.posted, []);
  });

  it("drops the answer quietly when the page went away meanwhile", async () => {
    const port = portFrom(profileTab);
    answer(port, { ask: 1, message: { kind: "native", type: "ping" } });
    port.drop();
    await flush();
    assert.deepEqual(port.posted, []);
  });
});

describe("event fan-out", () => {
  it("sends each event to every accepted port and forgets closed ones", () => {
    const fanout = new EventFanout(policy);
    const a = Object.assign(new FakePort("companion.events"), { sender: popup });
    const b = Object.assign(new FakePort("companion.events"), { sender: profileTab });
    assert.ok(fanout.accept(a));
    assert.ok(fanout.accept(b));
    fanout.publish("push.state", { id: 1 });
    assert.deepEqual(a.posted, [{ event: "push.state", data: { id: 1 } }]);
    b.drop();
    fanout.publish("sync.progress", {});
    assert.equal(b.posted.length, 1);
    assert.equal(fanout.size, 1);
  });

  it("refuses ports from strangers or with another name", () => {
    const fanout = new EventFanout(policy);
    const stranger = Object.assign(new FakePort("companion.events"), { sender: { id: "x", url: "https://evil.example/" } });
    const misnamed = Object.assign(new FakePort("other"), { sender: popup });
    assert.ok(!fanout.accept(stranger));
    assert.ok(!fanout.accept(misnamed));
    assert.ok(stranger.disconnected && misnamed.disconnected);
    assert.equal(fanout.size, 0);
  });
});
