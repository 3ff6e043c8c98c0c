import { REASONS } from "../api/conditions.ts";
import { CLEANUP_FINALIZER, KUBE_SYSTEM_NAMESPACE } from "../api/names.ts";
import { act, isFinished, isNodeReady, isOwnNode, SKIP, wait, type Action, type Observed, type PhaseResult } from "./observed.ts";

/** Deletes still waiting to show in the caches are re-checked this often. */
const TEARDOWN_RECHECK_MS = 2_000;

/** Everything the controller made for the pod, as delete actions; nothing whose labels do not name this pod's UID. */
export function deleteEverything(o: Observed): Action[] {
  const actions: Action[] = [];
  const vmNamespace = o.config.vmNamespace;
  if (o.vmi) actions.push({ kind: "deleteVmi", namespace: vmNamespace, name: o.vmName });
  if (o.userDataSecret) actions.push({ kind: "deleteSecret", namespace: vmNamespace, name: o.userDataSecret.metadata?.name ?? "" });
  for (const token of o.tokens) actions.push({ kind: "deleteSecret", namespace: KUBE_SYSTEM_NAMESPACE, name: token.metadata?.name ?? "" });
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
 * Teardown owns every finished pod (completed, or being deleted): no other phase ever sees one, so a deleting pod
 * that another finalizer still holds never gets a VM again. Its VM, Secret, token and Node go; the finalizer goes
 * only after all of them are gone, so a finished Job pod's VM never lingers and a VM is never reused.
 */
export function decideTeardown(o: Observed): PhaseResult {
  if (!isFinished(o.pod)) return SKIP;
  const stopBy = workloadStopDeadline(o);
  if (stopBy !== undefined) return wait(stopBy - o.now);
  const deletes = deleteEverything(o);
  if (deletes.length > 0) return act(deletes, TEARDOWN_RECHECK_MS);
  // Nothing left; the pod may still wait for someone else's finalizer.
  if (!(o.pod.metadata?.finalizers ?? []).includes(CLEANUP_FINALIZER)) return wait();
  return act([{ kind: "removeFinalizer", report: { type: "Normal", reason: REASONS.TornDown, message: `VM ${o.vmName}, its node and its Secrets are gone` } }]);
}
