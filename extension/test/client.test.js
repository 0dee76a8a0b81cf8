// The pages' client of the worker: replies, errors, retries, and the events port across worker restarts.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createClient } from "../shared/client.js";
import { FakePort, flush } from "./helpers/fakes.js";

/**
 * A fake `chrome` whose worker answers with `answer(message)`.
 * @param {(message: any) => any} answer
 */
function fakeChrome(answer) {
  /** @type {FakePort[]} */
  const ports = [];
  /** @type {any[]} */
  const messages = [];
  const chromeApi = {
    runtime: {
      id: "nkjhiffbkojlkpmflomcllhmfeegoofd",
      sendMessage: async (/** @type {any} */ message) => {
        messages.push(message);
        return answer(message);
      },
      connect: (/** @type {{ name: string }} */ info) => {
        const port = new FakePort(info.name);
        ports.push(port);
        return port;
      },
    },
  };
  return { chromeApi, ports, messages };
}

describe("send", () => {
  it("sends a native message and resolves with the data", async () => {
    const { chromeApi, messages } = fakeChrome(() => ({ ok: true, data: { pong: true } }));
    const client = createClient(chromeApi);
    assert.deepEqual(await client.send("ping", { echo: "x" }, { timeoutMs: 3000 }), { pong: true });
    assert.deepEqual(messages, [{ kind: "native", type: "ping", params: { echo: "x" }, timeoutMs: 3000 }]);
  });

  it("rejects with the error's code and message", async () => {
    const { chromeApi } = fakeChrome(() => ({ ok: false, error: { code: "daemon.unavailable", message: "down" } }));
    await assert.rejects(createClient(chromeApi).send("status"), { code: "daemon.unavailable", message: "down" });
  });

  it("keeps the fields a refusal names, so the form can mark each one", async () => {
    const fields = [{ field: "title", label: "Job title" }];
    const { chromeApi } = fakeChrome(() => ({
      ok: false,
      error: { code: "push.mandatory_missing", message: "missing: Job title", fields },
    }));
    await assert.rejects(createClient(chromeApi).send("person.push"), { code: "push.mandatory_missing", fields });
  });

  it("retries once, when asked, if the worker went away mid-request", async () => {
    let calls = 0;
    const { chromeApi } = fakeChrome(() => {
      calls += 1;
      if (calls === 1) throw new Error("The message port closed before a response was received.");
      return { ok: true, data: 7 };
    });
    assert.equal(await createClient(chromeApi).send("company.lookup", {}, { retry: true }), 7);
    assert.equal(calls, 2);
  });

  it("does not retry unless asked", async () => {
    const { chromeApi } = fakeChrome(() => {
      throw new Error("Could not establish connection. Receiving end does not exist.");
    });
    await assert.rejects(createClient(chromeApi).send("person.push"), { code: "extension.unavailable" });
  });

  it("says to reload the page once the extension was reloaded", async () => {
    const { chromeApi } = fakeChrome(() => ({ ok: true, data: null }));
    delete (/** @type {any} */ (chromeApi.runtime)).id;
    await assert.rejects(createClient(chromeApi).send("ping"), { code: "extension.reloaded" });
  });

  it("times out when the worker never answers", async () => {
    /** @type {(() => void)[]} */
    const timers = [];
    const chromeApi = {
      runtime: { id: "x", sendMessage: () => new Promise(() => {}), connect: () => new FakePort() },
    };
    const client = createClient(chromeApi, { setTimeout: (cb) => timers.push(cb), clearTimeout: () => {} });
    const reply = client.send("ping", {}, { timeoutMs: 1000 });
    timers[0]();
    await assert.rejects(reply, { code: "extension.timeout" });
  });
});

describe("subscribe", () => {
  it("opens the events port on the first subscription and delivers matching events", async () => {
    const { chromeApi, ports } = fakeChrome(() => ({ ok: true, data: {} }));
    const client = createClient(chromeApi);
    /** @type {any[]} */
    const seen = [];
    const stop = client.subscribe("push.state", (data) => seen.push(data));
    client.subscribe("*", (_data, name) => seen.push(name));
    assert.equal(ports.length, 1);
    assert.equal(ports[0].name, "companion.events");
    ports[0].deliver({ event: "push.state", data: { id: 1 } });
    ports[0].deliver({ event: "sync.progress", data: {} });
    assert.deepEqual(seen, [{ id: 1 }, "push.state", "sync.progress"]);
    stop();
    ports[0].deliver({ event: "push.state", data: { id: 2 } });
    assert.deepEqual(seen.at(-1), "push.state");
  });

  it("reopens the events port on the next send after the worker stopped, not before", async () => {
    const { chromeApi, ports } = fakeChrome(() => ({ ok: true, data: {} }));
    const client = createClient(chromeApi);
    client.subscribe("push.state", () => {});
    ports[0].drop(); // Chrome stopped the worker
    await flush();
    assert.equal(ports.length, 1); // reconnecting now would wake the worker for nothing
    await client.send("ping");
    assert.equal(ports.length, 2);
  });
});

describe("requests on the events port", () => {
  /** @param {(message: any) => any} [answer] */
  function subscribed(answer = () => ({ ok: true, data: "by sendMessage" })) {
    const fake = fakeChrome(answer);
    const client = createClient(fake.chromeApi);
    client.subscribe("push.state", () => {});
    return { ...fake, client, port: fake.ports[0] };
  }

  it("go on the open events port, not by sendMessage, and resolve with the worker's answer", async () => {
    const { client, port, messages } = subscribed();
    const reply = client.send("company.lookup", { name: "Acme" });
    assert.deepEqual(port.posted, [{ ask: 1, message: { kind: "native", type: "company.lookup", params: { name: "Acme" } } }]);
    port.deliver({ answer: 1, reply: { ok: true, data: { match: null } } });
    assert.deepEqual(await reply, { match: null });
    assert.deepEqual(messages, []);
  });

  it("are matched to their answers by number, whatever the order", async () => {
    const { client, port } = subscribed();
    const first = client.send("company.lookup", { name: "A" });
    const second = client.send("company.lookup", { name: "B" });
    port.deliver({ answer: 2, reply: { ok: true, data: "B" } });
    port.deliver({ answer: 1, reply: { ok: false, error: { code: "daemon.unavailable", message: "down" } } });
    assert.equal(await second, "B");
    await assert.rejects(first, { code: "daemon.unavailable", message: "down" });
  });

  it("fail as the worker being unavailable when it stops before answering", async () => {
    const { client, port } = subscribed();
    const reply = client.send("person.push", {});
    port.drop();
    await assert.rejects(reply, { code: "extension.unavailable" });
  });

  it("are retried once by sendMessage, when asked, after the worker stopped mid-request", async () => {
    const { client, port, messages } = subscribed();
    const reply = client.send("company.lookup", { name: "Acme" }, { retry: true });
    port.drop();
    assert.equal(await reply, "by sendMessage");
    assert.deepEqual(messages, [{ kind: "native", type: "company.lookup", params: { name: "Acme" } }]);
  });

  it("go by sendMessage when the port turns out dead as they are sent (nothing was sent on it)", async () => {
    const { client, port, messages } = subscribed();
    port.disconnected = true; // Chrome has not told the page yet
    assert.equal(await client.send("person.push", { id: 1 }), "by sendMessage");
    assert.deepEqual(messages, [{ kind: "native", type: "person.push", params: { id: 1 } }]);
    assert.deepEqual(port.posted, []);
  });

  it("fail when the client is closed before their answer", async () => {
    const { client } = subscribed();
    const reply = client.send("company.lookup", {});
    client.close();
    await assert.rejects(reply, { code: "extension.unavailable" });
  });

  it("ignore answers to nothing asked, and events still reach their listeners", async () => {
    const { chromeApi, ports } = fakeChrome(() => ({ ok: true, data: {} }));
    const client = createClient(chromeApi);
    /** @type {any[]} */
    const seen = [];
    client.subscribe("push.state", (data) => seen.push(data));
    ports[0].deliver({ answer: 9, reply: { ok: true, data: 1 } });
    ports[0].deliver({ event: "push.state", data: { id: 3 } });
    assert.deepEqual(seen, [{ id: 3 }]);
  });
});
