import { REASONS } from "../api/conditions.ts";
import { CLEANUP_FINALIZER } from "../api/names.ts";
import { isFinished, isNodeReady, isOwnNode, type Action, type Observed, type PhaseResult } from "./observed.ts";

/** Deletes still waiting to show in the caches are re-checked this often. */
const TEARDOWN_RECHECK_MS = 2_000;

/** Everything the controller made for the pod, as delete actions; nothing whose labels do not name this pod's UID. */
export function deleteEverything(o: Observed): Action[] {
  const actions: Action[] = [];
  const vmNamespace = o.config.vmNamespace;
  if (o.vmi) actions.push({ kind: "deleteVmi", namespace: vmNamespace, name: o.vmName });
  if (o.userDataSecret) actions.push({ kind: "deleteSecret", namespace: vmNamespace, name: o.userDataSecret.metadata?.name ?? "" });
  for (const token of o.tokens) actions.push({ kind: "deleteSecret", namespace: "kube-system", name: token.metadata?.name ?? "" });
  if (isOwnNode(o)) actions.push({ kind: "deleteNode", name: o.vmName });
  return actions;
}

/**
 * When a deleted pod's containers may still be shutting down on a live node,
 * the VM must not be pulled from under them: wait until the kubelet reports a
 * terminal phase, or until the grace period (deletionTimestamp) runs out.
 */
export function workloadStopDeadline(o: Observed): number | undefined {
  const phase = o.pod.status?.phase;
  const deadline = o.pod.metadata?.deletionTimestamp;
  if (deadline === undefined || phase === "Succeeded" || phase === "Failed") return undefined;
  if (!o.pod.spec?.nodeName || !o.node || !isOwnNode(o) || !isNodeReady(o.node)) return undefined;
  const at = new Date(deadline).getTime();
  return o.now < at ? at : undefined;
}

/**
 * Teardown: once the pod completed or is being deleted, its VM, Secret, token
 * and Node go; the finalizer goes only after all of them are gone, so a
 * finished Job pod's VM never lingers and a VM is never reused.
 */
export function decideTeardown(o: Observed): PhaseResult | undefined {
  if (!isFinished(o.pod)) return undefined;
  const stopBy = workloadStopDeadline(o);
  if (stopBy !== undefined) return { actions: [], requeueAfterMs: stopBy - o.now };
  const deletes = deleteEverything(o);
  if (deletes.length > 0) return { actions: deletes, requeueAfterMs: TEARDOWN_RECHECK_MS };
  if (!(o.pod.metadata?.finalizers ?? []).includes(CLEANUP_FINALIZER)) return { actions: [] };
  return {
    actions: [
      { kind: "event", type: "Normal", reason: REASONS.TornDown, message: `VM ${o.vmName}, its node and its Secrets are gone` },
      { kind: "removeFinalizer" },
    ],
  };
}
