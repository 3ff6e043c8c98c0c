import { REASONS } from "../api/conditions.ts";
import { isGated, isNodeReady, type Observed, type PhaseResult } from "./observed.ts";
import { isTrusted } from "./registration.ts";

/**
 * Ungate: once the trusted node is Ready, one pod update adds the nodeSelector
 * on the trusted label and the toleration for the pod's own taint, and removes
 * the gate. Never onto a node that is untrusted or NotReady.
 */
export function decideUngate(o: Observed): PhaseResult | undefined {
  if (!isGated(o.pod) || !o.node || !isTrusted(o) || !isNodeReady(o.node)) return undefined;
  const podUid = o.pod.metadata?.uid ?? "";
  return {
    actions: [
      { kind: "releasePod", podUid },
      { kind: "event", type: "Normal", reason: REASONS.PodReleased, message: `released onto node ${o.vmName}` },
    ],
  };
}
