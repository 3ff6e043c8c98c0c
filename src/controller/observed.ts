import type { V1Node, V1Pod, V1PodCondition, V1Secret } from "@kubernetes/client-node";
import type { V1VirtualMachineInstance } from "@kubevirt-ui-ext/kubevirt-api/kubevirt";
import { POD_CONDITIONS, type PodConditionType, type Reason } from "../api/conditions.ts";
import { NODE_POD_UID_LABEL, POOL_LABEL, POOL_LABEL_VALUE, SCHEDULING_GATE } from "../api/names.ts";
import type { ControllerConfig } from "./config.ts";

/** Everything one reconcile of one pod decides on: a plain, read-only snapshot. */
export interface Observed {
  readonly pod: V1Pod;
  /** The pod's VM's name and its node's: the name of the VMI this pod owns, else derived from the pod's UID. */
  readonly vmName: string;
  /** The VMI in the VM namespace whose owner label names this pod's UID. */
  readonly vmi: V1VirtualMachineInstance | undefined;
  /** The user-data Secret of `vmName`, when its owner label names this pod's UID. */
  readonly userDataSecret: V1Secret | undefined;
  /** Bootstrap token Secrets labeled with this pod's UID (normally zero or one). */
  readonly tokens: readonly V1Secret[];
  /** The Node named `vmName`, whoever registered it: only `isOwnNode` makes it this pod's. */
  readonly node: V1Node | undefined;
  /**
   * Warm pool VMs this pod could claim: unclaimed, their node verified as a pool node and Ready. Empty unless the pool
   * is on and the pod is gated with no VM of its own.
   */
  readonly poolCandidates: readonly PoolCandidate[];
  readonly config: ControllerConfig;
  readonly caCertHash: string;
  readonly now: number;
}

export interface PoolCandidate {
  readonly vmi: V1VirtualMachineInstance;
  readonly node: V1Node;
}

export interface DesiredCondition {
  readonly type: PodConditionType;
  readonly status: "True" | "False";
  readonly reason: Reason;
  readonly message: string;
}

/** An Event on the pod that reports a write: it goes out only once that write took effect. */
export interface Report {
  readonly type: "Normal" | "Warning";
  readonly reason: Reason;
  readonly message: string;
}

export type Action =
  | { readonly kind: "createSecret"; readonly secret: V1Secret }
  | { readonly kind: "createVmi"; readonly vmi: V1VirtualMachineInstance; readonly report?: Report }
  | { readonly kind: "deleteVmi"; readonly namespace: string; readonly name: string }
  | { readonly kind: "deleteSecret"; readonly namespace: string; readonly name: string }
  | { readonly kind: "deleteNode"; readonly name: string }
  /** The claim: one JSON patch of the pool VMI whose `test` pins it unclaimed; it fails for all but one claimer. */
  | { readonly kind: "claimVmi"; readonly name: string; readonly pod: { readonly uid: string; readonly namespace: string; readonly name: string }; readonly report?: Report }
  /** The claimed pool node: the pod's UID label and its dedicated taint in place of the pool taint. */
  | { readonly kind: "claimNode"; readonly name: string; readonly podUid: string }
  | { readonly kind: "trustNode"; readonly name: string; readonly podUid: string; readonly report?: Report }
  | { readonly kind: "releasePod"; readonly podUid: string; readonly node: string; readonly report?: Report }
  /** Conditions go out together in one status patch; their reports once it went through. */
  | { readonly kind: "setCondition"; readonly condition: DesiredCondition; readonly report?: Report }
  | { readonly kind: "annotatePod"; readonly annotations: Readonly<Record<string, string>> }
  /** The join token, spent once its node is trusted: deleted beside the pod's records, never before the release. */
  | { readonly kind: "revokeToken"; readonly name: string }
  | { readonly kind: "removeFinalizer"; readonly report?: Report };

/**
 * What a phase decided. `skip`: the pod is not this phase's, the next one decides. `wait`: it is, and there is
 * nothing to write yet (look again after `requeueAfterMs`, if given). `act`: its writes, in order. The reconcile
 * stops at the first phase that does not skip.
 */
export type PhaseResult =
  | { readonly kind: "skip" }
  | { readonly kind: "wait"; readonly requeueAfterMs?: number }
  | { readonly kind: "act"; readonly actions: readonly Action[]; readonly requeueAfterMs?: number };

export const SKIP: PhaseResult = { kind: "skip" };
export const wait = (requeueAfterMs?: number): PhaseResult => (requeueAfterMs === undefined ? { kind: "wait" } : { kind: "wait", requeueAfterMs });
/** The actions, or a wait when there are none: a phase that owns the pod never skips for want of a write. */
export const act = (actions: readonly Action[], requeueAfterMs?: number): PhaseResult =>
  actions.length === 0 ? wait(requeueAfterMs) : { kind: "act", actions, ...(requeueAfterMs === undefined ? {} : { requeueAfterMs }) };

export const isGated = (pod: V1Pod): boolean => (pod.spec?.schedulingGates ?? []).some((g) => g.name === SCHEDULING_GATE);

export const isFinished = (pod: V1Pod): boolean =>
  pod.metadata?.deletionTimestamp !== undefined || pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed";

export function conditionOf(pod: V1Pod, type: PodConditionType): V1PodCondition | undefined {
  return pod.status?.conditions?.find((c) => c.type === type);
}

/** When the condition last changed, in ms; timeouts are measured from here, with the injected clock's `now`. */
export function conditionSince(pod: V1Pod, type: PodConditionType): number | undefined {
  const time = conditionOf(pod, type)?.lastTransitionTime;
  return time === undefined ? undefined : new Date(time).getTime();
}

/** A setCondition action (with the Event that reports it, if any), or nothing when the pod already says the same. */
export function setConditionIfChanged(pod: V1Pod, condition: DesiredCondition, report?: Report): Action[] {
  const current = conditionOf(pod, condition.type);
  if (current?.status === condition.status && current.reason === condition.reason && current.message === condition.message) return [];
  return [{ kind: "setCondition", condition, ...(report ? { report } : {}) }];
}

/** A Warning that says what the condition says. */
export const warning = (condition: DesiredCondition): Report => ({ type: "Warning", reason: condition.reason, message: condition.message });

/** The VMAttempts condition's message; written by launch only, in the pod's status. */
export const attemptsMessage = (attempt: number, maxAttempts: number): string => `attempt ${attempt} of ${maxAttempts}`;
const ATTEMPTS_MESSAGE = /^attempt (\d{1,6}) of \d+$/;

/** How many VMs launch has made for the pod, from its VMAttempts condition; 0 before the first. */
export function attemptsOf(pod: V1Pod): number {
  const match = ATTEMPTS_MESSAGE.exec(conditionOf(pod, POD_CONDITIONS.VMAttempts)?.message ?? "");
  return match ? Number(match[1]) : 0;
}

/**
 * Whether the node is this pod's: registered for it (its kubelet carries the pod's UID from the join info), or the
 * node of the warm pool VM this pod claimed (the claim is recorded on the VMI, where no tenant writes; the node has
 * the VMI's name, which only that VM's token could register).
 */
export const isOwnNode = (o: Observed): boolean =>
  o.node !== undefined &&
  (o.node.metadata?.labels?.[NODE_POD_UID_LABEL] === o.pod.metadata?.uid ||
    (o.vmi?.metadata?.labels?.[POOL_LABEL] === POOL_LABEL_VALUE && o.node.metadata?.name === o.vmName && o.vmi.metadata.name === o.vmName));

export const isNodeReady = (node: V1Node): boolean => node.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
