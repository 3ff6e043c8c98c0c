import { describe, expect, it } from "vitest";
import { createWorkQueue, runWorkers, type Clock, type ReconcileResult, type WorkQueue, type WorkQueueOptions } from "./workqueue.ts";

/** A clock whose timers fire only when the test advances it. */
function createFakeClock(): Clock & { advance(ms: number): void; readonly pendingTimers: number } {
  let now = 0;
  let timers: { at: number; fn: () => void }[] = [];
  return {
    now: () => now,
    setTimeout(fn, ms) {
      const timer = { at: now + ms, fn };
      timers.push(timer);
      return { cancel: () => { timers = timers.filter((t) => t !== timer); } };
    },
    advance(ms) {
      const until = now + ms;
      for (;;) {
        const due = timers.filter((t) => t.at <= until).sort((a, b) => a.at - b.at)[0];
        if (!due) break;
        timers = timers.filter((t) => t !== due);
        now = due.at;
        due.fn();
      }
      now = until;
    },
    get pendingTimers() {
      return timers.length;
    },
  };
}

function setup(options: Partial<WorkQueueOptions> = {}) {
  const clock = createFakeClock();
  return { clock, queue: createWorkQueue({ clock, ...options }) };
}

/** Let every pending promise callback run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

async function take(queue: WorkQueue, count: number): Promise<(string | undefined)[]> {
  const keys = [];
  for (let i = 0; i < count; i++) keys.push(await queue.get());
  return keys;
}

describe("createWorkQueue", () => {
  it("queues a waiting key once and hands keys out first in, first out", async () => {
    const { queue } = setup();
    for (const key of ["b", "a", "b", "c", "a"]) queue.add(key);

    expect(queue.depth).toBe(3);
    expect(await take(queue, 3)).toEqual(["b", "a", "c"]);
  });

  it("makes get wait for the next key when nothing is waiting", async () => {
    const { queue } = setup();
    const next = queue.get();
    queue.add("a");

    expect(await next).toBe("a");
    expect(queue.depth).toBe(0);
  });

  it("holds a key re-added while processing until done, then queues it behind the others", async () => {
    const { queue } = setup();
    queue.add("a");
    expect(await queue.get()).toBe("a");

    queue.add("a");
    queue.add("b");
    expect(queue.depth).toBe(1);
    expect(await queue.get()).toBe("b");

    queue.done("a");
    expect(await queue.get()).toBe("a");
  });

  it("hands urgent keys out before ordinary ones, promoting a waiting ordinary key", async () => {
    const { queue } = setup();
    for (const key of ["a", "b", "c"]) queue.add(key);
    queue.add("c", true);
    queue.add("d", true);
    queue.add("c", true);

    expect(queue.depth).toBe(4);
    expect(await take(queue, 4)).toEqual(["c", "d", "a", "b"]);
  });

  it("queues a key made urgent while processing in the urgent lane once done", async () => {
    const { queue } = setup();
    queue.add("a");
    expect(await queue.get()).toBe("a");
    queue.add("b");
    queue.add("a", true);

    queue.done("a");
    expect(await take(queue, 2)).toEqual(["a", "b"]);
  });

  it("gives an urgent-only getter urgent keys alone, including one promoted while it waits", async () => {
    const { queue } = setup();
    queue.add("a");
    const urgentGetter = queue.get({ urgentOnly: true });
    queue.add("b");
    let handed: string | undefined;
    void urgentGetter.then((key) => { handed = key; });
    await settle();
    expect(handed).toBeUndefined();

    queue.add("b", true);
    await settle();
    expect(handed).toBe("b");
    expect(await queue.get()).toBe("a");
  });

  it("hands a new urgent key to a waiting urgent-only getter, an ordinary one to an ordinary getter", async () => {
    const { queue } = setup();
    const urgentGetter = queue.get({ urgentOnly: true });
    const ordinaryGetter = queue.get();
    queue.add("a");
    queue.add("b", true);
    expect(await ordinaryGetter).toBe("a");
    expect(await urgentGetter).toBe("b");
  });

  it("reports depth changes of waiting keys only", async () => {
    const depths: number[] = [];
    const { queue } = setup({ onDepthChange: (depth) => depths.push(depth) });
    queue.add("a");
    queue.add("b");
    queue.add("a");
    await queue.get();
    queue.add("a"); // processing: marked, not waiting
    expect(depths).toEqual([1, 2, 1]);

    queue.done("a");
    expect(depths).toEqual([1, 2, 1, 2]);
    expect(queue.depth).toBe(2);
  });

  it("queues a delayed key when its timer fires", () => {
    const { queue, clock } = setup();
    queue.addAfter("a", 100);
    clock.advance(99);
    expect(queue.depth).toBe(0);

    clock.advance(1);
    expect(queue.depth).toBe(1);
  });

  it("queues a key delayed by 0 at once", () => {
    const { queue } = setup();
    queue.addAfter("a", 0);
    expect(queue.depth).toBe(1);
  });

  it.each([
    ["an earlier request replaces the later", 100, 30, 40],
    ["a later request is ignored", 30, 100, 30],
  ])("keeps the earliest deadline of a delayed key: %s", (_name, firstMs, secondMsLater, queuedAtMs) => {
    const { queue, clock } = setup();
    queue.addAfter("a", firstMs);
    clock.advance(10);
    queue.addAfter("a", secondMsLater);
    expect(clock.pendingTimers).toBe(1);

    clock.advance(queuedAtMs - 11);
    expect(queue.depth).toBe(0);
    clock.advance(1);
    expect(queue.depth).toBe(1);
    expect(clock.pendingTimers).toBe(0);
  });

  it("backs off per key from 50 ms, doubling up to the cap, until forgotten", async () => {
    const { queue, clock } = setup({ maxDelayMs: 300 });
    const expectQueuedAfter = async (key: string, ms: number) => {
      queue.addRateLimited(key);
      clock.advance(ms - 1);
      expect(queue.depth).toBe(0);
      clock.advance(1);
      expect(await queue.get()).toBe(key);
      queue.done(key);
    };

    for (const ms of [50, 100, 200, 300, 300]) await expectQueuedAfter("a", ms);
    expect(queue.failures("a")).toBe(5);
    await expectQueuedAfter("b", 50);

    queue.forget("a");
    expect(queue.failures("a")).toBe(0);
    await expectQueuedAfter("a", 50);
  });

  it("caps the backoff at 60 s by default", async () => {
    const { queue, clock } = setup();
    for (let i = 0; i < 20; i++) {
      queue.addRateLimited("a");
      clock.advance(60_000);
      expect(await queue.get()).toBe("a");
      queue.done("a");
    }
    queue.addRateLimited("a");
    clock.advance(59_999);
    expect(queue.depth).toBe(0);
    clock.advance(1);
    expect(queue.depth).toBe(1);
  });

  it("counts every rate-limited request as a failure, keeping the earliest deadline", () => {
    const { queue, clock } = setup();
    for (let i = 0; i < 3; i++) queue.addRateLimited("a");
    expect(queue.failures("a")).toBe(3);
    clock.advance(50);
    expect(queue.depth).toBe(1);
  });

  it("on shutDown wakes idle getters, drops delayed keys and refuses new ones, but drains waiting keys", async () => {
    const { queue } = setup();
    const idle = queue.get();
    queue.shutDown();
    expect(await idle).toBeUndefined();

    const { queue: draining, clock } = setup();
    draining.add("a");
    draining.addAfter("b", 10);
    draining.shutDown();
    expect(clock.pendingTimers).toBe(0); // a live timer would keep the process up
    draining.add("c");
    clock.advance(10);

    expect(await take(draining, 2)).toEqual(["a", undefined]);
  });
});

describe("runWorkers", () => {
  function deferred(): { promise: Promise<void>; resolve: () => void } {
    let resolve = () => {};
    const promise = new Promise<void>((r) => { resolve = r; });
    return { promise, resolve };
  }

  it("never runs one key on two workers; a key re-added meanwhile runs again after", async () => {
    const { queue } = setup();
    const started: string[] = [];
    const active = new Set<string>();
    let overlapped = false;
    const firstRunOfA = deferred();
    const reconcile = async (key: string): Promise<ReconcileResult> => {
      if (active.has(key)) overlapped = true;
      active.add(key);
      started.push(key);
      if (started.length === 1) await firstRunOfA.promise;
      active.delete(key);
      return {};
    };
    queue.add("a");
    const running = runWorkers(queue, 4, reconcile, () => {});
    await settle();

    queue.add("a");
    queue.add("b");
    queue.add("a");
    await settle();
    expect(started).toEqual(["a", "b"]);

    firstRunOfA.resolve();
    await settle();
    expect(started).toEqual(["a", "b", "a"]);
    expect(overlapped).toBe(false);

    queue.shutDown();
    await running;
  });

  it("keeps the urgent-only workers for urgent keys while every ordinary worker is busy", async () => {
    const { queue } = setup();
    const started: string[] = [];
    const blocked = deferred();
    const reconcile = async (key: string): Promise<ReconcileResult> => {
      started.push(key);
      if (key.startsWith("launch")) await blocked.promise;
      return {};
    };
    for (const key of ["launch-1", "launch-2", "launch-3"]) queue.add(key);
    const running = runWorkers(queue, 2, reconcile, () => {}, 1);
    await settle();
    expect(started).toEqual(["launch-1", "launch-2"]);

    queue.add("release", true);
    await settle();
    expect(started).toEqual(["launch-1", "launch-2", "release"]);

    blocked.resolve();
    await settle();
    expect(started).toContain("launch-3");
    queue.shutDown();
    await running;
  });

  it("requeues a key after requeueAfterMs", async () => {
    const { queue, clock } = setup();
    const started: number[] = [];
    const reconcile = () => {
      started.push(clock.now());
      return Promise.resolve(started.length === 1 ? { requeueAfterMs: 1_000 } : {});
    };
    queue.add("a");
    const running = runWorkers(queue, 1, reconcile, () => {});
    await settle();
    clock.advance(1_000);
    await settle();

    expect(started).toEqual([0, 1_000]);
    queue.shutDown();
    await running;
  });

  it("reports errors and retries with backoff; success forgets the failures", async () => {
    const { queue, clock } = setup();
    const errors: [string, unknown, number][] = [];
    let attempts = 0;
    const reconcile = () => (++attempts <= 2 ? Promise.reject(new Error(`attempt ${attempts}`)) : Promise.resolve({}));
    queue.add("a");
    const running = runWorkers(queue, 2, reconcile, (key, error) => errors.push([key, error, queue.failures(key)]));
    await settle();
    expect(errors).toEqual([["a", new Error("attempt 1"), 1]]);

    clock.advance(49);
    await settle();
    expect(attempts).toBe(1);
    clock.advance(1);
    await settle();
    expect(errors.at(-1)).toEqual(["a", new Error("attempt 2"), 2]);

    clock.advance(100);
    await settle();
    expect(attempts).toBe(3);
    expect(queue.failures("a")).toBe(0);

    queue.shutDown();
    await running;
  });

  it("resolves once shut down with every worker idle", async () => {
    const { queue } = setup();
    let finished = false;
    const running = runWorkers(queue, 3, () => Promise.resolve({}), () => {}).then(() => { finished = true; });
    await settle();
    expect(finished).toBe(false);

    queue.shutDown();
    await running;
    expect(finished).toBe(true);
  });
});
