type Slot = "shared" | "reserved";

/**
 * Runs at most `concurrency` of the functions handed to it at a time, in the
 * order they were handed in, except that urgent ones go before every ordinary one
 * waiting; `reservedForUrgent` more slots take urgent ones only (the controller's
 * urgent-only workers).
 */
export function createLimiter(concurrency: number, reservedForUrgent = 0): <T>(task: () => Promise<T>, urgent?: boolean) => Promise<T> {
  const running: Record<Slot, number> = { shared: 0, reserved: 0 };
  const waiting: ((slot: Slot) => void)[] = [];
  const urgentWaiting: ((slot: Slot) => void)[] = [];
  const freeSlot = (urgent: boolean): Slot | undefined => {
    if (running.shared < concurrency) return "shared";
    return urgent && running.reserved < reservedForUrgent ? "reserved" : undefined;
  };
  return async <T>(task: () => Promise<T>, urgent = false): Promise<T> => {
    let slot = freeSlot(urgent);
    if (slot) running[slot] += 1;
    else slot = await new Promise<Slot>((resolve) => (urgent ? urgentWaiting : waiting).push(resolve));
    try {
      return await task();
    } finally {
      // Hand the slot straight to the next waiter it may serve, so a newcomer never jumps the queue.
      const next = urgentWaiting.shift() ?? (slot === "shared" ? waiting.shift() : undefined);
      if (next) next(slot);
      else running[slot] -= 1;
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
