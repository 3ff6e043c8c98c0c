import type { V1Node, V1Pod } from "@kubernetes/client-node";
import { POD_CONDITIONS, REASONS, type Reason } from "../api/conditions.ts";
import { dedicatedTaintKey, NODE_POD_UID_LABEL, poolTaintKey } from "../api/names.ts";
import { formatCpuMillis, formatMemoryBytes } from "../kube/quantity.ts";
import type { ControllerConfig } from "./config.ts";
import { decideLaunch } from "./launch.ts";
import { act, attemptsMessage, conditionOf, isGated, setConditionIfChanged, SKIP, type Action, type DesiredCondition, type Observed, type PhaseResult } from "./observed.ts";
import { isPoolVmi } from "./pool.ts";
import { chargedRequests, sizeVm } from "./sizing.ts";

/** Why a pod that would take a pool VM does not: its reason and what to say. */
export interface PoolMiss {
  readonly reason: Reason;
  readonly message: string;
}

const show = (r: { cpuMillis: number; memoryBytes: number }): string => `${formatCpuMillis(r.cpuMillis)} CPU, ${formatMemoryBytes(r.memoryBytes)}`;

/**
 * Whether the pod fits the pool's VM: its own VM (requests plus overhead, as sizing computes it) is no bigger, and
 * the pool VM costs no more than the pod is charged (README, Quota). undefined: it fits. A pod sizing refuses is not
 * the pool's to judge: launch refuses it.
 */
export function poolMissFor(pod: V1Pod, config: ControllerConfig): PoolMiss | "unsized" | undefined {
  const size = sizeVm(pod, config.sizing);
  if (!size.ok) return "unsized";
  const pool = config.warmPool.vmResources;
  if (size.cpuMillis > pool.cpuMillis || size.memoryBytes > pool.memoryBytes) {
    return { reason: REASONS.TooBigForWarmPool, message: `its VM needs ${show(size)}; a warm pool VM has ${show(pool)}` };
  }
  const charged = chargedRequests(pod);
  if (pool.cpuMillis > charged.cpuMillis || pool.memoryBytes > charged.memoryBytes) {
    return { reason: REASONS.ChargedLessThanWarmVM, message: `a warm pool VM (${show(pool)}) costs more than the pod is charged (${show(charged)})` };
  }
  return undefined;
}

/** A stable spread of pods over the candidates, so that pods claiming at once mostly try different VMs. */
function pick<T>(candidates: readonly T[], uid: string): T | undefined {
  let hash = 0;
  for (const char of uid) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  return candidates[hash % candidates.length];
}

const claimedCondition = (vmName: string): DesiredCondition => ({ type: POD_CONDITIONS.WarmPool, status: "True", reason: REASONS.WarmVMClaimed, message: `claimed warm pool VM ${vmName}` });

/** The claim's records in the pod's status, in the status write after the claim: launch's conditions, said for a claim. */
function recordClaim(o: Observed, vmName: string): Action[] {
  const message = `warm pool VM ${vmName} claimed (${attemptsMessage(1, o.config.maxAttempts)})`;
  return [
    { kind: "setCondition", condition: claimedCondition(vmName) },
    { kind: "setCondition", condition: { type: POD_CONDITIONS.VMLaunched, status: "True", reason: REASONS.WarmVMClaimed, message } },
    { kind: "setCondition", condition: { type: POD_CONDITIONS.VMAttempts, status: "True", reason: REASONS.WarmVMClaimed, message: attemptsMessage(1, o.config.maxAttempts) } },
  ];
}

/** Whether the claimed node already carries the pod: its UID label and dedicated taint, no pool taint. */
export function nodeCarriesClaim(node: V1Node, podUid: string, taintKeyPrefix: string): boolean {
  const taints = node.spec?.taints ?? [];
  return (
    node.metadata?.labels?.[NODE_POD_UID_LABEL] === podUid &&
    taints.some((t) => t.key === dedicatedTaintKey(taintKeyPrefix) && t.value === podUid && t.effect === "NoSchedule") &&
    !taints.some((t) => t.key === poolTaintKey(taintKeyPrefix))
  );
}

/**
 * What is left of a claim that went through: the node's retaint, the pod's records. Registration then verifies the
 * node as this pod's and trusts it, and ungate releases the pod, exactly as for a VM launched for it.
 */
function afterClaim(o: Observed): PhaseResult {
  const uid = o.pod.metadata?.uid ?? "";
  const recorded = conditionOf(o.pod, POD_CONDITIONS.WarmPool)?.status === "True";
  // Liveness has given up on this VM (VMLaunched False): nothing of the claim is to be repeated.
  if (recorded && conditionOf(o.pod, POD_CONDITIONS.VMLaunched)?.status !== "True") return SKIP;
  const actions: Action[] = [];
  if (o.node && o.vmi?.status?.phase !== "Failed" && !nodeCarriesClaim(o.node, uid, o.config.taintKeyPrefix)) actions.push({ kind: "claimNode", name: o.vmName, podUid: uid });
  if (!recorded) actions.push(...recordClaim(o, o.vmName));
  return actions.length === 0 ? SKIP : act(actions);
}

/**
 * Claim: a gated pod that fits the pool's VM and finds one available claims it instead of launching its own; one
 * that does not fit, or finds the pool empty, launches as without a pool, and its status and an Event say why. A pod
 * decides this once, before its first VM: a replacement is always launched for it.
 */
export function decideClaim(o: Observed, randomBytes: (n: number) => Uint8Array): PhaseResult {
  if (!isGated(o.pod)) return SKIP;
  if (o.vmi) return isPoolVmi(o.vmi) ? afterClaim(o) : SKIP;
  if (o.config.warmPool.size === 0) return SKIP;
  if (conditionOf(o.pod, POD_CONDITIONS.VMLaunched) !== undefined || conditionOf(o.pod, POD_CONDITIONS.WarmPool) !== undefined) return SKIP;
  const miss = poolMissFor(o.pod, o.config);
  if (miss === "unsized") return SKIP;
  const candidate = miss === undefined ? pick(o.poolCandidates, o.pod.metadata?.uid ?? "") : undefined;
  if (candidate) {
    const uid = o.pod.metadata?.uid ?? "";
    const name = candidate.vmi.metadata?.name ?? "";
    const pod = { uid, namespace: o.pod.metadata?.namespace ?? "", name: o.pod.metadata?.name ?? "" };
    return act([
      { kind: "claimVmi", name, pod, report: { type: "Normal", reason: REASONS.WarmVMClaimed, message: `claimed warm pool VM ${name}` } },
      { kind: "claimNode", name, podUid: uid },
      ...recordClaim(o, name),
    ]);
  }
  const why = miss ?? { reason: REASONS.WarmPoolEmpty, message: "no warm pool VM is available" };
  const condition: DesiredCondition = { type: POD_CONDITIONS.WarmPool, status: "False", reason: why.reason, message: `${why.message}: launching its own VM` };
  const missed = setConditionIfChanged(o.pod, condition, { type: "Normal", reason: why.reason, message: condition.message });
  // The miss goes out in launch's own status write.
  const launch = decideLaunch(o, randomBytes);
  return launch.kind === "act" ? act([...launch.actions, ...missed], launch.requeueAfterMs) : act(missed);
}
