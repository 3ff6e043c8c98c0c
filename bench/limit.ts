/**
 * Runs at most `concurrency` of the functions handed to it at a time, in the
 * order they were handed in, except that urgent ones go before every ordinary one waiting.
 */
export function createLimiter(concurrency: number): <T>(task: () => Promise<T>, urgent?: boolean) => Promise<T> {
  let running = 0;
  const waiting: (() => void)[] = [];
  const urgentWaiting: (() => void)[] = [];
  return async <T>(task: () => Promise<T>, urgent = false): Promise<T> => {
    if (running >= concurrency) await new Promise<void>((resolve) => (urgent ? urgentWaiting : waiting).push(resolve));
    else running += 1;
    try {
      return await task();
    } finally {
      // Hand the slot straight to the next waiter, so `running` never dips and lets a newcomer jump the queue.
      const next = urgentWaiting.shift() ?? waiting.shift();
      if (next) next();
      else running -= 1;
    }
  };
}

/** `work(item)` for every item, `concurrency` at a time; rejects with the first failure after all have settled. */
export async function forEachLimited<T>(items: readonly T[], concurrency: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  const limit = createLimiter(concurrency);
  const results = await Promise.allSettled(items.map((item, index) => limit(() => work(item, index))));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw failed.reason;
}
