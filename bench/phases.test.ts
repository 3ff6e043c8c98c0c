import { describe, expect, it } from "vitest";
import { CLAIM_PHASES, markFirst, phaseSummaries, stepCounts, wallTimeMs, type PodTimeline } from "./phases.ts";

const complete = (offset: number): PodTimeline => ({
  createSent: offset,
  gated: offset + 5,
  vmiCreated: offset + 20,
  vmiRunning: offset + 40,
  nodeRegistered: offset + 140,
  nodeReady: offset + 200,
  ungated: offset + 230,
  bound: offset + 260,
  running: offset + 300,
});

describe("markFirst", () => {
  it("keeps the first sighting", () => {
    const timeline: PodTimeline = {};
    markFirst(timeline, "ungated", 10);
    markFirst(timeline, "ungated", 20);
    expect(timeline.ungated).toBe(10);
  });
});

describe("phaseSummaries", () => {
  it("measures each phase between its two steps", () => {
    const summaries = phaseSummaries([complete(0), complete(1000)]);
    expect(summaries.createToGated.p99).toBe(5);
    expect(summaries.vmiRunningToNodeRegistered.p50).toBe(100);
    expect(summaries.nodeReadyToUngated.max).toBe(30);
    expect(summaries.createToRunning).toEqual({ count: 2, p50: 300, p95: 300, p99: 300, max: 300 });
  });
  it("measures a claimed pod's phases from its claim", () => {
    const claimed: PodTimeline = { createSent: 0, gated: 4, claimed: 30, ungated: 90, bound: 120, running: 400 };
    const summaries = phaseSummaries([claimed, complete(0)], CLAIM_PHASES);
    expect(Object.keys(summaries)).toEqual(CLAIM_PHASES.map((p) => p.name));
    expect(summaries.gatedToClaimed).toEqual({ count: 1, p50: 26, p95: 26, p99: 26, max: 26 });
    expect(summaries.claimedToUngated.p50).toBe(60);
    expect(summaries.createToRunning.count).toBe(2);
  });
  it("skips pods that did not reach both steps of a phase", () => {
    const summaries = phaseSummaries([complete(0), { createSent: 0, gated: 9 }]);
    expect(summaries.createToGated.count).toBe(2);
    expect(summaries.createToRunning.count).toBe(1);
  });
});

describe("wallTimeMs", () => {
  it("runs from the first create to the last Running", () => {
    expect(wallTimeMs([complete(0), complete(1000)])).toBe(1300);
  });
  it("is undefined while a pod is not Running", () => {
    expect(wallTimeMs([complete(0), { createSent: 3 }])).toBeUndefined();
    expect(wallTimeMs([])).toBeUndefined();
  });
});

describe("stepCounts", () => {
  it("counts the pods that reached each step", () => {
    expect(stepCounts([complete(0), { createSent: 1, gated: 2, vmiCreated: 3 }])).toBe(
      "createSent 2, gated 2, vmiCreated 2, vmiRunning 1, nodeRegistered 1, nodeReady 1, claimed 0, ungated 1, bound 1, running 1",
    );
  });
});
