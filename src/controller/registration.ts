import type { V1Node } from "@kubernetes/client-node";
import type { V1VirtualMachineInstance } from "@kubevirt-ui-ext/kubevirt-api/kubevirt";
import { POD_ANNOTATIONS, POD_CONDITIONS, REASONS } from "../api/conditions.ts";
import { dedicatedTaintKey, NODE_POD_UID_LABEL, TRUSTED_NODE_LABEL } from "../api/names.ts";
import { conditionOf, isGated, isNodeReady, releaseActions, setConditionIfChanged, type Action, type DesiredCondition, type Observed, type PhaseResult } from "./observed.ts";

const podUidOf = (o: Observed): string => o.pod.metadata?.uid ?? "";

/** Launch records this with VMLaunched, in the same write, so waiting costs no write of its own. */
export const waitingForNode = (o: Observed): DesiredCondition => ({
  type: POD_CONDITIONS.NodeRegistered, status: "False", reason: REASONS.WaitingForNode, message: `waiting for node ${o.vmName} to register`,
});

export const isTrusted = (o: Observed): boolean => o.node?.metadata?.labels?.[TRUSTED_NODE_LABEL] === podUidOf(o);

export function vmiAddresses(vmi: V1VirtualMachineInstance): Set<string> {
  return new Set((vmi.status?.interfaces ?? []).flatMap((i) => [i.ipAddress, ...(i.ipAddresses ?? [])]).filter((ip): ip is string => Boolean(ip)));
}

/** Why this node cannot be the pod's node; empty when it can. A node may lie about anything it registered itself. */
export function verifyNode(node: V1Node, vmi: V1VirtualMachineInstance, vmName: string, podUid: string, taintKeyPrefix: string): string[] {
  const problems: string[] = [];
  if (node.metadata?.name !== vmName) problems.push(`name ${node.metadata?.name ?? ""} is not ${vmName}`);
  if (node.metadata?.labels?.[NODE_POD_UID_LABEL] !== podUid) problems.push(`label ${NODE_POD_UID_LABEL} is not ${podUid}`);
  const taintKey = dedicatedTaintKey(taintKeyPrefix);
  if (!(node.spec?.taints ?? []).some((t) => t.key === taintKey && t.value === podUid && t.effect === "NoSchedule")) {
    problems.push(`taint ${taintKey}=${podUid}:NoSchedule is missing`);
  }
  const internalIps = (node.status?.addresses ?? []).filter((a) => a.type === "InternalIP").map((a) => a.address);
  const vmIps = vmiAddresses(vmi);
  if (internalIps.length === 0) problems.push("it reports no InternalIP");
  else if (!internalIps.every((ip) => vmIps.has(ip))) problems.push(`InternalIP ${internalIps.join(",")} is not among the VM's addresses (${[...vmIps].join(",") || "none yet"})`);
  return problems;
}

/**
 * Registration: find the node the VM's guest registered, verify it, then label
 * it with the trusted label (which no kubelet can set) and delete the token.
 * A node that fails verification is never trusted; its pod stays gated. A node
 * already Ready gets its pod in the same reconcile, right after the label: waiting
 * for another turn would put the release behind whatever else is queued. Ungate
 * runs first, so a pod may be released before its trust is recorded: what is
 * left (the token, the records) is done after the release.
 */
export function decideRegistration(o: Observed): PhaseResult | undefined {
  if (!o.vmi || o.vmi.status?.phase === "Failed") return undefined;
  if (!isGated(o.pod)) return o.node && isTrusted(o) ? { actions: trustedLeftovers(o) } : undefined;
  const podUid = podUidOf(o);
  if (!o.node) {
    return { actions: setConditionIfChanged(o.pod, waitingForNode(o)) };
  }
  const problems = verifyNode(o.node, o.vmi, o.vmName, podUid, o.config.taintKeyPrefix);
  if (problems.length > 0) {
    const message = `node ${o.vmName} failed verification: ${problems.join("; ")}`;
    const changed = setConditionIfChanged(o.pod, { type: POD_CONDITIONS.NodeTrusted, status: "False", reason: REASONS.NodeVerificationFailed, message });
    const warn: Action[] = changed.length > 0 ? [{ kind: "event", type: "Warning", reason: REASONS.NodeVerificationFailed, message }] : [];
    return { actions: [...changed, ...warn] };
  }
  if (isTrusted(o)) return { actions: trustedLeftovers(o) };
  return {
    actions: [
      { kind: "trustNode", name: o.vmName, podUid },
      ...(isNodeReady(o.node) ? releaseActions(o) : []),
      ...deleteTokens(o),
      ...setRegistered(o),
      setTrusted(o),
      { kind: "event", type: "Normal", reason: REASONS.NodeTrusted, message: `node ${o.vmName} verified and trusted` },
    ],
  };
}

const deleteTokens = (o: Observed): Action[] => o.tokens.map((t) => ({ kind: "deleteSecret", namespace: "kube-system", name: t.metadata?.name ?? "" }));
const setRegistered = (o: Observed): Action[] =>
  conditionOf(o.pod, POD_CONDITIONS.NodeRegistered)?.status === "True"
    ? []
    : setConditionIfChanged(o.pod, { type: POD_CONDITIONS.NodeRegistered, status: "True", reason: REASONS.NodeRegistered, message: `node ${o.vmName} registered` });
const setTrusted = (o: Observed): Action => ({
  kind: "setCondition",
  condition: { type: POD_CONDITIONS.NodeTrusted, status: "True", reason: REASONS.NodeTrusted, message: `node ${o.vmName} verified and labeled ${TRUSTED_NODE_LABEL}` },
});
const annotateNode = (o: Observed): Action => ({ kind: "annotatePod", annotations: { [POD_ANNOTATIONS.node]: o.vmName } });

/**
 * trustNode went through but a later write may not have: the token to delete and whatever the pod does not record
 * yet. The node annotation comes with the release; a released pod without it (a pod with no annotations at all, whose
 * release could not carry it) gets it here.
 */
function trustedLeftovers(o: Observed): Action[] {
  const trustedRecorded = conditionOf(o.pod, POD_CONDITIONS.NodeTrusted)?.status === "True";
  const annotationMissing = !isGated(o.pod) && o.pod.metadata?.annotations?.[POD_ANNOTATIONS.node] !== o.vmName;
  return [...deleteTokens(o), ...setRegistered(o), ...(trustedRecorded ? [] : [setTrusted(o)]), ...(annotationMissing ? [annotateNode(o)] : [])];
}
