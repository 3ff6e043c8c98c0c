/** The pipeline benchmark's targets (issue #17), on a 2-core machine. */
export const TARGETS = {
  /** Throughput: the closed-loop burst of 1000 pods, pipeline wall time over the floor's. */
  pipelineFloorRatio: 1.2,
  /** Paced: node Ready → ungated, at a pace the floor carries within 50 ms. */
  pacedControllerReactionP99Ms: 100,
  /** Paced: our webhook as the API server times it, over the arrivals only. */
  pacedWebhookApiServerP99Ms: 10,
  /** Warm pool: create → Running of the pods that claimed a pool VM, at the same pace. */
  claimedCreateToRunningP99Ms: 1000,
  /** The largest of the controller's per-step peaks, the 5000 background pods present. */
  controllerPeakRssMiB: 160,
} as const;

export type TargetInputs = { readonly [K in keyof typeof TARGETS]: number | undefined };

export interface TargetCheck {
  readonly name: keyof typeof TARGETS;
  readonly value: number | null;
  readonly limit: number;
  readonly met: boolean;
}

/** Each target with the measured value; a value that could not be measured misses. */
export function checkTargets(inputs: TargetInputs): TargetCheck[] {
  return (Object.keys(TARGETS) as (keyof typeof TARGETS)[]).map((name) => {
    const value = inputs[name];
    const measured = value !== undefined && Number.isFinite(value);
    return { name, value: measured ? value : null, limit: TARGETS[name], met: measured && value <= TARGETS[name] };
  });
}
