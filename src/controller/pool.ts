import type { V1Node, V1Secret } from "@kubernetes/client-node";
import type { V1VirtualMachineInstance } from "@kubevirt-ui-ext/kubevirt-api/kubevirt";
import { KUBE_SYSTEM_NAMESPACE, NODE_VM_LABEL, POOL_LABEL, POOL_LABEL_VALUE, POOL_STATE_LABEL, POOL_STATES, POOL_TAINT_VALUE, poolTaintKey, poolVmNamePrefix } from "../api/names.ts";
import { mintToken, poolJoinInfo, poolTokenSecret, poolUserDataSecret, poolVirtualMachineInstance, poolVmName, renderCloudConfig, userDataSecretNameFor } from "./artifacts.ts";
import type { ControllerConfig } from "./config.ts";
import { isNodeReady } from "./observed.ts";
import { vmiAddresses } from "./verification.ts";

/**
 * The warm pool's own reconcile: keep `size` unclaimed pool VMs, replace those that fail, vanish or never produce a
 * verified node, drain the surplus, tidy what a deleted pool VM left. A pure decision over a snapshot; the driver
 * (pool-driver.ts) lists, decides and writes.
 */

export const isPoolVmi = (vmi: V1VirtualMachineInstance | undefined): boolean => vmi?.metadata?.labels?.[POOL_LABEL] === POOL_LABEL_VALUE;
export const isClaimedPoolVmi = (vmi: V1VirtualMachineInstance | undefined): boolean => isPoolVmi(vmi) && vmi?.metadata?.labels?.[POOL_STATE_LABEL] === POOL_STATES.claimed;
export const isUnclaimedPoolVmi = (vmi: V1VirtualMachineInstance | undefined): boolean => isPoolVmi(vmi) && vmi?.metadata?.labels?.[POOL_STATE_LABEL] === POOL_STATES.unclaimed;

/** Why this node cannot be the pool VMI's node; empty when it can. The same checks as a pod's node, with the pool's label and taint. */
export function verifyPoolNode(node: V1Node, vmi: V1VirtualMachineInstance, taintKeyPrefix: string): string[] {
  const problems: string[] = [];
  const vmName = vmi.metadata?.name ?? "";
  if (node.metadata?.name !== vmName) problems.push(`name ${node.metadata?.name ?? ""} is not ${vmName}`);
  if (node.metadata?.labels?.[POOL_LABEL] !== POOL_LABEL_VALUE) problems.push(`label ${POOL_LABEL} is not ${POOL_LABEL_VALUE}`);
  const key = poolTaintKey(taintKeyPrefix);
  if (!(node.spec?.taints ?? []).some((t) => t.key === key && t.value === POOL_TAINT_VALUE && t.effect === "NoSchedule")) problems.push(`taint ${key}=${POOL_TAINT_VALUE}:NoSchedule is missing`);
  const internalIps = (node.status?.addresses ?? []).filter((a) => a.type === "InternalIP").map((a) => a.address);
  const vmIps = vmiAddresses(vmi);
  if (internalIps.length === 0) problems.push("it reports no InternalIP");
  else if (!internalIps.every((ip) => vmIps.has(ip))) problems.push(`InternalIP ${internalIps.join(",")} is not among the VM's addresses`);
  return problems;
}

/** "failed" covers a retired VMI too (its delete is repeated, and counted as no failure). */
export type PoolVmState = "claimed" | "terminating" | "failed" | "timedOut" | "booting" | "available";

const createdAt = (object: { metadata?: { creationTimestamp?: Date | string } }): number | undefined => {
  const time = object.metadata?.creationTimestamp;
  return time === undefined ? undefined : new Date(time).getTime();
};

/** Where one pool VMI stands. Available: unclaimed, its node verified as a pool node and Ready. */
export function poolVmState(vmi: V1VirtualMachineInstance, node: V1Node | undefined, config: Pick<ControllerConfig, "taintKeyPrefix" | "registrationTimeoutMs">, now: number): PoolVmState {
  if (isClaimedPoolVmi(vmi)) return "claimed";
  if (vmi.metadata?.deletionTimestamp !== undefined) return "terminating";
  // Retired: its delete did not go through yet; deleted again, never claimed.
  if (!isUnclaimedPoolVmi(vmi)) return "failed";
  if (vmi.status?.phase === "Failed" || vmi.status?.phase === "Succeeded") return "failed";
  const verified = node !== undefined && verifyPoolNode(node, vmi, config.taintKeyPrefix).length === 0;
  if (verified && isNodeReady(node)) return "available";
  if (!verified && now - (createdAt(vmi) ?? now) > config.registrationTimeoutMs) return "timedOut";
  return "booting";
}

export interface PoolSnapshot {
  readonly config: ControllerConfig;
  /** The pool VMIs (label maroonedpods.io/pool=true) in the VM namespace, read past the cache. */
  readonly vmis: readonly V1VirtualMachineInstance[];
  /** Nodes by name. */
  readonly node: (name: string) => V1Node | undefined;
  /** Every node carrying the pool label. */
  readonly poolNodes: readonly V1Node[];
  /** Pool bootstrap tokens (kube-system) and user-data Secrets (VM namespace). */
  readonly tokens: readonly V1Secret[];
  readonly userDataSecrets: readonly V1Secret[];
  readonly caCertHash: string;
  readonly now: number;
  /** Pool VMs that failed or timed out since the pool last had one available, and when the last did. */
  readonly failures: { readonly count: number; readonly lastAt: number };
}

export type PoolAction =
  | { readonly kind: "createSecret"; readonly secret: V1Secret }
  | { readonly kind: "createVmi"; readonly vmi: V1VirtualMachineInstance }
  /** Retired, then deleted, only while unclaimed: a VMI claimed meanwhile stays. */
  | { readonly kind: "deletePoolVmi"; readonly name: string; readonly why: string }
  | { readonly kind: "deleteSecret"; readonly namespace: string; readonly name: string }
  | { readonly kind: "deleteNode"; readonly name: string };

export interface PoolCounts {
  readonly desired: number;
  readonly booting: number;
  readonly available: number;
  readonly claimed: number;
}

export interface PoolDecision {
  readonly actions: readonly PoolAction[];
  readonly counts: PoolCounts;
  /** Pool VMs this decision replaces for failing or timing out (the driver's backoff counts them). */
  readonly newFailures: number;
  readonly requeueAfterMs?: number;
}

const BACKOFF_BASE_MS = 1_000;
const BACKOFF_MAX_MS = 5 * 60_000;
/** A pool Secret or token is created just before its VMI: without one for this long, it is left over. */
export const LEFTOVER_GRACE_MS = 2 * 60_000;

export const poolBackoffMs = (failures: number): number => (failures <= 0 ? 0 : Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (failures - 1)));

const nameOf = (o: { metadata?: { name?: string } }): string => o.metadata?.name ?? "";
const vmOf = (secret: V1Secret): string => secret.metadata?.labels?.[NODE_VM_LABEL] ?? "";

export function decidePool(s: PoolSnapshot, randomBytes: (n: number) => Uint8Array): PoolDecision {
  const { config, now } = s;
  const size = config.warmPool.size;
  const actions: PoolAction[] = [];
  const states = s.vmis.map((vmi) => ({ vmi, state: poolVmState(vmi, s.node(nameOf(vmi)), config, now) }));
  const deleteVm = (vmi: V1VirtualMachineInstance, why: string) => {
    actions.push({ kind: "deletePoolVmi", name: nameOf(vmi), why });
  };
  let newFailures = 0;
  for (const { vmi, state } of states) {
    if (state === "failed" || state === "timedOut") {
      const retired = !isUnclaimedPoolVmi(vmi);
      deleteVm(vmi, retired ? "retired" : state === "failed" ? "failed" : `no verified node within ${config.registrationTimeoutMs / 1000}s`);
      if (!retired) newFailures++;
    }
  }
  const booting = states.filter((x) => x.state === "booting");
  const available = states.filter((x) => x.state === "available");
  const claimed = states.filter((x) => x.state === "claimed").length;
  const unclaimed = booting.length + available.length;
  let requeueAfterMs: number | undefined;
  const requeueAt = (at: number) => {
    const ms = Math.max(0, at - now) + 100;
    requeueAfterMs = requeueAfterMs === undefined ? ms : Math.min(requeueAfterMs, ms);
  };
  for (const { vmi } of booting) requeueAt((createdAt(vmi) ?? now) + config.registrationTimeoutMs);

  if (unclaimed > size) {
    // Drain: booting ones first (newest first), then available ones; never a claimed one.
    const newestFirst = (a: { vmi: V1VirtualMachineInstance }, b: { vmi: V1VirtualMachineInstance }) => (createdAt(b.vmi) ?? 0) - (createdAt(a.vmi) ?? 0);
    const surplus = [...[...booting].sort(newestFirst), ...[...available].sort(newestFirst)].slice(0, unclaimed - size);
    for (const { vmi } of surplus) deleteVm(vmi, `the pool is ${size}`);
  } else if (unclaimed < size) {
    const failures = s.failures.count + newFailures;
    const readyAt = newFailures > 0 ? now + poolBackoffMs(failures) : s.failures.lastAt + poolBackoffMs(failures);
    if (failures > 0 && now < readyAt) requeueAt(readyAt);
    else {
      // Unclaimed (booting included) plus these stays at `size`, and booting plus these at `maxBooting`: the rest
      // follow as these become available (their events wake the pool), so a refill never crowds the pods' own work.
      const toCreate = Math.min(size - unclaimed, Math.max(0, config.warmPool.maxBooting - booting.length));
      for (let i = 0; i < toCreate; i++) {
        const name = poolVmName(config, randomBytes);
        const token = mintToken(randomBytes);
        actions.push(
          { kind: "createSecret", secret: poolTokenSecret(name, token, config, now) },
          { kind: "createSecret", secret: poolUserDataSecret(name, config, renderCloudConfig(poolJoinInfo(name, token, config, s.caCertHash))) },
          { kind: "createVmi", vmi: poolVirtualMachineInstance(name, config) },
        );
      }
    }
  }

  // What a pool VM leaves: its token once its node is verified (single use) or its VMI is gone or done with; its
  // user-data Secret and node once its VMI is gone (a claimed one's pod teardown removes them first).
  const live = new Map(s.vmis.filter((v) => v.metadata?.deletionTimestamp === undefined).map((v) => [nameOf(v), v]));
  const leaving = new Set(actions.filter((a) => a.kind === "deletePoolVmi").map((a) => a.name));
  const stale = (o: { metadata?: { creationTimestamp?: Date | string } }): boolean => {
    const at = createdAt(o);
    if (at === undefined || now - at > LEFTOVER_GRACE_MS) return true;
    requeueAt(at + LEFTOVER_GRACE_MS);
    return false;
  };
  for (const token of s.tokens) {
    const vm = vmOf(token);
    const vmi = live.get(vm);
    const node = s.node(vm);
    const spent = isClaimedPoolVmi(vmi) || (vmi !== undefined && node !== undefined && verifyPoolNode(node, vmi, config.taintKeyPrefix).length === 0);
    if (leaving.has(vm) || spent || (vmi === undefined && stale(token))) actions.push({ kind: "deleteSecret", namespace: KUBE_SYSTEM_NAMESPACE, name: nameOf(token) });
  }
  for (const secret of s.userDataSecrets) {
    const vm = vmOf(secret);
    if (secret.metadata?.name !== userDataSecretNameFor(vm)) continue;
    if (leaving.has(vm) || (!live.has(vm) && stale(secret))) actions.push({ kind: "deleteSecret", namespace: config.vmNamespace, name: nameOf(secret) });
  }
  const prefix = poolVmNamePrefix(config.nodeNamePrefix);
  for (const node of s.poolNodes) {
    const name = nameOf(node);
    // A node is removed only under a pool VM's name, never for its label alone.
    if (!name.startsWith(prefix) || node.metadata?.labels?.[POOL_LABEL] !== POOL_LABEL_VALUE) continue;
    if (leaving.has(name) || !live.has(name)) actions.push({ kind: "deleteNode", name });
  }
  return {
    actions,
    counts: { desired: size, booting: booting.length, available: available.length, claimed },
    newFailures,
    ...(requeueAfterMs === undefined ? {} : { requeueAfterMs }),
  };
}
