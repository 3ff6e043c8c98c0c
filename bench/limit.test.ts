import { describe, expect, it } from "vitest";
import { createLimiter, forEachLimited } from "./limit.ts";

const tick = () => new Promise((resolve) => setTimeout(resolve, 1));

describe("createLimiter", () => {
  it("never runs more than its limit at once and runs tasks in order", async () => {
    const limit = createLimiter(2);
    let running = 0;
    let peak = 0;
    const started: number[] = [];
    await Promise.all(Array.from({ length: 6 }, (_, i) => limit(async () => {
      started.push(i);
      running += 1;
      peak = Math.max(peak, running);
      await tick();
      running -= 1;
    })));
    expect(peak).toBe(2);
    expect(started).toEqual([0, 1, 2, 3, 4, 5]);
  });
  it("runs urgent tasks in the reserved slots while ordinary ones fill the shared ones", async () => {
    const limit = createLimiter(1, 1);
    const started: string[] = [];
    let release = () => {};
    const blocked = new Promise<void>((resolve) => { release = resolve; });
    const ordinary = [limit(async () => { started.push("ordinary-1"); await blocked; }), limit(async () => { started.push("ordinary-2"); await tick(); })];
    await tick();
    await limit(async () => { started.push("urgent"); await tick(); }, true);
    expect(started).toEqual(["ordinary-1", "urgent"]);
    release();
    await Promise.all(ordinary);
    expect(started).toEqual(["ordinary-1", "urgent", "ordinary-2"]);
  });

  it("starts urgent tasks before ordinary ones that wait", async () => {
    const limit = createLimiter(1);
    const started: string[] = [];
    const task = (name: string) => async () => {
      started.push(name);
      await tick();
    };
    await Promise.all([limit(task("first")), limit(task("ordinary")), limit(task("urgent"), true)]);
    expect(started).toEqual(["first", "urgent", "ordinary"]);
  });
  it("frees the slot of a task that failed", async () => {
    const limit = createLimiter(1);
    await expect(limit(() => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    await expect(limit(() => Promise.resolve(7))).resolves.toBe(7);
  });
});

describe("forEachLimited", () => {
  it("does every item, then reports the first failure", async () => {
    const done: number[] = [];
    await expect(forEachLimited([1, 2, 3], 2, async (item) => {
      await tick();
      if (item === 2) throw new Error("two");
      done.push(item);
    })).rejects.toThrow("two");
    expect(done.sort()).toEqual([1, 3]);
  });
});
