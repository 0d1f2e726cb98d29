// Time with cancel: a timeout signal that can be cleared, and a sleep that
// ends early on abort. (AbortSignal.timeout() keeps its timer
// (and everything the aborted-on-timeout fetch holds) alive for the whole
// timeout even after the request finished: at hundreds of webhooks a second
// with a 30 s timeout that is tens of MiB held for nothing.)

/** A signal that aborts after `ms` (or with `parent`), and its cleanup. */
export interface Deadline {
  readonly signal: AbortSignal;
  /** True once the timeout (not the parent) fired. */
  readonly timedOut: boolean;
  /** Stops the timer and unhooks from the parent; call in a finally. */
  clear(): void;
}

/** Starts a deadline of `ms`, also aborting when `parent` aborts. */
export function deadline(ms: number, parent?: AbortSignal): Deadline {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new DOMException(`timed out after ${ms / 1000} s`, "TimeoutError"));
  }, ms);
  const onParent = () => controller.abort(parent?.reason);
  if (parent?.aborted) onParent();
  else parent?.addEventListener("abort", onParent, { once: true });
  return {
    signal: controller.signal,
    get timedOut() {
      return timedOut;
    },
    clear() {
      clearTimeout(timer);
      parent?.removeEventListener("abort", onParent);
    },
  };
}

/** Waits `ms`, or less when `signal` aborts (it resolves either way, never rejects). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
