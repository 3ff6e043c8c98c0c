import { describe, expect, it } from "vitest";
import { createRepeatFilter, REPEAT_WINDOW_MS } from "./events.ts";

describe("createRepeatFilter", () => {
  it("lets an Event through once per window, by the injected clock", () => {
    let now = 0;
    const isRepeat = createRepeatFilter(() => now);
    expect(isRepeat("pod-a NodeNotReady")).toBe(false);
    expect(isRepeat("pod-a NodeNotReady")).toBe(true);
    expect(isRepeat("pod-b NodeNotReady")).toBe(false);
    now += REPEAT_WINDOW_MS - 1;
    expect(isRepeat("pod-a NodeNotReady")).toBe(true);
    now += 1;
    expect(isRepeat("pod-a NodeNotReady")).toBe(false);
    expect(isRepeat("pod-a NodeNotReady")).toBe(true);
  });

  it("forgets the oldest first when it remembers too many", () => {
    const isRepeat = createRepeatFilter(() => 0);
    for (let i = 0; i <= 10_000; i++) isRepeat(`event ${i}`);
    expect(isRepeat("event 0")).toBe(false);
    expect(isRepeat("event 10000")).toBe(true);
  });
});
