import { isGated, isNodeReady, releaseActions, type Observed, type PhaseResult } from "./observed.ts";
import { isTrusted, verifyNode } from "./registration.ts";

/**
 * Ungate: once the trusted node is Ready, one pod update adds the nodeSelector
 * on the trusted label and the toleration for the pod's own taint, and removes
 * the gate. Never onto a node that is untrusted, NotReady, or no longer passes
 * verification (a node can rewrite its own status after it was trusted).
 * Runs before registration; registration releases in the same reconcile when the
 * node is already Ready as it is trusted.
 */
export function decideUngate(o: Observed): PhaseResult | undefined {
  if (!isGated(o.pod) || !o.node || !o.vmi || !isTrusted(o) || !isNodeReady(o.node)) return undefined;
  if (verifyNode(o.node, o.vmi, o.vmName, o.pod.metadata?.uid ?? "", o.config.taintKeyPrefix).length > 0) return undefined;
  return { actions: releaseActions(o) };
}
