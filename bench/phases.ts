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
  ungated?: number;
  bound?: number;
  running?: number;
}

export type Step = keyof PodTimeline;

/** The phases reported per pod, each the time between two steps. */
export const PHASES = [
  { name: "createToGated", label: "create → gated (webhook)", from: "createSent", to: "gated" },
  { name: "gatedToVmiCreated", label: "gated → VMI created", from: "gated", to: "vmiCreated" },
  { name: "vmiRunningToNodeRegistered", label: "VMI Running → node registered (simulator)", from: "vmiRunning", to: "nodeRegistered" },
  { name: "nodeReadyToUngated", label: "node Ready → ungated (controller reaction)", from: "nodeReady", to: "ungated" },
  { name: "ungatedToBound", label: "ungated → bound (scheduler)", from: "ungated", to: "bound" },
  { name: "createToRunning", label: "create → Running", from: "createSent", to: "running" },
] as const satisfies readonly { name: string; label: string; from: Step; to: Step }[];

export type PhaseName = (typeof PHASES)[number]["name"];

/** Records the first time a step is seen; later sightings (resyncs, repeated updates) keep it. */
export function markFirst(timeline: PodTimeline, step: Step, at: number): void {
  timeline[step] ??= at;
}

/** Per phase, the durations (ms) of every pod that reached both its steps, summarized. */
export function phaseSummaries(timelines: Iterable<PodTimeline>): Record<PhaseName, Summary> {
  const samples = Object.fromEntries(PHASES.map((p) => [p.name, [] as number[]])) as Record<PhaseName, number[]>;
  for (const timeline of timelines) {
    for (const phase of PHASES) {
      const from = timeline[phase.from];
      const to = timeline[phase.to];
      if (from !== undefined && to !== undefined) samples[phase.name].push(to - from);
    }
  }
  return Object.fromEntries(PHASES.map((p) => [p.name, summarize(samples[p.name])])) as Record<PhaseName, Summary>;
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

const STEPS: readonly Step[] = ["createSent", "gated", "vmiCreated", "vmiRunning", "nodeRegistered", "nodeReady", "ungated", "bound", "running"];

/** How many pods reached each step, e.g. "gated 1000, vmiCreated 998, …": where a run that timed out got stuck. */
export function stepCounts(timelines: readonly PodTimeline[]): string {
  return STEPS.map((step) => `${step} ${timelines.filter((t) => t[step] !== undefined).length}`).join(", ");
}
