import { describe, expect, it } from "vitest";
import { BootSlots } from "./boot-slots.ts";

describe("BootSlots", () => {
  it("grants up to max at once and queues the rest in order", () => {
    const slots = new BootSlots(2);
    expect([slots.request("a"), slots.request("b"), slots.request("c"), slots.request("d")]).toEqual([true, true, false, false]);
    expect([slots.waitingAt("c"), slots.waitingAt("d"), slots.waitingAt("a")]).toEqual([1, 2, 0]);
    expect(slots.release("a")).toEqual(["c"]);
    expect(slots.release("b")).toEqual(["d"]);
  });

  it("lets a queued key leave the line without taking anyone's slot", () => {
    const slots = new BootSlots(1);
    slots.request("a");
    slots.request("b");
    slots.request("c");
    expect(slots.release("b")).toEqual([]);
    expect(slots.release("a")).toEqual(["c"]);
  });

  it("is idempotent: a second request or release changes nothing", () => {
    const slots = new BootSlots(1);
    expect(slots.request("a")).toBe(true);
    expect(slots.request("a")).toBe(true);
    slots.request("b");
    expect(slots.release("a")).toEqual(["b"]);
    expect(slots.release("a")).toEqual([]);
  });

  it("refuses a max below one", () => {
    expect(() => new BootSlots(0)).toThrow(/≥ 1/);
  });
});
