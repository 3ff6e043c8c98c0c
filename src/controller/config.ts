import { dedicatedTaintKey, poolTaintKey, DEFAULT_NODE_NAME_PREFIX, DEFAULT_TAINT_KEY_PREFIX, DEFAULT_VM_NAMESPACE, KUBEADM_NODE_BOOTSTRAP_GROUP } from "../api/names.ts";
import { JOIN_METHODS, QUALIFIED_NAME_PATTERN, SERVER_URL_PATTERN, type JoinMethod } from "../joininfo/join-info.ts";
import { parseCpuMillis, parseMemoryBytes } from "../kube/quantity.ts";
import { NETWORK_BINDINGS, type NetworkBinding } from "../kubevirt/api.ts";
import type { Resources, VmSizingConfig } from "./sizing.ts";

export const CONFIG_GROUP = "maroonedpods.io";
export const CONFIG_VERSION = "v1alpha1";
export const CONFIG_PLURAL = "maroonedpodsconfigs";
/** The one object the controller reads; others are ignored (and the CRD rejects them). */
export const CONFIG_NAME = "default";

export interface KernelBoot {
  readonly kernelPath: string;
  readonly initrdPath: string;
  readonly kernelArgs: string;
}

/** The configuration every phase decides with: parsed, validated, defaulted. */
export interface ControllerConfig {
  readonly nodeImage: string;
  /** Pre-booted single-use VMs a pod that fits claims instead of launching its own; size 0 (the default): none. */
  readonly warmPool: WarmPoolConfig;
  readonly sizing: VmSizingConfig;
  /** Added to every VM's memory for what the guest keeps from its kubelet (kernel, eviction threshold); see SPEC_DEFAULTS. */
  readonly guestReservedMemoryBytes: number;
  readonly kernelBoot: KernelBoot | undefined;
  readonly taintKeyPrefix: string;
  readonly joinMethod: JoinMethod;
  readonly networkBinding: NetworkBinding;
  readonly apiServerEndpoint: string;
  readonly vmNamespace: string;
  readonly nodeNamePrefix: string;
  readonly registrationTimeoutMs: number;
  readonly maxAttempts: number;
  readonly bootstrapTokenTtlMs: number;
  readonly bootstrapTokenGroups: readonly string[];
}

export interface WarmPoolConfig {
  readonly size: number;
  /** Pool VMs booting at once, at most: a refill (or a fill from empty) yields to the pods' own launches and claims. */
  readonly maxBooting: number;
  /** Every pool VM's size; a pod claims one only if its own VM would be no bigger and the pod is charged no less. */
  readonly vmResources: Resources;
}

/** The spec as the CRD stores it; every field optional. */
export interface MaroonedPodsConfigSpec {
  nodeImage?: string;
  /** The short form of warmPool.size. */
  warmPoolSize?: number;
  warmPool?: { size?: number; maxBooting?: number; vmResources?: { cpu?: string; memory?: string } };
  baseVMResources?: { cpu?: string; memoryMi?: number };
  resourceOverhead?: { cpu?: string; memory?: string };
  maxVMResources?: { cpu?: string; memory?: string };
  guestReservedMemory?: string;
  enableKernelBoot?: boolean;
  kernelBootConfig?: { kernelPath?: string; initrdPath?: string; kernelArgs?: string };
  nodeTaintKey?: string;
  joinMethod?: string;
  networkBinding?: string;
  apiServerEndpoint?: string;
  vmNamespace?: string;
  nodeNamePrefix?: string;
  registrationTimeout?: string;
  maxAttempts?: number;
  bootstrapTokenTTL?: string;
  bootstrapTokenGroups?: string[];
}

export const SPEC_DEFAULTS = {
  nodeImage: "quay.io/maroonedpods/node:k3s-v1.35.4",
  baseVMResources: { cpu: "1", memoryMi: 1024 },
  // The VM beyond the pod: guest OS, kubelet, runtime. It is the `marooned` RuntimeClass's podFixed overhead too,
  // so every pod is charged it; it covers the base VM, so no VM costs more than its pod's charge.
  resourceOverhead: { cpu: "1", memory: "1Gi" },
  maxVMResources: { cpu: "16", memory: "64Gi" },
  // A real kubelet's allocatable memory is its VM's less what the guest kernel keeps and the eviction threshold
  // (a 1 GiB guest under QEMU: 909 MiB). The scheduler must still fit requests + overhead onto it, so each VM gets
  // this much more memory than the pod is charged: fixed by the operator, never by a tenant.
  guestReservedMemory: "256Mi",
  enableKernelBoot: false,
  kernelBootConfig: { kernelPath: "/boot/vmlinuz", initrdPath: "/boot/initramfs.img", kernelArgs: "console=ttyS0" },
  nodeTaintKey: DEFAULT_TAINT_KEY_PREFIX,
  joinMethod: "k3s",
  networkBinding: "bridge",
  nodeNamePrefix: DEFAULT_NODE_NAME_PREFIX,
  registrationTimeout: "10m",
  maxAttempts: 3,
  bootstrapTokenTTL: "30m",
  bootstrapTokenGroups: [KUBEADM_NODE_BOOTSTRAP_GROUP],
} as const;

/** Defaults inside `warmPool`, which itself has none (unset, the pool is off). */
export const WARM_POOL_DEFAULTS = { maxBooting: 10 } as const;

/** A pod UID is 36 characters; the node name must stay a 63-character DNS label. */
const MAX_NODE_NAME_PREFIX = 63 - 36;
const DURATION = /^(\d+)(s|m|h)$/;
/** Longer waits help nobody, and keep timers and token expiry dates in range. */
const MAX_DURATION_MS = 24 * 3_600_000;

export function parseDuration(text: string): number | undefined {
  const match = DURATION.exec(text);
  if (!match) return undefined;
  const unit = match[2] === "s" ? 1_000 : match[2] === "m" ? 60_000 : 3_600_000;
  return Number(match[1]) * unit;
}

type Result = { ok: true; config: ControllerConfig } | { ok: false; errors: string[] };

/** What the controller knows before any config: its own API endpoint, and the VM namespace its flag names. */
export interface ConfigDefaults {
  readonly apiServerEndpoint: string;
  /** `--vm-namespace`, read once at start; spec.vmNamespace never overrides it. Default maroonedpods-vms. */
  readonly vmNamespace?: string;
}

function quantity<T>(errors: string[], field: string, parse: (q: string) => T, value: string): T {
  try {
    return parse(value);
  } catch (error) {
    errors.push(`${field}: ${(error as Error).message}`);
    return parse("0");
  }
}

/**
 * The spec of the `default` MaroonedPodsConfig (or undefined when there is
 * none) resolved against the defaults; every problem is reported with its field.
 */
export function resolveConfig(spec: MaroonedPodsConfigSpec | undefined, defaults: ConfigDefaults): Result {
  const s = spec ?? {};
  const errors: string[] = [];
  const base = { ...SPEC_DEFAULTS.baseVMResources, ...s.baseVMResources };
  const overhead = { ...SPEC_DEFAULTS.resourceOverhead, ...s.resourceOverhead };
  const max = { ...SPEC_DEFAULTS.maxVMResources, ...s.maxVMResources };
  const kernel = { ...SPEC_DEFAULTS.kernelBootConfig, ...s.kernelBootConfig };
  const joinMethod = s.joinMethod ?? SPEC_DEFAULTS.joinMethod;
  const networkBinding = s.networkBinding ?? SPEC_DEFAULTS.networkBinding;
  const prefix = s.nodeNamePrefix ?? SPEC_DEFAULTS.nodeNamePrefix;
  const registrationTimeoutMs = parseDuration(s.registrationTimeout ?? SPEC_DEFAULTS.registrationTimeout);
  const bootstrapTokenTtlMs = parseDuration(s.bootstrapTokenTTL ?? SPEC_DEFAULTS.bootstrapTokenTTL);
  const maxAttempts = s.maxAttempts ?? SPEC_DEFAULTS.maxAttempts;
  const warmPoolSize = s.warmPool?.size ?? s.warmPoolSize ?? 0;
  const poolMaxBooting = s.warmPool?.maxBooting ?? WARM_POOL_DEFAULTS.maxBooting;
  const apiServerEndpoint = s.apiServerEndpoint ?? defaults.apiServerEndpoint;
  const taintKeyPrefix = s.nodeTaintKey ?? SPEC_DEFAULTS.nodeTaintKey;

  if (!(JOIN_METHODS as readonly string[]).includes(joinMethod)) errors.push(`joinMethod: must be one of ${JOIN_METHODS.join(", ")}`);
  if (!(NETWORK_BINDINGS as readonly string[]).includes(networkBinding)) {
    errors.push(`networkBinding: must be one of ${NETWORK_BINDINGS.join(", ")} (masquerade hides the pod's IP from the guest, so its node could never be verified)`);
  }
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?-?$/.test(prefix) || prefix.length > MAX_NODE_NAME_PREFIX) {
    errors.push(`nodeNamePrefix: must be lowercase letters, digits and '-', at most ${MAX_NODE_NAME_PREFIX} characters`);
  }
  if (registrationTimeoutMs === undefined || registrationTimeoutMs <= 0 || registrationTimeoutMs > MAX_DURATION_MS) errors.push("registrationTimeout: must be a positive duration up to 24h, like 10m");
  if (bootstrapTokenTtlMs === undefined || bootstrapTokenTtlMs <= 0 || bootstrapTokenTtlMs > MAX_DURATION_MS) errors.push("bootstrapTokenTTL: must be a positive duration up to 24h, like 30m");
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) errors.push("maxAttempts: must be an integer >= 1");
  if (!Number.isInteger(warmPoolSize) || warmPoolSize < 0) errors.push(`${s.warmPool?.size === undefined ? "warmPoolSize" : "warmPool.size"}: must be an integer >= 0`);
  if (!Number.isInteger(poolMaxBooting) || poolMaxBooting < 1) errors.push("warmPool.maxBooting: must be an integer >= 1");
  // warmPoolSize 0 is what the CRD used to default (stored objects still carry it): it never conflicts.
  if (s.warmPool?.size !== undefined && s.warmPoolSize !== undefined && s.warmPoolSize !== 0 && s.warmPool.size !== s.warmPoolSize) {
    errors.push("warmPool.size: warmPoolSize is its short form; set one of them, or both to the same value");
  }
  if (!Number.isInteger(base.memoryMi) || base.memoryMi <= 0) errors.push("baseVMResources.memoryMi: must be a positive integer");
  // The join info's schema decides: a value it rejects would give guests that can never join.
  if (!SERVER_URL_PATTERN.test(apiServerEndpoint)) errors.push("apiServerEndpoint: must be an https:// URL with a host or [IPv6] and an optional port, no path");
  if (!QUALIFIED_NAME_PATTERN.test(taintKeyPrefix) || !QUALIFIED_NAME_PATTERN.test(dedicatedTaintKey(taintKeyPrefix))) {
    errors.push("nodeTaintKey: must be a lowercase DNS subdomain of at most 63 characters, like maroonedpods.io");
  }
  const errorsBeforeSizing = errors.length;
  const sizing: VmSizingConfig = {
    base: { cpuMillis: quantity(errors, "baseVMResources.cpu", parseCpuMillis, base.cpu), memoryBytes: base.memoryMi * 1024 * 1024 },
    overhead: { cpuMillis: quantity(errors, "resourceOverhead.cpu", parseCpuMillis, overhead.cpu), memoryBytes: quantity(errors, "resourceOverhead.memory", parseMemoryBytes, overhead.memory) },
    max: { cpuMillis: quantity(errors, "maxVMResources.cpu", parseCpuMillis, max.cpu), memoryBytes: quantity(errors, "maxVMResources.memory", parseMemoryBytes, max.memory) },
  };
  const guestReservedMemoryBytes = quantity(errors, "guestReservedMemory", parseMemoryBytes, s.guestReservedMemory ?? SPEC_DEFAULTS.guestReservedMemory);
  // An unparsable quantity stands in as 0: comparing with it would blame a field that is fine.
  if (errors.length === errorsBeforeSizing && (sizing.base.cpuMillis > sizing.max.cpuMillis || sizing.base.memoryBytes > sizing.max.memoryBytes)) errors.push("baseVMResources: must not exceed maxVMResources");
  else if (errors.length === errorsBeforeSizing && (sizing.overhead.cpuMillis < sizing.base.cpuMillis || sizing.overhead.memoryBytes < sizing.base.memoryBytes)) {
    errors.push("resourceOverhead: must be at least baseVMResources: a pod is charged its requests plus this overhead, and a VM never costs more than its pod's charge");
  }
  // A pool VM is a VM like any other: at least the base, at most the maximum. Unset, it is the base VM.
  const poolCpu = s.warmPool?.vmResources?.cpu;
  const poolMemory = s.warmPool?.vmResources?.memory;
  const errorsBeforePool = errors.length;
  const poolResources: Resources = {
    cpuMillis: poolCpu === undefined ? sizing.base.cpuMillis : quantity(errors, "warmPool.vmResources.cpu", parseCpuMillis, poolCpu),
    memoryBytes: poolMemory === undefined ? sizing.base.memoryBytes : quantity(errors, "warmPool.vmResources.memory", parseMemoryBytes, poolMemory),
  };
  if (errors.length === errorsBeforePool && errors.length === errorsBeforeSizing) {
    if (poolResources.cpuMillis < sizing.base.cpuMillis || poolResources.memoryBytes < sizing.base.memoryBytes) errors.push("warmPool.vmResources: must be at least baseVMResources");
    else if (poolResources.cpuMillis > sizing.max.cpuMillis || poolResources.memoryBytes > sizing.max.memoryBytes) errors.push("warmPool.vmResources: must not exceed maxVMResources");
  }
  if (!QUALIFIED_NAME_PATTERN.test(poolTaintKey(taintKeyPrefix)) && errors.every((e) => !e.startsWith("nodeTaintKey"))) errors.push("nodeTaintKey: too long for the pool taint key");
  const enableKernelBoot = s.enableKernelBoot ?? SPEC_DEFAULTS.enableKernelBoot;
  if (enableKernelBoot && !kernel.kernelPath && !kernel.initrdPath) errors.push("kernelBootConfig: needs kernelPath or initrdPath when enableKernelBoot is true");
  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    config: {
      nodeImage: s.nodeImage ?? SPEC_DEFAULTS.nodeImage,
      warmPool: { size: warmPoolSize, maxBooting: poolMaxBooting, vmResources: poolResources },
      sizing,
      guestReservedMemoryBytes,
      kernelBoot: enableKernelBoot ? kernel : undefined,
      taintKeyPrefix,
      joinMethod: joinMethod as JoinMethod,
      networkBinding: networkBinding as NetworkBinding,
      apiServerEndpoint,
      // Caches watch one namespace from start to stop: every write goes where they watch.
      vmNamespace: defaults.vmNamespace ?? DEFAULT_VM_NAMESPACE,
      nodeNamePrefix: prefix,
      registrationTimeoutMs: registrationTimeoutMs ?? 0,
      maxAttempts,
      bootstrapTokenTtlMs: bootstrapTokenTtlMs ?? 0,
      bootstrapTokenGroups: s.bootstrapTokenGroups ?? SPEC_DEFAULTS.bootstrapTokenGroups,
    },
  };
}
