/** The pipeline benchmark's targets (issue #7), for N=1000 pods on a 2-core machine. */
export const TARGETS = {
  controllerReactionP99Ms: 250,
  webhookApiServerP99Ms: 10,
  pipelineFloorRatio: 1.5,
  controllerPeakRssMiB: 200,
} as const;

export interface TargetInputs {
  readonly controllerReactionP99Ms: number;
  /** undefined when the API server saw no webhook call. */
  readonly webhookApiServerP99Ms: number | undefined;
  readonly pipelineFloorRatio: number;
  readonly controllerPeakRssMiB: number | undefined;
}

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
