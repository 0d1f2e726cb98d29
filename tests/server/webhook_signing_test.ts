// Signed webhooks (Standard Webhooks, as Replicate sends them) against a real
// receiver: with COG_WEBHOOK_SECRET every delivery carries webhook-id,
// webhook-timestamp and webhook-signature, which the replicate client's own
// validateWebhook accepts; a retried delivery keeps its id; WEBHOOK_AUTH_TOKEN
// still goes along; without a secret nothing changes; a bad secret stops startup.

import Replicate, { validateWebhook } from "replicate";
import { assert, assertEquals, assertMatch, assertThrows } from "../_assert.ts";
import { readSettings } from "../../src/cli/server.ts";
import { type Received, startFixture, startReceiver, waitFor } from "../_helpers.ts";
import { parseWebhookSecret, signWebhook } from "../../src/server/webhook.ts";

const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/** The webhook as the receiving app sees it (what validateWebhook takes), optionally with another body. */
function asRequest(received: Received, body?: string): Request {
  return new Request("http://receiver/webhook", {
    method: "POST",
    headers: received.headers,
    body: body ?? received.body as Uint8Array<ArrayBuffer>,
  });
}

Deno.test("every webhook is signed, validateWebhook accepts it, and a tampered body fails", async () => {
  const hook = startReceiver();
  const s = await startFixture("echo", {
    settings: { COG_WEBHOOK_SECRET: SECRET, WEBHOOK_AUTH_TOKEN: "tok" },
  });
  try {
    const r = await s.request("POST", "/predictions", {
      input: { text: "signed" },
      webhook: hook.url,
    });
    assertEquals(r.status, 200);
    await waitFor(() => hook.received.some((h) => h.json().status === "succeeded"));
    const ids = new Set<string>();
    for (const received of hook.received) {
      const body = new TextDecoder().decode(received.body);
      assertMatch(received.headers.get("webhook-id")!, /^msg_[0-9a-f]{32}$/);
      assertMatch(received.headers.get("webhook-timestamp")!, /^\d{10}$/);
      assertMatch(received.headers.get("webhook-signature")!, /^v1,[A-Za-z0-9+/]{43}=$/);
      assertEquals(received.headers.get("authorization"), "Bearer tok");
      assert(await validateWebhook(asRequest(received), SECRET));
      assert(!(await validateWebhook(asRequest(received, body + " "), SECRET)));
      const otherKey = "whsec_" + btoa("a different key of 32 bytes.....");
      assert(!(await validateWebhook(asRequest(received), otherKey)));
      ids.add(received.headers.get("webhook-id")!);
    }
    assertEquals(ids.size, hook.received.length, "each delivery has its own id");
  } finally {
    await s.close();
    await hook.close();
  }
});

Deno.test("a retried delivery keeps its webhook-id and is signed again", async () => {
  let failures = 2;
  const hook = startReceiver((received) => {
    const terminal = received.json().status === "succeeded";
    if (terminal && failures-- > 0) return new Response("try again", { status: 503 });
    return new Response("ok");
  });
  const s = await startFixture("echo", {
    settings: { COG_WEBHOOK_SECRET: SECRET, COG_WEBHOOK_RETRY_BASE_MS: "5" },
  });
  try {
    await s.request("POST", "/predictions", {
      input: { text: "retry" },
      webhook: hook.url,
      webhook_events_filter: ["completed"],
    });
    await waitFor(() => hook.received.length === 3, 20_000);
    const ids = hook.received.map((h) => h.headers.get("webhook-id"));
    assertEquals(new Set(ids).size, 1, `one id for the delivery and its retries: ${ids}`);
    for (const received of hook.received) {
      assert(await validateWebhook(asRequest(received), SECRET));
    }
  } finally {
    await s.close();
    await hook.close();
  }
});

Deno.test("a prediction made with the replicate client sends webhooks the client validates", async () => {
  const hook = startReceiver();
  const s = await startFixture("echo", { settings: { COG_WEBHOOK_SECRET: SECRET } });
  try {
    const replicate = new Replicate({ baseUrl: `${s.url}/v1`, auth: "x" });
    await replicate.predictions.create({
      version: "v",
      input: { text: "client" },
      webhook: hook.url,
      webhook_events_filter: ["completed"],
    });
    await waitFor(() => hook.received.length === 1);
    const [received] = hook.received;
    assertEquals(received.json().output, "hello client");
    assert(await validateWebhook(asRequest(received), SECRET));
  } finally {
    await s.close();
    await hook.close();
  }
});

Deno.test("without a secret webhooks carry no signature headers", async () => {
  const hook = startReceiver();
  const s = await startFixture("echo");
  try {
    await s.request("POST", "/predictions", {
      input: { text: "plain" },
      webhook: hook.url,
      webhook_events_filter: ["completed"],
    });
    await waitFor(() => hook.received.length === 1);
    assertEquals(hook.received[0].headers.get("webhook-signature"), null);
    assertEquals(hook.received[0].headers.get("webhook-id"), null);
  } finally {
    await s.close();
    await hook.close();
  }
});

Deno.test("a malformed COG_WEBHOOK_SECRET stops the server from starting, with the fix in the message", () => {
  for (const bad of ["whsec_", "whsec_not base64!", "whsec_c2hvcnQ="]) {
    // readSettings is the first thing startServer does (before any temp dir or worker).
    assertThrows(
      () => readSettings({ COG_WEBHOOK_SECRET: bad }),
      /COG_WEBHOOK_SECRET must be whsec_ followed by/,
    );
  }
});

Deno.test("signWebhook signs id.timestamp.body with the decoded key (the Standard Webhooks scheme)", async () => {
  const key = parseWebhookSecret(SECRET);
  assertEquals(parseWebhookSecret(SECRET.slice("whsec_".length)), key, "the prefix is optional");
  const signature = await signWebhook(key, { id: "msg_1", timestamp: 1700000000, body: "{}" });
  const expected = new Uint8Array(
    await crypto.subtle.sign(
      "HMAC",
      await crypto.subtle.importKey(
        "raw",
        key as Uint8Array<ArrayBuffer>,
        { name: "HMAC", hash: "SHA-256" },
        false,
        ["sign"],
      ),
      new TextEncoder().encode("msg_1.1700000000.{}"),
    ),
  );
  assertEquals(signature, `v1,${btoa(String.fromCharCode(...expected))}`);
});
