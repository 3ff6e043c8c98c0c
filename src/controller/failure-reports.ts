import type { V1Pod } from "@kubernetes/client-node";
import { REASONS } from "../api/conditions.ts";
import type { EventRecorder } from "../kube/events.ts";

/** A reconcile that has failed this many times in a row is reported on the pod. */
export const REPORT_AFTER_FAILURES = 3;
/** At most one ReconcileFailed Event per pod in this long. */
export const REPORT_INTERVAL_MS = 5 * 60_000;

/**
 * Tells a pod's owner that its reconcile keeps failing, and why: a Warning Event on the pod once the failures in a
 * row reach REPORT_AFTER_FAILURES, then at most every REPORT_INTERVAL_MS while they go on.
 */
export function createFailureReporter(deps: { events: EventRecorder; pod: (key: string) => V1Pod | undefined; now: () => number }) {
  const lastReported = new Map<string, number>();
  return {
    failed(key: string, failures: number, error: unknown): void {
      if (failures < REPORT_AFTER_FAILURES) return;
      const last = lastReported.get(key);
      const now = deps.now();
      if (last !== undefined && now - last < REPORT_INTERVAL_MS) return;
      const pod = deps.pod(key);
      if (!pod) return;
      lastReported.set(key, now);
      const message = `reconcile failed ${failures} times in a row: ${error instanceof Error ? error.message : String(error)}`;
      void deps.events.record({ apiVersion: "v1", kind: "Pod", metadata: pod.metadata }, "Warning", REASONS.ReconcileFailed, message);
    },
    /** A reconcile went through: the next run of failures is reported afresh. */
    succeeded(key: string): void {
      lastReported.delete(key);
    },
  };
}
