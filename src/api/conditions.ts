/** Pod condition types the controller owns; each lifecycle phase owns one. */
export const POD_CONDITIONS = {
  VMLaunched: "maroonedpods.io/VMLaunched",
  NodeRegistered: "maroonedpods.io/NodeRegistered",
  NodeTrusted: "maroonedpods.io/NodeTrusted",
} as const;
export type PodConditionType = (typeof POD_CONDITIONS)[keyof typeof POD_CONDITIONS];

/** Reasons, used both on conditions and on Events (PascalCase, fixed). */
export const REASONS = {
  VMCreated: "VMCreated",
  VMSizeExceedsMaximum: "VMSizeExceedsMaximum",
  VMFailed: "VMFailed",
  VMDisappeared: "VMDisappeared",
  RegistrationTimedOut: "RegistrationTimedOut",
  AttemptsExhausted: "AttemptsExhausted",
  WaitingForNode: "WaitingForNode",
  NodeRegistered: "NodeRegistered",
  NodeVerificationFailed: "NodeVerificationFailed",
  NodeTrusted: "NodeTrusted",
  PodReleased: "PodReleased",
  TornDown: "TornDown",
  OrphanRemoved: "OrphanRemoved",
  InvalidConfig: "InvalidConfig",
} as const;
export type Reason = (typeof REASONS)[keyof typeof REASONS];

/** Annotations the controller writes on the pod so people can find its VM and node. */
export const POD_ANNOTATIONS = {
  vm: "maroonedpods.io/vm",
  node: "maroonedpods.io/node",
  attempts: "maroonedpods.io/vm-attempts",
} as const;

/** Labels on everything the controller creates for a pod (VMI, Secrets, token), to map back and find orphans. */
export const OWNED_LABELS = {
  podUid: "maroonedpods.io/pod-uid",
  podNamespace: "maroonedpods.io/pod-namespace",
  component: "app.kubernetes.io/managed-by",
} as const;
export const MANAGED_BY = "maroonedpods-controller";
/** Pod names can be longer than a label value allows, so the name travels as an annotation. */
export const POD_NAME_ANNOTATION = "maroonedpods.io/pod-name";
