// Admission: a new prediction takes a free slot of its runtime (a permit) and
// starts, or waits in the bounded queue (COG_QUEUE_SIZE), or is refused as
// busy. The queue moves whenever a slot is freed or a runtime changes state.

import type { PredictionLifecycle } from "./lifecycle.ts";
import type { Runtime } from "./runtime.ts";
import type { SlotPermit } from "./slots.ts";

/** A prediction waiting for (or given) a slot of its runtime. */
export interface Candidate {
  lifecycle: PredictionLifecycle;
  runtime: Runtime;
}

/** The slots-or-queue decision for every runtime, FIFO per runtime. */
export class Admission {
  #capacity: number;
  #queue: Candidate[] = [];
  #pumping = false;
  #pumpAgain = false;

  /** `capacity`: requests that may wait for a slot (0: Cog's behaviour, 409 when busy). */
  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  /** Requests waiting. */
  get depth(): number {
    return this.#queue.length;
  }

  /** Queue capacity. */
  get capacity(): number {
    return this.#capacity;
  }

  /** True when `runtime` can take a new prediction now or queue it. */
  canAdmit(runtime: Runtime): boolean {
    return runtime.hasFreeSlot() || this.#queue.length < this.#capacity;
  }

  /** Starts the candidate on a free slot, or queues it. Call canAdmit first. */
  admit(candidate: Candidate): "started" | "queued" {
    const permit = takeSlot(candidate);
    if (permit) {
      candidate.lifecycle.start(permit);
      return "started";
    }
    this.#queue.push(candidate);
    return "queued";
  }

  /** Forgets a candidate that settled while queued. */
  remove(lifecycle: PredictionLifecycle): void {
    const index = this.#queue.findIndex((c) => c.lifecycle === lifecycle);
    if (index !== -1) this.#queue.splice(index, 1);
  }

  /** All queued candidates (oldest first). */
  queued(): readonly Candidate[] {
    return this.#queue;
  }

  /**
   * Moves the queue: candidates of a runtime that will never be ready again
   * fail; the oldest candidate whose runtime has a free slot starts, and so on.
   */
  pump(): void {
    // Starting or failing a candidate can free a slot, which pumps again: loop instead of nesting.
    if (this.#pumping) {
      this.#pumpAgain = true;
      return;
    }
    this.#pumping = true;
    try {
      do {
        this.#pumpAgain = false;
        this.#pumpOnce();
      } while (this.#pumpAgain);
    } finally {
      this.#pumping = false;
    }
  }

  #pumpOnce(): void {
    for (const candidate of [...this.#queue]) {
      const state = candidate.runtime.state;
      if (state === "defunct" || state === "setup_failed" || state === "stopped") {
        const why = candidate.runtime.defunctReason ??
          `the ${candidate.runtime.kind} worker is ${state}`;
        this.remove(candidate.lifecycle);
        candidate.lifecycle.abandon(`The prediction could not start: ${why}`);
      }
    }
    for (let i = 0; i < this.#queue.length;) {
      const candidate = this.#queue[i];
      const permit = takeSlot(candidate);
      if (!permit) {
        i++;
        continue;
      }
      this.#queue.splice(i, 1);
      candidate.lifecycle.start(permit);
    }
  }
}

/** A slot of the candidate's runtime, when it is ready and has one free. */
function takeSlot(candidate: Candidate): SlotPermit | null {
  return candidate.runtime.hasFreeSlot()
    ? candidate.runtime.slotPool.tryAcquire(candidate.lifecycle.prediction.id)
    : null;
}
