import { summarize, type Summary } from "./stats.ts";

/** When the benchmark saw each step of one marooned pod, in ms on its monotonic clock; absent until seen. */
export interface PodTimeline {
  /** The create request was sent. */
  createSent?: number;
  /** The create answered with the pod, gated (by the webhook, or already by the floor). */
  gated?: number;
  vmiCreated?: number;
  vmiRunning?: number;
  nodeRegistered?: number;
  nodeReady?: number;
  /** The pod's WarmPool condition says it claimed a pool VM. */
  claimed?: number;
  ungated?: number;
  bound?: number;
  running?: number;
}

export type Step = keyof PodTimeline;

interface Phase {
  readonly name: string;
  readonly label: string;
  readonly from: Step;
  readonly to: Step;
}

/** The phases every pod has, whether it launches its own VM or claims one. */
const CREATE_TO_GATED = { name: "createToGated", label: "create → gated (webhook)", from: "createSent", to: "gated" } as const;
const UNGATED_TO_BOUND = { name: "ungatedToBound", label: "ungated → bound (scheduler)", from: "ungated", to: "bound" } as const;
const CREATE_TO_RUNNING = { name: "createToRunning", label: "create → Running", from: "createSent", to: "running" } as const;

/** The phases reported per pod that launches its own VM, each the time between two steps. */
export const PHASES = [
  CREATE_TO_GATED,
  { name: "gatedToVmiCreated", label: "gated → VMI created", from: "gated", to: "vmiCreated" },
  { name: "vmiRunningToNodeRegistered", label: "VMI Running → node registered (simulator)", from: "vmiRunning", to: "nodeRegistered" },
  { name: "nodeReadyToUngated", label: "node Ready → ungated (controller reaction)", from: "nodeReady", to: "ungated" },
  UNGATED_TO_BOUND,
  CREATE_TO_RUNNING,
] as const satisfies readonly Phase[];

/** The phases of a pod that claims a warm pool VM: no VM to wait for, only the claim. */
export const CLAIM_PHASES = [
  CREATE_TO_GATED,
  { name: "gatedToClaimed", label: "gated → pool VM claimed", from: "gated", to: "claimed" },
  { name: "claimedToUngated", label: "claimed → ungated (controller)", from: "claimed", to: "ungated" },
  UNGATED_TO_BOUND,
  CREATE_TO_RUNNING,
] as const satisfies readonly Phase[];

export type PhaseName = (typeof PHASES)[number]["name"];
export type ClaimPhaseName = (typeof CLAIM_PHASES)[number]["name"];

/** Records the first time a step is seen; later sightings (resyncs, repeated updates) keep it. */
export function markFirst(timeline: PodTimeline, step: Step, at: number): void {
  timeline[step] ??= at;
}

/** Per phase, the durations (ms) of every pod that reached both its steps, summarized. */
export function phaseSummaries<const P extends readonly Phase[] = typeof PHASES>(timelines: Iterable<PodTimeline>, phases: P = PHASES as unknown as P): Record<P[number]["name"], Summary> {
  const samples = new Map<string, number[]>(phases.map((p) => [p.name, []]));
  for (const timeline of timelines) {
    for (const phase of phases) {
      const from = timeline[phase.from];
      const to = timeline[phase.to];
      if (from !== undefined && to !== undefined) samples.get(phase.name)?.push(to - from);
    }
  }
  return Object.fromEntries(phases.map((p) => [p.name, summarize(samples.get(p.name) ?? [])])) as Record<P[number]["name"], Summary>;
}

/** First create sent to last pod Running, in ms; undefined until every pod runs. */
export function wallTimeMs(timelines: readonly PodTimeline[]): number | undefined {
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  for (const timeline of timelines) {
    if (timeline.createSent === undefined || timeline.running === undefined) return undefined;
    first = Math.min(first, timeline.createSent);
    last = Math.max(last, timeline.running);
  }
  return timelines.length === 0 ? undefined : last - first;
}

const STEPS: readonly Step[] = ["createSent", "gated", "vmiCreated", "vmiRunning", "nodeRegistered", "nodeReady", "claimed", "ungated", "bound", "running"];

/** How many pods reached each step, e.g. "gated 1000, vmiCreated 998, …": where a run that timed out got stuck. */
export function stepCounts(timelines: readonly PodTimeline[]): string {
  return STEPS.map((step) => `${step} ${timelines.filter((t) => t[step] !== undefined).length}`).join(", ");
}
