import type { V1Pod } from "@kubernetes/client-node";

/** Where a pod stands: gated for its VM (any gate), released onto its node (its pod phase), or going away. */
export function podStanding(pod: V1Pod): string {
  if (pod.metadata?.deletionTimestamp) return "Terminating";
  if ((pod.spec?.schedulingGates ?? []).length > 0) return "WaitingForVM";
  return pod.status?.phase ?? "Unknown";
}

export interface PodCensus {
  readonly byStanding: Readonly<Record<string, number>>;
  /** Seconds the longest-waiting gated pod has waited since it was created (and gated); 0 when none waits. */
  readonly oldestGatedSeconds: number;
}

/** The managed pods counted for the `maroonedpods_pods` and oldest-gated-pod gauges. */
export function podCensus(pods: readonly V1Pod[], now: number): PodCensus {
  const byStanding: Record<string, number> = {};
  let oldestGatedSeconds = 0;
  for (const pod of pods) {
    const standing = podStanding(pod);
    byStanding[standing] = (byStanding[standing] ?? 0) + 1;
    const created = pod.metadata?.creationTimestamp;
    if (standing === "WaitingForVM" && created !== undefined) oldestGatedSeconds = Math.max(oldestGatedSeconds, (now - new Date(created).getTime()) / 1000);
  }
  return { byStanding, oldestGatedSeconds };
}
