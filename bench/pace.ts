/**
 * The paced step's arithmetic, kept pure: when each open-loop arrival is sent, how the rate is found, how large a
 * warm pool the arrivals need. A latency target means something only at a pace the machine carries with room to
 * spare, so the rate is lowered until the floor (a perfect controller) reacts within its limit at that pace.
 */

export const PACE = {
  /** The rate search starts at this share of the floor's closed-loop throughput. */
  startShareOfFloorThroughput: 0.5,
  /** The floor's reaction p99 (node Ready → ungated) at a pace the machine carries. */
  floorReactionP99LimitMs: 50,
  /** Each failed probe lowers the rate by this factor. */
  lowerBy: 0.7,
  /** Below this the search stops and says so: the machine cannot carry even a trickle. */
  minimumRate: 0.2,
} as const;

/** How many pods a paced window sends: at least one, however short the window. */
export const arrivalCount = (ratePerSecond: number, seconds: number): number => Math.max(1, Math.floor(ratePerSecond * seconds));

/** Milliseconds after the start at which arrival i is sent: i / rate seconds, whatever became of the ones before. */
export function arrivalOffsetsMs(ratePerSecond: number, seconds: number): number[] {
  return Array.from({ length: arrivalCount(ratePerSecond, seconds) }, (_, i) => (i * 1000) / ratePerSecond);
}

/** Rates are kept to two decimals, so a results file names the one that was used. */
const toHundredths = (rate: number): number => Math.round(rate * 100) / 100;

export const startRate = (floorPodsPerSecond: number): number =>
  Math.max(PACE.minimumRate, toHundredths(floorPodsPerSecond * PACE.startShareOfFloorThroughput));

export type PaceStep =
  | { readonly kind: "accept"; readonly rate: number }
  | { readonly kind: "lower"; readonly rate: number }
  /** Even the minimum rate left the floor slower than its limit: measure there, and the report says so. */
  | { readonly kind: "at minimum"; readonly rate: number };

/** What a probe at `rate` that saw the floor react within `floorReactionP99Ms` (NaN: not measured) decides. */
export function nextPace(rate: number, floorReactionP99Ms: number): PaceStep {
  if (floorReactionP99Ms <= PACE.floorReactionP99LimitMs) return { kind: "accept", rate };
  if (rate <= PACE.minimumRate) return { kind: "at minimum", rate };
  return { kind: "lower", rate: Math.max(PACE.minimumRate, toHundredths(rate * PACE.lowerBy)) };
}

/** A warm pool that holds a VM for every arrival of the window: no claim waits on a refill. */
export const poolSizeFor = arrivalCount;

export interface PaceSearch<Run> {
  readonly ratePerSecond: number;
  /** "search": the floor reacted within the limit at this rate; "minimum": not even at the lowest rate. */
  readonly chosenBy: "search" | "minimum";
  readonly probes: readonly { readonly ratePerSecond: number; readonly floorReactionP99Ms: number }[];
  /** The floor's run at the chosen rate. */
  readonly run: Run;
}

/**
 * Runs the floor from the start rate down until a rate is accepted. Each probe is a whole paced window (the load
 * grows over it, with every node that joined still there), so the accepted probe is the floor's paced run itself.
 */
export async function searchPace<Run>(floorPodsPerSecond: number, probe: (ratePerSecond: number) => Promise<Run>, reactionP99Ms: (run: Run) => number): Promise<PaceSearch<Run>> {
  const probes: { ratePerSecond: number; floorReactionP99Ms: number }[] = [];
  let rate = startRate(floorPodsPerSecond);
  for (;;) {
    const run = await probe(rate);
    const floorReactionP99Ms = reactionP99Ms(run);
    probes.push({ ratePerSecond: rate, floorReactionP99Ms });
    const step = nextPace(rate, floorReactionP99Ms);
    if (step.kind === "accept") return { ratePerSecond: rate, chosenBy: "search", probes, run };
    if (step.kind === "at minimum") return { ratePerSecond: rate, chosenBy: "minimum", probes, run };
    rate = step.rate;
  }
}
