import { POD_ANNOTATIONS, POD_CONDITIONS, REASONS } from "../api/conditions.ts";
import { TRUSTED_NODE_LABEL } from "../api/names.ts";
import { act, conditionOf, conditionSince, isGated, setConditionIfChanged, SKIP, warning, type Action, type DesiredCondition, type Observed, type PhaseResult } from "./observed.ts";
import { releaseWhenReady } from "./ungate.ts";
import { isTrusted, verifyNode } from "./verification.ts";

const podUidOf = (o: Observed): string => o.pod.metadata?.uid ?? "";

/** Launch records this with VMLaunched, in the same write, so waiting costs no write of its own. */
export const waitingForNode = (o: Observed): DesiredCondition => ({
  type: POD_CONDITIONS.NodeRegistered, status: "False", reason: REASONS.WaitingForNode, message: `waiting for node ${o.vmName} to register`,
});

/** When liveness will give up on this VM's node: looked at again just after. */
function untilRegistrationTimeout(o: Observed): number | undefined {
  const launched = conditionOf(o.pod, POD_CONDITIONS.VMLaunched);
  if (launched?.status !== "True") return undefined;
  const since = conditionSince(o.pod, POD_CONDITIONS.VMLaunched) ?? o.now;
  return Math.max(0, since + o.config.registrationTimeoutMs - o.now) + 100;
}

/**
 * Registration: find the node the VM's guest registered, verify it, then label
 * it with the trusted label (which no kubelet can set) and delete the token.
 * A node that fails verification is never trusted; its pod stays gated until
 * liveness gives up on the VM. A node already Ready gets its pod in the same
 * reconcile, right after the label (the release is ungate's decision). Ungate
 * runs first, so a pod may be released before its trust is recorded: what is
 * left (the token, the records) is done after the release.
 */
export function decideRegistration(o: Observed): PhaseResult {
  if (!o.vmi || o.vmi.status?.phase === "Failed") return SKIP;
  if (!isGated(o.pod)) return o.node && isTrusted(o) ? act(trustedLeftovers(o)) : SKIP;
  const podUid = podUidOf(o);
  if (!o.node) return act(setConditionIfChanged(o.pod, waitingForNode(o)), untilRegistrationTimeout(o));
  const problems = verifyNode(o.node, o.vmi, o.vmName, podUid, o.config.taintKeyPrefix);
  if (problems.length > 0) {
    const condition = { type: POD_CONDITIONS.NodeTrusted, status: "False", reason: REASONS.NodeVerificationFailed, message: `node ${o.vmName} failed verification: ${problems.join("; ")}` } as const;
    return act(setConditionIfChanged(o.pod, condition, warning(condition)), isTrusted(o) ? undefined : untilRegistrationTimeout(o));
  }
  // Trusted and verified, but not Ready yet (ungate skipped): the node's Ready event brings the pod back.
  if (isTrusted(o)) return act(trustedLeftovers(o));
  // No Event of its own: the NodeTrusted condition records the trust, and PodReleased, its only consequence, follows.
  return act([
    { kind: "trustNode", name: o.vmName, podUid },
    ...releaseWhenReady(o),
    ...deleteTokens(o),
    ...setRegistered(o),
    setTrusted(o),
  ]);
}

const deleteTokens = (o: Observed): Action[] => o.tokens.map((t) => ({ kind: "revokeToken", name: t.metadata?.name ?? "" }));
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
 * yet. The node annotation comes with the release; a released pod without it (released by a controller before the
 * release carried it to a pod with no annotations) gets it here.
 */
function trustedLeftovers(o: Observed): Action[] {
  const trustedRecorded = conditionOf(o.pod, POD_CONDITIONS.NodeTrusted)?.status === "True";
  const annotationMissing = !isGated(o.pod) && o.pod.metadata?.annotations?.[POD_ANNOTATIONS.node] !== o.vmName;
  return [...deleteTokens(o), ...setRegistered(o), ...(trustedRecorded ? [] : [setTrusted(o)]), ...(annotationMissing ? [annotateNode(o)] : [])];
}
