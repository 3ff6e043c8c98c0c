/**
 * The arithmetic of `npm run bench:vm`, kept pure: when each step of one marooned pod on a real VM happened, from
 * plain API objects and the benchmark's own stamps, the intervals between them, and the controller's share.
 */
import type { CoreV1Event, V1Node, V1Pod } from "@kubernetes/client-node";
import type { V1VirtualMachineInstance } from "@kubevirt-ui-ext/kubevirt-api/kubevirt";
import { POD_CONDITIONS, REASONS } from "../src/api/conditions.ts";
import { BOOT_TIMELINE_ANNOTATION } from "../src/qemu/constants.ts";
import type { PodTimeline } from "./phases.ts";
import { summarize, type Summary } from "./stats.ts";

/** Where a step's time came from, most precise first. */
export const SOURCES = {
  bench: "the benchmark's clock: the create call, or the watch event's arrival (ms)",
  runtime: "the QEMU runtime: VMI phaseTransitionTimestamps or the boot-timeline annotation from the serial log (ms)",
  eventTime: "the controller's Event, eventTime (µs)",
  event: "the controller's Event, firstTimestamp (1 s)",
  api: "an API timestamp: creationTimestamp, a condition's lastTransitionTime, startedAt (1 s)",
} as const;
export type Source = keyof typeof SOURCES;

export type PodKind = "cold" | "warm";

export const STEP_LABELS = {
  createSent: "create sent",
  podCreated: "pod created",
  vmiCreated: "VMI created",
  qemuStarted: "QEMU started (VMI Scheduled)",
  kernelStarted: "kernel started",
  joinStarted: "join started",
  joinDone: "join done",
  nodeCreated: "Node created (kubelet registered)",
  nodeReady: "node Ready",
  claimed: "pool VM claimed",
  released: "pod released (gate removed)",
  bound: "pod bound (scheduler)",
  containerStarted: "container started",
  running: "Running",
} as const;
export type StepName = keyof typeof STEP_LABELS;

/** The steps of a pod, in order: one that launched its own VM (cold), one that claimed a warm pool VM (warm). */
export const STEPS: Record<PodKind, readonly StepName[]> = {
  cold: ["createSent", "podCreated", "vmiCreated", "qemuStarted", "kernelStarted", "joinStarted", "joinDone", "nodeCreated", "nodeReady", "released", "bound", "containerStarted", "running"],
  warm: ["createSent", "podCreated", "claimed", "released", "bound", "containerStarted", "running"],
};

/** Where the controller, not the VM, is what the pod waits on: each interval is from one step to the next. */
export const CONTROLLER_INTERVALS: Record<PodKind, readonly (readonly [StepName, StepName])[]> = {
  cold: [["podCreated", "vmiCreated"], ["nodeReady", "released"]],
  warm: [["podCreated", "released"]],
};

/** Everything read about one pod once it ran. */
export interface PodObservation {
  /** The benchmark's stamps, ms since the epoch (Date.now()): createSent, gated (the create answered), watch events. */
  readonly seen: PodTimeline;
  readonly pod: V1Pod;
  readonly vmi?: V1VirtualMachineInstance;
  readonly node?: V1Node;
  /** The Events about the pod. */
  readonly events: readonly CoreV1Event[];
}

export interface StepTime {
  /** ms since the epoch. */
  readonly at: number;
  readonly source: Source;
}

export interface Interval {
  readonly from: StepName;
  readonly to: StepName;
  readonly label: string;
  readonly ms: number;
}

export interface PodPhases {
  readonly name: string;
  readonly kind: PodKind;
  readonly steps: Partial<Record<StepName, StepTime>>;
  /** Between consecutive steps that were both seen. */
  readonly intervals: readonly Interval[];
  readonly createToRunningMs: number | undefined;
  readonly controllerMs: number | undefined;
  /** controllerMs / createToRunningMs. */
  readonly controllerShare: number | undefined;
  /** The Events about the pod (the controller's, the scheduler's, the kubelet's), oldest first: where a long interval went. */
  readonly events: readonly { readonly at: string | undefined; readonly reason: string | undefined; readonly from: string | undefined; readonly message: string | undefined }[];
  /** Whether the pod says it took a warm pool VM (its WarmPool condition, else a WarmVMClaimed Event), and which. */
  readonly claim: { readonly claimed: boolean; readonly vm?: string; readonly reason?: string };
}

type Time = string | Date | undefined | null;
const ms = (time: Time): number | undefined => {
  if (time === undefined || time === null) return undefined;
  const at = new Date(time).getTime();
  return Number.isNaN(at) ? undefined : at;
};

/** The first candidate that has a time. */
function pick(...candidates: readonly (readonly [number | undefined, Source])[]): StepTime | undefined {
  for (const [at, source] of candidates) if (at !== undefined) return { at, source };
  return undefined;
}

const podCondition = (pod: V1Pod, type: string) => pod.status?.conditions?.find((c) => c.type === type);
const eventOf = (events: readonly CoreV1Event[], reason: string) => events.find((e) => e.reason === reason);

/** Every step's time that can be known, each from its most precise source; undefined where none has it. */
export function stepTimes(kind: PodKind, o: PodObservation): Partial<Record<StepName, StepTime>> {
  const { seen, pod, vmi, node, events } = o;
  const transition = (phase: string) => ms(vmi?.status?.phaseTransitionTimestamps?.find((t) => t.phase === phase)?.phaseTransitionTimestamp);
  const timeline = JSON.parse(vmi?.metadata?.annotations?.[BOOT_TIMELINE_ANNOTATION] ?? "{}") as Record<string, string | undefined>;
  const released = eventOf(events, REASONS.PodReleased);
  const claimEvent = eventOf(events, REASONS.WarmVMClaimed);
  const scheduled = eventOf(events, "Scheduled");
  const warmPool = podCondition(pod, POD_CONDITIONS.WarmPool);
  const container = pod.status?.containerStatuses?.[0]?.state;
  const steps: Partial<Record<StepName, StepTime>> = {
    createSent: pick([seen.createSent, "bench"]),
    podCreated: pick([seen.gated, "bench"], [ms(pod.metadata?.creationTimestamp), "api"]),
    released: pick([seen.ungated, "bench"], [ms(released?.eventTime), "eventTime"], [ms(released?.firstTimestamp), "event"]),
    bound: pick([seen.bound, "bench"], [ms(scheduled?.eventTime), "eventTime"], [ms(podCondition(pod, "PodScheduled")?.lastTransitionTime), "api"]),
    containerStarted: pick([ms(container?.running?.startedAt ?? container?.terminated?.startedAt), "api"]),
    running: pick([seen.running, "bench"]),
  };
  if (kind === "cold") {
    Object.assign(steps, {
      vmiCreated: pick([seen.vmiCreated, "bench"], [ms(vmi?.metadata?.creationTimestamp), "api"]),
      qemuStarted: pick([transition("Scheduled"), "runtime"]),
      kernelStarted: pick([ms(timeline.kernelStarted), "runtime"]),
      joinStarted: pick([ms(timeline.joinStarted), "runtime"]),
      joinDone: pick([ms(timeline.joinDone), "runtime"]),
      nodeCreated: pick([seen.nodeRegistered, "bench"], [ms(node?.metadata?.creationTimestamp), "api"]),
      nodeReady: pick([seen.nodeReady, "bench"], [ms(node?.status?.conditions?.find((c) => c.type === "Ready" && c.status === "True")?.lastTransitionTime), "api"]),
    });
  } else {
    // The claim labels the pool VMI for the pod: the benchmark's VMI watch (selecting on that label) sees it then.
    steps.claimed = pick([seen.vmiCreated, "bench"], [ms(claimEvent?.eventTime), "eventTime"], [ms(claimEvent?.firstTimestamp), "event"],
      [warmPool?.reason === REASONS.WarmVMClaimed ? ms(warmPool.lastTransitionTime) : undefined, "api"]);
  }
  return steps;
}

/** The pod's own record of a claim: its WarmPool condition, else a WarmVMClaimed Event. */
export function claimOf(pod: V1Pod, events: readonly CoreV1Event[]): PodPhases["claim"] {
  const condition = podCondition(pod, POD_CONDITIONS.WarmPool);
  const vmName = (message: string | undefined) => /warm pool VM (\S+)/.exec(message ?? "")?.[1];
  if (condition !== undefined) {
    const claimed = condition.status === "True" && condition.reason === REASONS.WarmVMClaimed;
    return { claimed, reason: condition.reason, ...(claimed ? { vm: vmName(condition.message) } : {}) };
  }
  const event = eventOf(events, REASONS.WarmVMClaimed);
  return event === undefined ? { claimed: false } : { claimed: true, reason: REASONS.WarmVMClaimed, vm: vmName(event.message) };
}

const span = (steps: Partial<Record<StepName, StepTime>>, from: StepName, to: StepName): number | undefined => {
  const a = steps[from]?.at;
  const b = steps[to]?.at;
  return a === undefined || b === undefined ? undefined : b - a;
};

export const intervalLabel = (from: StepName, to: StepName): string => `${STEP_LABELS[from]} → ${STEP_LABELS[to]}`;

export function podPhases(name: string, kind: PodKind, o: PodObservation): PodPhases {
  const steps = stepTimes(kind, o);
  const seenSteps = STEPS[kind].filter((name) => steps[name] !== undefined);
  const intervals = seenSteps.slice(1).map((to, i) => {
    const from = seenSteps[i] ?? to;
    return { from, to, label: intervalLabel(from, to), ms: span(steps, from, to) ?? Number.NaN };
  });
  const createToRunningMs = span(steps, "createSent", "running");
  const parts = CONTROLLER_INTERVALS[kind].map(([from, to]) => span(steps, from, to));
  const controllerMs = parts.every((p) => p !== undefined) ? parts.reduce((sum, p) => sum + p, 0) : undefined;
  const controllerShare = controllerMs === undefined || createToRunningMs === undefined || createToRunningMs <= 0 ? undefined : controllerMs / createToRunningMs;
  const events = o.events.map((e) => {
    const at = ms(e.eventTime) ?? ms(e.firstTimestamp);
    return { at: at === undefined ? undefined : new Date(at).toISOString(), reason: e.reason, from: e.reportingComponent || e.source?.component, message: e.message };
  }).sort((a, b) => (a.at ?? "").localeCompare(b.at ?? ""));
  return { name, kind, steps, intervals, createToRunningMs, controllerMs, controllerShare, events, claim: claimOf(o.pod, o.events) };
}

export interface RunSummary {
  readonly pods: number;
  /** Per interval label, over the pods that saw both its steps. */
  readonly intervals: Record<string, Summary>;
  readonly createToRunningMs: Summary;
  readonly controllerMs: Summary;
  /** The largest pod's share: the target holds only if every pod meets it. */
  readonly controllerShareMax: number | undefined;
  readonly claimed: number;
}

export function summarizeRun(pods: readonly PodPhases[]): RunSummary {
  const byLabel = new Map<string, number[]>();
  for (const pod of pods) for (const interval of pod.intervals) byLabel.set(interval.label, [...(byLabel.get(interval.label) ?? []), interval.ms]);
  const defined = (values: readonly (number | undefined)[]) => values.filter((v): v is number => v !== undefined);
  const shares = defined(pods.map((p) => p.controllerShare));
  return {
    pods: pods.length,
    intervals: Object.fromEntries([...byLabel].map(([label, values]) => [label, summarize(values)])),
    createToRunningMs: summarize(defined(pods.map((p) => p.createToRunningMs))),
    controllerMs: summarize(defined(pods.map((p) => p.controllerMs))),
    controllerShareMax: shares.length === pods.length && shares.length > 0 ? Math.max(...shares) : undefined,
    claimed: pods.filter((p) => p.claim.claimed).length,
  };
}

/** The target: the controller's share of the cold create → Running at most 1%. */
export const CONTROLLER_SHARE_TARGET = 0.01;
