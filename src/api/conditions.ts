import { NODE_POD_UID_LABEL } from "./names.ts";

/**
 * Pod condition types the controller owns: launch writes VMLaunched and VMAttempts (liveness sets VMLaunched False
 * when it replaces a VM), registration NodeRegistered and NodeTrusted, health NodeReady.
 */
export const POD_CONDITIONS = {
  VMLaunched: "maroonedpods.io/VMLaunched",
  NodeRegistered: "maroonedpods.io/NodeRegistered",
  NodeTrusted: "maroonedpods.io/NodeTrusted",
  /**
   * The launch phase's count of VMs made for the pod, message `attempt N of M`. It lives in the pod's status,
   * which the pod's creator cannot write (status is reset at create and needs the pods/status subresource).
   */
  VMAttempts: "maroonedpods.io/VMAttempts",
  /** Whether the released pod's node is Ready: a pod is never moved, so its owner must hear when it is not. */
  NodeReady: "maroonedpods.io/NodeReady",
  /** Whether the pod took a warm pool VM (True, WarmVMClaimed) or launched its own (False, why). */
  WarmPool: "maroonedpods.io/WarmPool",
} as const;
export type PodConditionType = (typeof POD_CONDITIONS)[keyof typeof POD_CONDITIONS];

/** Reasons, used both on conditions and on Events (PascalCase, fixed). */
export const REASONS = {
  VMCreated: "VMCreated",
  VMSizeExceedsMaximum: "VMSizeExceedsMaximum",
  VMCostExceedsCharge: "VMCostExceedsCharge",
  NodeNameInUse: "NodeNameInUse",
  VMFailed: "VMFailed",
  VMDisappeared: "VMDisappeared",
  RegistrationTimedOut: "RegistrationTimedOut",
  AttemptsExhausted: "AttemptsExhausted",
  WaitingForNode: "WaitingForNode",
  NodeRegistered: "NodeRegistered",
  NodeVerificationFailed: "NodeVerificationFailed",
  NodeTrusted: "NodeTrusted",
  PodReleased: "PodReleased",
  NodeNotReady: "NodeNotReady",
  NodeReady: "NodeReady",
  TornDown: "TornDown",
  OrphanRemoved: "OrphanRemoved",
  InvalidConfig: "InvalidConfig",
  NotApplied: "NotApplied",
  ReconcileFailed: "ReconcileFailed",
  WarmVMClaimed: "WarmVMClaimed",
  WarmPoolEmpty: "WarmPoolEmpty",
  TooBigForWarmPool: "TooBigForWarmPool",
  ChargedLessThanWarmVM: "ChargedLessThanWarmVM",
} as const;
export type Reason = (typeof REASONS)[keyof typeof REASONS];

/**
 * Annotations the controller writes on the pod so people can find its node: a report, never read back to decide
 * anything. Every pod annotation under this prefix is the controller's: the admission policies let nobody else set,
 * change or remove one.
 */
export const POD_ANNOTATION_PREFIX = "maroonedpods.io/";
export const POD_ANNOTATIONS = {
  node: `${POD_ANNOTATION_PREFIX}node`,
} as const;

/** Labels on everything the controller creates for a pod (VMI, Secrets, token), to map back and find orphans. */
export const OWNED_LABELS = {
  // The same key the guest's kubelet puts on its node: one label names a pod's objects and its node alike.
  podUid: NODE_POD_UID_LABEL,
  podNamespace: "maroonedpods.io/pod-namespace",
  component: "app.kubernetes.io/managed-by",
} as const;
export const MANAGED_BY = "maroonedpods-controller";
/** Pod names can be longer than a label value allows, so the name travels as an annotation. */
export const POD_NAME_ANNOTATION = "maroonedpods.io/pod-name";
