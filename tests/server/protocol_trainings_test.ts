// Trainings (cog.yaml train:): /trainings create, PUT, cancel, OpenAPI
// TrainingInput/TrainingOutput, discovery URLs, and --x-mode train.

import { assertEquals, assertMatch } from "../_assert.ts";
import { startFixture, startReceiver, waitFor } from "../_helpers.ts";

const ASYNC = { prefer: "respond-async" };

Deno.test("POST /trainings runs train() with its own input schema, sync", async () => {
  const s = await startFixture("train_basic");
  try {
    const r = await s.request("POST", "/trainings", { input: { steps: 3 } });
    assertEquals(r.status, 200);
    assertEquals(r.body.status, "succeeded");
    assertEquals(r.body.output, { weights: "w-3", steps: 3 });
    assertEquals(r.body.logs, "training 3\n");
    const bad = await s.request("POST", "/trainings", { input: { steps: 0 } });
    assertEquals(bad.status, 422);
    assertEquals(bad.body.detail[0].loc, ["body", "input", "steps"]);
    // /predictions still runs predict()
    const p = await s.request("POST", "/predictions", { input: { text: "z" } });
    assertEquals(p.body.output, "predicted z");
  } finally {
    await s.close();
  }
});

Deno.test("POST /trainings async answers 202 and sends webhooks", async () => {
  const hook = startReceiver();
  const s = await startFixture("train_basic");
  try {
    const r = await s.request("POST", "/trainings", {
      id: "tr-async",
      input: { steps: 2 },
      webhook: hook.url,
    }, ASYNC);
    assertEquals(r.status, 202);
    assertEquals(r.body.status, "processing", "the 202 says what the prediction is doing");
    await waitFor(() => hook.received.some((h) => h.json().status === "succeeded"));
    assertEquals(hook.received.at(-1)!.json().output, { weights: "w-2", steps: 2 });
  } finally {
    await s.close();
    await hook.close();
  }
});

Deno.test("PUT /trainings/{id} is idempotent: new id runs, in-flight id gets 202, mismatch 422", async () => {
  const s = await startFixture("train_basic");
  try {
    const fresh = await s.request("PUT", "/trainings/tr-put", { input: { steps: 1 } });
    assertEquals(fresh.status, 200);
    assertEquals(fresh.body.id, "tr-put");
    assertEquals(fresh.body.output, { weights: "w-1", steps: 1 });

    const started = await s.request(
      "PUT",
      "/trainings/tr-live",
      { input: { steps: 5, sleep: 30 } },
      ASYNC,
    );
    assertEquals(started.status, 202);
    await waitFor(() => s.server.service.get("tr-live")?.logs() === "training 5\n");
    const live = await s.request("PUT", "/trainings/tr-live", { input: { steps: 9 } });
    assertEquals(live.status, 202);
    assertEquals(live.body.status, "processing");
    assertEquals(live.body.input, { steps: 5, sleep: 30 });

    const mismatch = await s.request("PUT", "/trainings/tr-x", { id: "tr-y", input: {} });
    assertEquals(mismatch.status, 422);
    assertEquals(mismatch.body.detail[0].msg, "training ID must match the ID supplied in the URL");

    const cancel = await s.request("POST", "/trainings/tr-live/cancel");
    assertEquals(cancel.status, 200);
    assertEquals(cancel.body, {});
    const p = s.server.service.get("tr-live");
    await waitFor(() => !p || p.isTerminal, 20_000);
    assertEquals((await s.request("POST", "/trainings/tr-live/cancel")).status, 200);
    assertEquals((await s.request("POST", "/trainings/unknown/cancel")).body, {});
  } finally {
    await s.close();
  }
});

Deno.test("OpenAPI has TrainingInput/TrainingOutput and / lists the training URLs", async () => {
  const s = await startFixture("train_basic");
  try {
    const doc = (await s.request("GET", "/openapi.json")).body;
    const schemas = doc.components.schemas;
    for (
      const name of [
        "Input",
        "Output",
        "TrainingInput",
        "TrainingOutput",
        "TrainingRequest",
        "TrainingResponse",
      ]
    ) {
      assertEquals(typeof schemas[name], "object", `${name} is in the schema`);
    }
    assertEquals(schemas.TrainingInput.properties.steps.maximum, 100);
    assertEquals(schemas.TrainingOutput.title, "TrainingOutput");
    assertEquals(Object.keys(schemas.TrainingOutput.properties).sort(), ["steps", "weights"]);
    assertEquals(typeof doc.paths["/trainings"].post, "object");
    assertEquals(typeof doc.paths["/trainings/{training_id}/cancel"].post, "object");
    const root = (await s.request("GET", "/")).body;
    assertEquals(root.trainings_url, "/trainings");
    assertEquals(root.trainings_idempotent_url, "/trainings/{training_id}");
    assertEquals(root.trainings_cancel_url, "/trainings/{training_id}/cancel");
  } finally {
    await s.close();
  }
});

Deno.test("SSE is refused on /trainings with 406", async () => {
  const s = await startFixture("train_basic");
  try {
    const r = await s.request("POST", "/trainings", { input: {} }, { accept: "text/event-stream" });
    assertEquals(r.status, 406);
    assertEquals(r.body, { error: "Training endpoints do not support streaming responses." });
  } finally {
    await s.close();
  }
});

Deno.test("a model without train: has no training endpoints", async () => {
  const s = await startFixture("echo");
  try {
    const r = await s.request("POST", "/trainings", { input: {} });
    assertEquals(r.status, 404);
    assertEquals((await s.request("GET", "/")).body.trainings_url, undefined);
  } finally {
    await s.close();
  }
});

Deno.test("--x-mode train runs train() for /predictions too", async () => {
  const s = await startFixture("train_basic", { mode: "train" });
  try {
    const r = await s.request("POST", "/predictions", { input: { steps: 4 } });
    assertEquals(r.status, 200);
    assertEquals(r.body.output, { weights: "w-4", steps: 4 });
    const t = await s.request("POST", "/trainings", { input: { steps: 6 } });
    assertEquals(t.body.output, { weights: "w-6", steps: 6 });
    assertMatch(JSON.stringify((await s.request("GET", "/openapi.json")).body), /TrainingInput/);
  } finally {
    await s.close();
  }
});
