/**
 * Plain-data fixtures for the controller's phase tests: builders for the
 * objects a reconcile observes, with a fixed clock. Not a test file itself
 * (vitest picks up `*.test.ts` only).
 */
import type { V1Node, V1NodeCondition, V1Pod, V1PodCondition, V1Secret, V1Taint } from "@kubernetes/client-node";
import type { V1VirtualMachineInstance } from "@kubevirt-ui-ext/kubevirt-api/kubevirt";
import { MANAGED_BY, OWNED_LABELS, POD_CONDITIONS, POD_NAME_ANNOTATION, REASONS, type PodConditionType, type Reason } from "../api/conditions.ts";
import {
  CLEANUP_FINALIZER,
  dedicatedTaintKey,
  DEFAULT_RUNTIME_CLASS,
  MANAGED_LABEL,
  MANAGED_LABEL_VALUE,
  NODE_POD_UID_LABEL,
  NODE_VM_LABEL,
  SCHEDULING_GATE,
  TRUSTED_NODE_LABEL,
} from "../api/names.ts";
import { parse } from "yaml";
import { JOIN_INFO_PATH, parseJoinInfo, type JoinInfoResult } from "../joininfo/join-info.ts";
import { USER_DATA_SECRET_KEY, userDataSecretNameFor, vmNameFor } from "./artifacts.ts";
import { resolveConfig, SPEC_DEFAULTS, type ControllerConfig } from "./config.ts";
import { attemptsMessage, type Action, type Observed, type PhaseResult, type Report } from "./observed.ts";

/** The fake clock: every Observed built here sees this `now`. */
export const NOW = Date.parse("2025-06-01T12:00:00.000Z");
export const API_SERVER = "https://10.0.0.1:6443";
export const POD_UID = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
export const POD_NAME = "web-7d9f8b6c5-x2k4q";
export const POD_NAMESPACE = "tenant-a";
export const CA_CERT_HASH = `sha256:${"ab".repeat(32)}`;
/** The VMI's pod-network address, which the guest's kubelet reports as its InternalIP. */
export const VM_IP = "10.244.1.17";

/** The configuration with every default: `resolveConfig(undefined, …)`. */
export function defaultConfig(overrides: Partial<ControllerConfig> = {}): ControllerConfig {
  const result = resolveConfig(undefined, { apiServerEndpoint: API_SERVER });
  if (!result.ok) throw new Error(`default config is invalid: ${result.errors.join("; ")}`);
  return { ...result.config, ...overrides };
}

export const DEFAULT_VM_NAME = vmNameFor(defaultConfig(), POD_UID);

/** A timestamp `ms` before the fake `now`. */
export const ago = (ms: number): Date => new Date(NOW - ms);

export function podCondition(type: PodConditionType, status: "True" | "False", reason: Reason, options: { message?: string; sinceMsAgo?: number } = {}): V1PodCondition {
  return { type, status, reason, message: options.message ?? `${reason} message`, lastTransitionTime: ago(options.sinceMsAgo ?? 0) };
}

export interface PodOptions {
  readonly uid?: string;
  readonly name?: string;
  readonly namespace?: string;
  /** Whether the scheduling gate is still on (default true). */
  readonly gated?: boolean;
  readonly finalizer?: boolean;
  readonly phase?: string;
  readonly deleting?: boolean;
  /** The VMAttempts condition's count; no condition when undefined. */
  readonly attempts?: number;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly conditions?: readonly V1PodCondition[];
  readonly requests?: Readonly<Record<string, string>>;
}

/**
 * A managed pod as admission leaves it: gate, finalizer, managed label, the RuntimeClass with its overhead
 * (the default resourceOverhead); Pending.
 */
export function makePod(options: PodOptions = {}): V1Pod {
  const annotations: Record<string, string> = { ...options.annotations };
  const attempts = options.attempts === undefined
    ? []
    : [podCondition(POD_CONDITIONS.VMAttempts, "True", REASONS.VMCreated, { message: attemptsMessage(options.attempts, defaultConfig().maxAttempts) })];
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: options.name ?? POD_NAME,
      namespace: options.namespace ?? POD_NAMESPACE,
      uid: options.uid ?? POD_UID,
      labels: { [MANAGED_LABEL]: MANAGED_LABEL_VALUE, app: "web" },
      annotations,
      finalizers: options.finalizer === false ? [] : [CLEANUP_FINALIZER],
      ...(options.deleting ? { deletionTimestamp: ago(5_000) } : {}),
    },
    spec: {
      containers: [{ name: "app", image: "nginx:1.27", resources: { requests: { cpu: "500m", memory: "512Mi", ...options.requests } } }],
      schedulingGates: options.gated === false ? [] : [{ name: SCHEDULING_GATE }],
      runtimeClassName: DEFAULT_RUNTIME_CLASS,
      overhead: { ...SPEC_DEFAULTS.resourceOverhead },
    },
    status: { phase: options.phase ?? "Pending", conditions: [...attempts, ...(options.conditions ?? [])] },
  };
}

export interface VmiOptions {
  readonly name?: string;
  readonly podUid?: string;
  readonly phase?: string;
  /** Addresses on the default interface: the first as ipAddress, all in ipAddresses. */
  readonly ips?: readonly string[];
}

/** A VMI as the controller created it, with the status KubeVirt reports. */
export function makeVmi(options: VmiOptions = {}): V1VirtualMachineInstance {
  const ips = options.ips ?? [VM_IP];
  const podUid = options.podUid ?? POD_UID;
  return {
    apiVersion: "kubevirt.io/v1",
    kind: "VirtualMachineInstance",
    metadata: {
      name: options.name ?? DEFAULT_VM_NAME,
      namespace: defaultConfig().vmNamespace,
      labels: { [OWNED_LABELS.podUid]: podUid, [OWNED_LABELS.podNamespace]: POD_NAMESPACE, [OWNED_LABELS.component]: MANAGED_BY },
      annotations: { [POD_NAME_ANNOTATION]: POD_NAME },
    },
    spec: { domain: { devices: {} } },
    status: {
      phase: options.phase ?? "Running",
      interfaces: ips.length === 0 ? [] : [{ name: "default", ipAddress: ips[0], ipAddresses: [...ips] }],
    },
  };
}

export interface NodeOptions {
  readonly name?: string;
  /** The pod-uid label the kubelet registered; null leaves it off. */
  readonly podUidLabel?: string | null;
  /** The trusted label the controller sets; absent unless given. */
  readonly trustedFor?: string;
  /** Default: the registration taint for POD_UID. */
  readonly taints?: readonly V1Taint[];
  /** InternalIP addresses; default [VM_IP]. */
  readonly internalIps?: readonly string[];
  /** Ready condition status; undefined leaves the condition off. Default "True". */
  readonly ready?: "True" | "False" | "Unknown" | undefined;
}

export const registrationTaint = (podUid: string = POD_UID, taintKeyPrefix: string = defaultConfig().taintKeyPrefix): V1Taint => ({
  key: dedicatedTaintKey(taintKeyPrefix),
  value: podUid,
  effect: "NoSchedule",
});

/** The node the guest's kubelet registers: labels, taint, InternalIP, Ready. */
export function makeNode(options: NodeOptions = {}): V1Node {
  const name = options.name ?? DEFAULT_VM_NAME;
  const labels: Record<string, string> = { "kubernetes.io/hostname": name, [NODE_VM_LABEL]: name };
  if (options.podUidLabel !== null) labels[NODE_POD_UID_LABEL] = options.podUidLabel ?? POD_UID;
  if (options.trustedFor !== undefined) labels[TRUSTED_NODE_LABEL] = options.trustedFor;
  const conditions: V1NodeCondition[] = "ready" in options && options.ready === undefined ? [] : [{ type: "Ready", status: options.ready ?? "True", reason: "KubeletReady" }];
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name, labels },
    spec: { taints: [...(options.taints ?? [registrationTaint()])] },
    status: {
      addresses: [...(options.internalIps ?? [VM_IP]).map((address) => ({ type: "InternalIP", address })), { type: "Hostname", address: name }],
      conditions,
    },
  };
}

const base64 = (text: string): string => Buffer.from(text, "utf8").toString("base64");

/** A bootstrap token Secret as read back from the API server (data, base64). */
export function makeTokenSecret(options: { id?: string; secret?: string; podUid?: string } = {}): V1Secret {
  const id = options.id ?? "abc123";
  const secret = options.secret ?? "0123456789abcdef";
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name: `bootstrap-token-${id}`,
      namespace: "kube-system",
      labels: { [OWNED_LABELS.podUid]: options.podUid ?? POD_UID, [OWNED_LABELS.podNamespace]: POD_NAMESPACE, [OWNED_LABELS.component]: MANAGED_BY },
      annotations: { [POD_NAME_ANNOTATION]: POD_NAME },
    },
    type: "bootstrap.kubernetes.io/token",
    data: {
      "token-id": base64(id),
      "token-secret": base64(secret),
      expiration: base64(new Date(NOW + 30 * 60_000).toISOString()),
      "usage-bootstrap-authentication": base64("true"),
      "usage-bootstrap-signing": base64("true"),
    },
  };
}

/** The user-data Secret as read back from the API server. */
export function makeUserDataSecret(options: { vmName?: string; cloudConfig?: string } = {}): V1Secret {
  const vmName = options.vmName ?? DEFAULT_VM_NAME;
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name: userDataSecretNameFor(vmName),
      namespace: defaultConfig().vmNamespace,
      labels: { [OWNED_LABELS.podUid]: POD_UID, [OWNED_LABELS.podNamespace]: POD_NAMESPACE, [OWNED_LABELS.component]: MANAGED_BY },
      annotations: { [POD_NAME_ANNOTATION]: POD_NAME },
    },
    type: "Opaque",
    data: { [USER_DATA_SECRET_KEY]: base64(options.cloudConfig ?? "#cloud-config\n{}\n") },
  };
}

/** One reconcile's snapshot: a gated pod and nothing else yet, unless overridden. */
export function makeObserved(overrides: Partial<Observed> = {}): Observed {
  const config = overrides.config ?? defaultConfig();
  const pod = overrides.pod ?? makePod();
  return {
    pod,
    vmName: vmNameFor(config, pod.metadata?.uid ?? ""),
    vmi: undefined,
    userDataSecret: undefined,
    tokens: [],
    node: undefined,
    poolCandidates: [],
    config,
    caCertHash: CA_CERT_HASH,
    now: NOW,
    ...overrides,
  };
}

/** A deterministic byte source: 0, 1, 2, … across calls, restarting with each new source. */
export function countingBytes(start = 0): (n: number) => Uint8Array {
  let next = start;
  return (n) => Uint8Array.from({ length: n }, () => next++ % 256);
}

/** A byte source that must not be used (e.g. when an existing token is to be reused). */
export const noRandomBytes = (): Uint8Array => {
  throw new Error("randomBytes must not be called");
};

const actionsIn = (result: PhaseResult): readonly Action[] => (result.kind === "act" ? result.actions : []);

/** The actions of one kind, typed. */
export function actionsOf<K extends Action["kind"]>(result: PhaseResult, kind: K): Extract<Action, { kind: K }>[] {
  return actionsIn(result).filter((a): a is Extract<Action, { kind: K }> => a.kind === kind);
}

export const kindsOf = (result: PhaseResult): string[] => actionsIn(result).map((a) => a.kind);

/** The Events the actions would report once they took effect, in order. */
export const reportsOf = (result: PhaseResult): Report[] => actionsIn(result).flatMap((a) => ("report" in a && a.report ? [a.report] : []));

/** When the result asks to be looked at again. */
export const requeueOf = (result: PhaseResult): number | undefined => (result.kind === "skip" ? undefined : result.requeueAfterMs);

/** The files a #cloud-config document writes, as cloud-init reads them. */
export function writeFilesOf(cloudConfig: string): { path: string; permissions?: string; owner?: string; content: string }[] {
  const doc = parse(cloudConfig) as { write_files?: { path: string; permissions?: string; owner?: string; content: string }[] } | null;
  return doc?.write_files ?? [];
}

/** The join info a #cloud-config document writes, through the node image's own parser. */
export function writtenJoinInfo(cloudConfig: string): JoinInfoResult {
  const file = writeFilesOf(cloudConfig).find((f) => f.path === JOIN_INFO_PATH);
  return file ? parseJoinInfo(file.content) : { ok: false, errors: [`no ${JOIN_INFO_PATH} in write_files`] };
}
