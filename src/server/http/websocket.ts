// WebSocket streaming (the transport Cog's `serve` docs promise): GET
// /predictions with Upgrade: websocket takes one text message, the JSON body
// of POST /predictions, and answers with one JSON message per event,
// {"event": ..., "data": ...}, exactly the payloads of the SSE stream, then
// closes. GET /predictions/{id} with Upgrade attaches to a running prediction.
// It is a transport over the service's SSE subscription, so replay, lag and
// "the last subscriber leaving cancels" are the SSE rules, not a copy of them.

import type { PredictionService } from "../service.ts";
import { MESSAGES } from "../wire.ts";
import { refusalAnswer } from "./_refusal.ts";
import { BodyError, readCreateBody } from "./schemas.ts";

/** Settings of the WebSocket endpoints. */
export interface WebSocketOptions {
  /** Largest first message, bytes (the POST body limit). */
  bodyLimit: number;
  /** How long the server waits for the first message, ms (default 30 000). */
  firstMessageTimeoutMs?: number;
  /** Bytes queued for a slow client before the server stops reading events (default 8 MiB). */
  highWaterBytes?: number;
}

/** True for a WebSocket handshake request. */
export function isWebSocketUpgrade(request: Request): boolean {
  return (request.headers.get("upgrade") ?? "").toLowerCase() === "websocket";
}

/** Close codes: normal end, refused input, try again later. */
const CLOSE = { normal: 1000, refused: 1008, later: 1013 } as const;

/**
 * Answers a WebSocket handshake: `target` null creates a prediction from the
 * first message; an id attaches to that prediction.
 */
export function serveWebSocket(
  request: Request,
  service: PredictionService,
  target: { id: string } | null,
  options: WebSocketOptions,
): Response {
  let upgraded: { socket: WebSocket; response: Response };
  try {
    upgraded = Deno.upgradeWebSocket(request);
  } catch (error) {
    return Response.json({ detail: `Bad WebSocket handshake: ${(error as Error).message}` }, {
      status: 400,
    });
  }
  const session = new Session(upgraded.socket, service, options);
  upgraded.socket.onopen = () => {
    if (target) session.attach(target.id);
    else session.awaitRequest();
  };
  return upgraded.response;
}

/** One socket: waits for the request (create), then relays the SSE subscription. */
class Session {
  #socket: WebSocket;
  #service: PredictionService;
  #options: WebSocketOptions;
  #reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
  #closed = false;

  constructor(socket: WebSocket, service: PredictionService, options: WebSocketOptions) {
    this.#socket = socket;
    this.#service = service;
    this.#options = options;
    socket.onclose = () => {
      this.#closed = true;
      // Leaving before the end: the SSE subscription's cancel applies its rule.
      this.#reader?.cancel().catch(() => {});
    };
    socket.onerror = () => {};
  }

  #send(event: string, data: string): void {
    if (this.#closed || this.#socket.readyState !== WebSocket.OPEN) return;
    this.#socket.send(`{"event":${JSON.stringify(event)},"data":${data}}`);
  }

  #end(code: number, reason = ""): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#socket.close(code, reason);
    } catch {
      // already closing
    }
  }

  /** Sends an `error` event with `data` and closes. */
  #refuse(data: unknown, code: number): void {
    this.#send("error", JSON.stringify(data));
    this.#end(code);
  }

  awaitRequest(): void {
    const timeout = this.#options.firstMessageTimeoutMs ?? 30_000;
    const timer = setTimeout(() => {
      this.#socket.onmessage = null;
      this.#refuse({ detail: `No request arrived within ${timeout / 1000} s` }, CLOSE.refused);
    }, timeout);
    const closed = this.#socket.onclose;
    this.#socket.onclose = (event) => {
      clearTimeout(timer);
      closed?.call(this.#socket, event);
    };
    this.#socket.onmessage = (event) => {
      clearTimeout(timer);
      this.#socket.onmessage = null; // later messages are ignored
      this.#create(event.data).catch((error) => {
        this.#refuse({ detail: `Internal error: ${(error as Error).message}` }, 1011);
      });
    };
  }

  async #create(message: unknown): Promise<void> {
    if (typeof message !== "string") {
      this.#refuse(
        { detail: "The first message must be text: the JSON body of POST /predictions" },
        CLOSE.refused,
      );
      return;
    }
    let body;
    try {
      body = await readCreateBody(
        new Request("http://websocket/predictions", {
          method: "POST",
          body: message,
          headers: { "content-type": "application/json" },
        }),
        this.#options.bodyLimit,
      );
    } catch (error) {
      if (error instanceof BodyError) {
        this.#refuse({ detail: error.message }, CLOSE.refused);
        return;
      }
      throw error;
    }
    if (this.#closed) return;
    const result = this.#service.create({
      id: body.id ?? null,
      input: (body.input ?? {}) as Record<string, unknown>,
      webhook: body.webhook ?? null,
      webhookEvents: body.webhook_events_filter,
      context: body.context ?? {},
    }, { kind: "prediction", mode: "sse" });
    if (!result.ok) {
      // Busy or not ready: worth trying again later (1013); anything else will not change.
      const retry = result.reason === "busy" || result.reason === "unavailable";
      return this.#refuse(refusalAnswer(result).body, retry ? CLOSE.later : CLOSE.refused);
    }
    this.attach(result.prediction.id);
  }

  /** Relays the prediction's SSE subscription; an ended, retained prediction gets `completed`. */
  attach(id: string): void {
    const stream = this.#service.openEventStream(id);
    if (stream === "not_found") {
      const ended = this.#service.lookup(id);
      if (ended?.isTerminal && ended.kind === "prediction") {
        this.#send("completed", JSON.stringify(ended.toResponse()));
        this.#end(CLOSE.normal);
      } else {
        this.#refuse({ error: MESSAGES.notFound }, CLOSE.refused);
      }
      return;
    }
    if (stream === "too_many") {
      this.#refuse({ error: MESSAGES.tooManySubscribers }, CLOSE.later);
      return;
    }
    if (this.#closed) {
      stream.cancel().catch(() => {});
      return;
    }
    this.#reader = stream.getReader();
    this.#relay(this.#reader).catch(() => this.#end(1011));
  }

  async #relay(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    const high = this.#options.highWaterBytes ?? 8 * 1024 * 1024;
    let pending = "";
    while (!this.#closed) {
      // A slow client: stop reading, so the SSE stream's own lag rule applies.
      while (!this.#closed && this.#socket.bufferedAmount > high) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const { value, done } = await reader.read();
      if (done) break;
      pending += decoder.decode(value, { stream: true });
      let end;
      while ((end = pending.indexOf("\n\n")) !== -1) {
        this.#relayFrame(pending.slice(0, end));
        pending = pending.slice(end + 2);
      }
    }
    this.#end(CLOSE.normal);
  }

  /** One SSE frame (`event: name` + one `data: json` line; comments are keep-alives) as a message. */
  #relayFrame(frame: string): void {
    let event = "";
    let data = "";
    for (const line of frame.split("\n")) {
      if (line.startsWith("event: ")) event = line.slice(7);
      else if (line.startsWith("data: ")) data = line.slice(6);
    }
    if (event && data) this.#send(event, data);
  }
}
