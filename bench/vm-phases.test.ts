import type { CoreV1Event, V1Pod } from "@kubernetes/client-node";
import type { V1VirtualMachineInstance } from "@kubevirt-ui-ext/kubevirt-api/kubevirt";
import { describe, expect, it } from "vitest";
import { POD_CONDITIONS, REASONS } from "../src/api/conditions.ts";
import { BOOT_TIMELINE_ANNOTATION } from "../src/qemu/constants.ts";
import { claimOf, podPhases, stepTimes, summarizeRun, type PodObservation } from "./vm-phases.ts";

const T0 = Date.parse("2026-12-02T10:00:00.000Z");
const at = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();

const vmi: V1VirtualMachineInstance = {
  spec: { domain: { devices: {} } },
  metadata: { name: "marooned-u1", creationTimestamp: at(1), annotations: {
    [BOOT_TIMELINE_ANNOTATION]: JSON.stringify({ kernelStarted: at(8), joinStarted: at(70), joinDone: at(106) }),
  } },
  status: { phaseTransitionTimestamps: [{ phase: "Pending", phaseTransitionTimestamp: at(0.6) }, { phase: "Scheduled", phaseTransitionTimestamp: at(2.5) }] },
};

const coldPod: V1Pod = {
  metadata: { name: "cold-1", creationTimestamp: new Date(T0) },
  status: {
    conditions: [{ type: "PodScheduled", status: "True", lastTransitionTime: new Date(at(121)) }],
    containerStatuses: [{ name: "main", image: "", imageID: "", ready: true, restartCount: 0, state: { running: { startedAt: new Date(at(123)) } } }],
  },
};

const cold: PodObservation = {
  seen: { createSent: T0 - 200, gated: T0 + 100, vmiCreated: T0 + 400, nodeRegistered: T0 + 110_000, nodeReady: T0 + 120_000, ungated: T0 + 120_300, bound: T0 + 120_350, running: T0 + 124_000 },
  pod: coldPod,
  vmi,
  node: { metadata: { creationTimestamp: new Date(at(110)) }, status: { conditions: [{ type: "Ready", status: "True", lastTransitionTime: new Date(at(120)) }] } },
  events: [],
};

describe("stepTimes", () => {
  it("takes the benchmark's stamps and the runtime's ms times before 1 s API timestamps", () => {
    const steps = stepTimes("cold", cold);
    expect(steps.podCreated).toEqual({ at: T0 + 100, source: "bench" });
    expect(steps.vmiCreated).toEqual({ at: T0 + 400, source: "bench" });
    expect(steps.qemuStarted).toEqual({ at: T0 + 2_500, source: "runtime" });
    expect(steps.joinDone).toEqual({ at: T0 + 106_000, source: "runtime" });
    expect(steps.released).toEqual({ at: T0 + 120_300, source: "bench" });
    expect(steps.containerStarted).toEqual({ at: T0 + 123_000, source: "api" });
  });

  it("falls back to the Event's eventTime, then its firstTimestamp for the release; to the PodScheduled condition for the binding", () => {
    const noWatch = { ...cold, seen: { createSent: T0 } };
    expect(stepTimes("cold", noWatch).released).toBeUndefined();
    expect(stepTimes("cold", noWatch).bound).toEqual({ at: T0 + 121_000, source: "api" });
    const event = (fields: Partial<CoreV1Event>): CoreV1Event => ({ metadata: {}, involvedObject: {}, reason: REASONS.PodReleased, ...fields });
    expect(stepTimes("cold", { ...noWatch, events: [event({ firstTimestamp: new Date(at(120)) })] }).released).toEqual({ at: T0 + 120_000, source: "event" });
    expect(stepTimes("cold", { ...noWatch, events: [event({ eventTime: new Date(T0 + 120_123) })] }).released).toEqual({ at: T0 + 120_123, source: "eventTime" });
    expect(stepTimes("cold", noWatch).nodeReady).toEqual({ at: T0 + 120_000, source: "api" });
  });
});

describe("podPhases", () => {
  it("gives the intervals in boot order and the controller's share of create → Running", () => {
    const phases = podPhases("cold-1", "cold", cold);
    expect(phases.intervals.map((i) => [i.from, i.to, i.ms])).toEqual([
      ["createSent", "podCreated", 300], ["podCreated", "vmiCreated", 300], ["vmiCreated", "qemuStarted", 2_100],
      ["qemuStarted", "kernelStarted", 5_500], ["kernelStarted", "joinStarted", 62_000], ["joinStarted", "joinDone", 36_000],
      ["joinDone", "nodeCreated", 4_000], ["nodeCreated", "nodeReady", 10_000], ["nodeReady", "released", 300],
      ["released", "bound", 50], ["bound", "containerStarted", 2_650], ["containerStarted", "running", 1_000],
    ]);
    expect(phases.createToRunningMs).toBe(124_200);
    expect(phases.controllerMs).toBe(600);
    expect(phases.controllerShare).toBeCloseTo(600 / 124_200);
    expect(phases.claim).toEqual({ claimed: false });
  });

  it("lists the pod's Events oldest first, each at its most precise time", () => {
    const events: CoreV1Event[] = [
      { metadata: {}, involvedObject: {}, reason: "Started", source: { component: "kubelet" }, firstTimestamp: new Date(at(123)) },
      { metadata: {}, involvedObject: {}, reason: "Scheduled", reportingComponent: "default-scheduler", eventTime: new Date(T0 + 120_345) },
    ];
    expect(podPhases("cold-1", "cold", { ...cold, events }).events).toEqual([
      { at: new Date(T0 + 120_345).toISOString(), reason: "Scheduled", from: "default-scheduler", message: undefined },
      { at: at(123), reason: "Started", from: "kubelet", message: undefined },
    ]);
  });

  it("for a claimed pod: created → claimed → released, all of it the controller's", () => {
    const pod: V1Pod = { ...coldPod, status: { ...coldPod.status, conditions: [
      { type: POD_CONDITIONS.WarmPool, status: "True", reason: REASONS.WarmVMClaimed, message: "claimed warm pool VM marooned-pool-abc", lastTransitionTime: new Date(at(1)) },
    ] } };
    const warm: PodObservation = { seen: { createSent: T0 - 100, gated: T0, vmiCreated: T0 + 150, ungated: T0 + 600, bound: T0 + 650, running: T0 + 1_900 }, pod, events: [] };
    const phases = podPhases("warm-1", "warm", warm);
    expect(phases.intervals.map((i) => i.to)).toEqual(["podCreated", "claimed", "released", "bound", "containerStarted", "running"]);
    expect(phases.events).toEqual([]);
    expect(phases.controllerMs).toBe(600);
    expect(phases.createToRunningMs).toBe(2_000);
    expect(phases.claim).toEqual({ claimed: true, reason: REASONS.WarmVMClaimed, vm: "marooned-pool-abc" });
  });

  it("has no controller share while a step is missing", () => {
    const phases = podPhases("cold-1", "cold", { ...cold, seen: { createSent: T0 }, vmi: undefined });
    expect(phases.controllerMs).toBeUndefined();
    expect(phases.controllerShare).toBeUndefined();
  });
});

describe("claimOf", () => {
  it("reads a miss from the condition, and a claim from the Event when the condition is absent", () => {
    const missed: V1Pod = { status: { conditions: [{ type: POD_CONDITIONS.WarmPool, status: "False", reason: REASONS.WarmPoolEmpty }] } };
    expect(claimOf(missed, [])).toEqual({ claimed: false, reason: REASONS.WarmPoolEmpty });
    const event: CoreV1Event = { metadata: {}, involvedObject: {}, reason: REASONS.WarmVMClaimed, message: "claimed warm pool VM marooned-pool-x" };
    expect(claimOf({}, [event])).toEqual({ claimed: true, reason: REASONS.WarmVMClaimed, vm: "marooned-pool-x" });
  });
});

describe("summarizeRun", () => {
  it("summarizes per interval and keeps the largest share", () => {
    const a = podPhases("a", "cold", cold);
    const b = podPhases("b", "cold", { ...cold, seen: { ...cold.seen, ungated: T0 + 121_000 } });
    const summary = summarizeRun([a, b]);
    expect(summary.pods).toBe(2);
    expect(summary.intervals["node Ready → pod released (gate removed)"]).toMatchObject({ count: 2, p50: 300, max: 1_000 });
    expect(summary.controllerShareMax).toBeCloseTo(1_300 / 124_200);
    expect(summary.claimed).toBe(0);
  });
});
