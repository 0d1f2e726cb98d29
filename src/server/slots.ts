// Prediction slots as permits: a slot is taken by acquiring a permit and given
// back by releasing it, once. A second release is a no-op, so no exit path can
// free someone else's slot or free one twice.

/** One taken slot. */
export class SlotPermit {
  readonly id: string;
  #pool: SlotPool;
  #released = false;

  constructor(pool: SlotPool, id: string) {
    this.#pool = pool;
    this.id = id;
  }

  /** True once released. */
  get released(): boolean {
    return this.#released;
  }

  /** Gives the slot back; returns false (and does nothing) when already released. */
  release(): boolean {
    if (this.#released) return false;
    this.#released = true;
    this.#pool._return(this);
    return true;
  }
}

/** A fixed number of slots handed out as permits. */
export class SlotPool {
  #capacity: number;
  #held = new Set<SlotPermit>();
  #onRelease: () => void;

  /** `onRelease` runs after every real release (the queue is pumped there). */
  constructor(capacity: number, onRelease: () => void = () => {}) {
    this.#capacity = capacity;
    this.#onRelease = onRelease;
  }

  /** Slots in total. */
  get capacity(): number {
    return this.#capacity;
  }

  /** Changes the number of slots (the worker reported its concurrency); held permits stay valid. */
  set capacity(value: number) {
    this.#capacity = value;
  }

  /** Permits held. */
  get active(): number {
    return this.#held.size;
  }

  /** True when a permit can be taken. */
  get hasFree(): boolean {
    return this.#held.size < this.#capacity;
  }

  /** A permit for `id`, or null when every slot is taken. */
  tryAcquire(id: string): SlotPermit | null {
    if (!this.hasFree) return null;
    const permit = new SlotPermit(this, id);
    this.#held.add(permit);
    return permit;
  }

  /** @internal Called by SlotPermit.release only. */
  _return(permit: SlotPermit): void {
    if (this.#held.delete(permit)) this.#onRelease();
  }
}
