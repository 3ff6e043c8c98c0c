import type { V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { SCHEDULING_GATE } from "../api/names.ts";
import { podCensus, podStanding } from "./census.ts";

const NOW = Date.parse("2026-11-25T12:00:00Z");
const pod = (ageSeconds: number, extra: { gated?: boolean; phase?: string; deleting?: boolean } = {}): V1Pod => ({
  metadata: {
    creationTimestamp: new Date(NOW - ageSeconds * 1000),
    ...(extra.deleting ? { deletionTimestamp: new Date(NOW) } : {}),
  },
  spec: { containers: [], ...(extra.gated ? { schedulingGates: [{ name: SCHEDULING_GATE }] } : {}) },
  ...(extra.phase ? { status: { phase: extra.phase } } : {}),
});

describe("the pod census", () => {
  it("names where a pod stands: gated, its own phase once released, terminating above both", () => {
    expect(podStanding(pod(1, { gated: true, phase: "Pending" }))).toBe("WaitingForVM");
    expect(podStanding(pod(1, { phase: "Running" }))).toBe("Running");
    expect(podStanding(pod(1, { gated: true, deleting: true }))).toBe("Terminating");
    expect(podStanding(pod(1))).toBe("Unknown");
  });

  it("counts pods by standing and ages only the gated ones", () => {
    const census = podCensus([pod(700, { phase: "Running" }), pod(30, { gated: true }), pod(90, { gated: true }), pod(5000, { gated: true, deleting: true })], NOW);
    expect(census.byStanding).toEqual({ Running: 1, WaitingForVM: 2, Terminating: 1 });
    expect(census.oldestGatedSeconds).toBe(90);
  });

  it("reports no wait at all when nothing is gated", () => {
    expect(podCensus([], NOW)).toEqual({ byStanding: {}, oldestGatedSeconds: 0 });
  });
});
