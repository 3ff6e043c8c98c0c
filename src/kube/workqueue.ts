/**
 * A controller work queue after client-go's rate-limited workqueue: keys are
 * deduplicated while they wait, a key is never handed to two workers at once,
 * and failing keys come back with per-key exponential backoff.
 */

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): { cancel(): void };
}

export const systemClock: Clock = {
  // Monotonic, so deadlines survive wall-clock jumps.
  now: () => performance.now(),
  setTimeout: (fn, ms) => {
    const handle = setTimeout(fn, ms);
    return { cancel: () => { clearTimeout(handle); } };
  },
};

export interface WorkQueueOptions {
  readonly clock: Clock;
  /** First retry delay of addRateLimited; doubles with each failure. Default 50. */
  readonly baseDelayMs?: number;
  /** Retry delay cap. Default 60_000. */
  readonly maxDelayMs?: number;
  /** Called whenever the number of waiting keys changes, e.g. to feed a gauge. */
  readonly onDepthChange?: (depth: number) => void;
}

export interface WorkQueue {
  /**
   * Queue the key unless it is already waiting; a key being processed is queued again once done.
   * An urgent key is handed out before every ordinary one (a waiting ordinary key is promoted):
   * for events that finish work already under way, which should not wait behind new work.
   */
  add(key: string, urgent?: boolean): void;
  /** Queue the key after a delay; if it is already scheduled, the earlier deadline wins. */
  addAfter(key: string, delayMs: number): void;
  /** Queue the key after base * 2^failures ms (capped), and count one more failure for it. */
  addRateLimited(key: string): void;
  /** Reset the key's failure count, typically after a successful reconcile. */
  forget(key: string): void;
  failures(key: string): number;
  /**
   * The next key, waiting for one if needed; undefined once shut down and drained. Call done(key) after.
   * With urgentOnly, only urgent keys: a worker kept free for them never waits behind ordinary work.
   */
  get(options?: { urgentOnly?: boolean }): Promise<string | undefined>;
  done(key: string): void;
  /** Keys waiting: neither being processed nor delayed. */
  readonly depth: number;
  /** Wake idle getters with undefined and accept no new keys; keys already waiting are still handed out. */
  shutDown(): void;
}

export function createWorkQueue(options: WorkQueueOptions): WorkQueue {
  const { clock, baseDelayMs = 50, maxDelayMs = 60_000, onDepthChange } = options;
  const waiting: string[] = [];
  const urgentWaiting: string[] = [];
  /** Keys that need processing: those waiting, and those re-added while being processed. */
  const dirty = new Set<string>();
  /** Dirty keys to hand out from the urgent lane. */
  const urgent = new Set<string>();
  const processing = new Set<string>();
  const delayed = new Map<string, { deadline: number; timer: { cancel(): void } }>();
  const failureCounts = new Map<string, number>();
  /** Idle getters; an ordinary one only while nothing is waiting, an urgent-only one while no urgent key is. */
  const getters: { resolve: (key: string | undefined) => void; urgentOnly: boolean }[] = [];
  let shuttingDown = false;

  const depth = () => waiting.length + urgentWaiting.length;

  const startProcessing = (key: string): string => {
    dirty.delete(key);
    urgent.delete(key);
    processing.add(key);
    return key;
  };

  /** Hands the key to an idle getter that takes it, if any. */
  const handOut = (key: string): boolean => {
    const index = getters.findIndex((g) => !g.urgentOnly || urgent.has(key));
    const getter = index >= 0 ? getters.splice(index, 1)[0] : undefined;
    getter?.resolve(startProcessing(key));
    return getter !== undefined;
  };

  const enqueue = (key: string): void => {
    if (handOut(key)) return;
    (urgent.has(key) ? urgentWaiting : waiting).push(key);
    onDepthChange?.(depth());
  };

  const add = (key: string, isUrgent = false): void => {
    if (shuttingDown) return;
    if (dirty.has(key)) {
      if (!isUrgent || urgent.has(key)) return;
      urgent.add(key);
      // Promote it if it is waiting in the ordinary lane (not if it is being processed: done() queues it).
      const index = waiting.indexOf(key);
      if (index >= 0) {
        waiting.splice(index, 1);
        enqueue(key);
      }
      return;
    }
    dirty.add(key);
    if (isUrgent) urgent.add(key);
    // A key being processed is only marked; done() queues it, so no second worker picks it up meanwhile.
    if (!processing.has(key)) enqueue(key);
  };

  const addAfter = (key: string, delayMs: number): void => {
    if (shuttingDown) return;
    if (delayMs <= 0) {
      add(key);
      return;
    }
    const deadline = clock.now() + delayMs;
    const scheduled = delayed.get(key);
    if (scheduled && scheduled.deadline <= deadline) return;
    scheduled?.timer.cancel();
    const timer = clock.setTimeout(() => {
      delayed.delete(key);
      add(key);
    }, delayMs);
    delayed.set(key, { deadline, timer });
  };

  return {
    add,
    addAfter,
    addRateLimited(key) {
      const failures = failureCounts.get(key) ?? 0;
      failureCounts.set(key, failures + 1);
      addAfter(key, Math.min(maxDelayMs, baseDelayMs * 2 ** failures));
    },
    forget(key) {
      failureCounts.delete(key);
    },
    failures: (key) => failureCounts.get(key) ?? 0,
    get(options) {
      const urgentOnly = options?.urgentOnly ?? false;
      const key = urgentWaiting.shift() ?? (urgentOnly ? undefined : waiting.shift());
      if (key !== undefined) {
        onDepthChange?.(depth());
        return Promise.resolve(startProcessing(key));
      }
      if (shuttingDown) return Promise.resolve(undefined);
      return new Promise((resolve) => getters.push({ resolve, urgentOnly }));
    },
    done(key) {
      if (processing.delete(key) && dirty.has(key)) enqueue(key);
    },
    get depth() {
      return depth();
    },
    shutDown() {
      shuttingDown = true;
      // Delayed keys would be refused anyway; live timers would only keep the process up.
      for (const { timer } of delayed.values()) timer.cancel();
      delayed.clear();
      for (const getter of getters.splice(0)) getter.resolve(undefined);
    },
  };
}

export interface ReconcileResult {
  /** Reconcile the key again after this many ms (0: as soon as possible). */
  readonly requeueAfterMs?: number;
}

/**
 * Run `count` workers, plus `urgentOnly` more that take only urgent keys, until
 * the queue is shut down and drained. A successful reconcile forgets the key's
 * failures; a throw retries the key with backoff and goes to onError.
 */
export async function runWorkers(
  queue: WorkQueue,
  count: number,
  reconcile: (key: string) => Promise<ReconcileResult>,
  onError: (key: string, error: unknown) => void,
  urgentOnly = 0,
): Promise<void> {
  const work = async (lane: { urgentOnly: boolean }): Promise<void> => {
    for (let key = await queue.get(lane); key !== undefined; key = await queue.get(lane)) {
      try {
        const result = await reconcile(key);
        queue.forget(key);
        if (result.requeueAfterMs !== undefined) queue.addAfter(key, result.requeueAfterMs);
      } catch (error) {
        // Count the failure first, so onError can report queue.failures(key).
        queue.addRateLimited(key);
        onError(key, error);
      } finally {
        queue.done(key);
      }
    }
  };
  await Promise.all([
    ...Array.from({ length: count }, () => work({ urgentOnly: false })),
    ...Array.from({ length: urgentOnly }, () => work({ urgentOnly: true })),
  ]);
}
