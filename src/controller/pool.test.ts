import type { V1Node, V1Secret } from "@kubernetes/client-node";
import type { V1VirtualMachineInstance } from "@kubevirt-ui-ext/kubevirt-api/kubevirt";
import { describe, expect, it } from "vitest";
import { MANAGED_BY, OWNED_LABELS } from "../api/conditions.ts";
import { NODE_VM_LABEL, POOL_LABEL, POOL_STATE_LABEL } from "../api/names.ts";
import { parseJoinInfo } from "../joininfo/join-info.ts";
import { poolJoinInfo, poolVirtualMachineInstance, poolVmName } from "./artifacts.ts";
import { ago, CA_CERT_HASH, countingBytes, defaultConfig, makeNode, NOW, VM_IP } from "./fixtures.test-support.ts";
import { decidePool, poolBackoffMs, poolVmState, verifyPoolNode, type PoolSnapshot } from "./pool.ts";
import { stringify } from "yaml";

const POOL = "marooned-pool-aaaaaaaaaa";
const config = (size: number) => defaultConfig({ warmPool: { ...defaultConfig().warmPool, size, vmResources: defaultConfig().sizing.base } });
const poolTaint = { key: "maroonedpods.io/pool", value: "unclaimed", effect: "NoSchedule" };

function poolVmi(name = POOL, options: { state?: "unclaimed" | "claimed"; phase?: string; createdMsAgo?: number; deleting?: boolean } = {}): V1VirtualMachineInstance {
  const vmi = poolVirtualMachineInstance(name, config(1));
  return {
    ...vmi,
    metadata: {
      ...vmi.metadata,
      resourceVersion: "7",
      creationTimestamp: ago(options.createdMsAgo ?? 60_000).toISOString(),
      labels: { ...vmi.metadata?.labels, [POOL_STATE_LABEL]: options.state ?? "unclaimed" },
      ...(options.deleting ? { deletionTimestamp: ago(1_000).toISOString() } : {}),
    },
    status: { phase: options.phase ?? "Running", interfaces: [{ name: "default", ipAddress: VM_IP, ipAddresses: [VM_IP] }] },
  };
}
const poolNode = (name = POOL, options: { ready?: "True" | "False"; taints?: V1Node["spec"] extends infer S ? S extends { taints?: infer T } ? T : never : never } = {}): V1Node => {
  const node = makeNode({ name, podUidLabel: null, taints: options.taints ?? [poolTaint], ready: options.ready ?? "True" });
  return { ...node, metadata: { ...node.metadata, labels: { ...node.metadata?.labels, [POOL_LABEL]: "true", [NODE_VM_LABEL]: name } } };
};
const poolSecret = (name: string, namespace: string, vm = POOL, createdMsAgo = 60_000): V1Secret => ({
  metadata: { name, namespace, creationTimestamp: ago(createdMsAgo), labels: { [POOL_LABEL]: "true", [NODE_VM_LABEL]: vm, [OWNED_LABELS.component]: MANAGED_BY } },
});

function snapshot(overrides: Partial<PoolSnapshot> & { size?: number; nodes?: V1Node[] } = {}): PoolSnapshot {
  const nodes = overrides.nodes ?? [];
  return {
    config: config(overrides.size ?? 1),
    vmis: [],
    node: (name) => nodes.find((n) => n.metadata?.name === name),
    poolNodes: nodes,
    tokens: [],
    userDataSecrets: [],
    caCertHash: CA_CERT_HASH,
    now: NOW,
    failures: { count: 0, lastAt: 0 },
    ...overrides,
  };
}
const kinds = (s: PoolSnapshot) => decidePool(s, countingBytes()).actions.map((a) => a.kind);

describe("pool artifacts", () => {
  it("names a pool VM for what it is, and its join info validates with no pod identity", () => {
    const name = poolVmName(config(1), countingBytes());
    expect(name).toMatch(/^marooned-pool-[a-z0-9]{10}$/);
    const info = poolJoinInfo(name, { id: "abcdef", secret: "0123456789abcdef" }, config(1), CA_CERT_HASH);
    expect(info.pod_uid).toBeUndefined();
    expect(info.taints).toEqual([poolTaint]);
    expect(parseJoinInfo(stringify(info))).toEqual({ ok: true, joinInfo: info });
  });
});

describe("verifyPoolNode and poolVmState", () => {
  it.each<[string, V1Node, string[]]>([
    ["a pool node as registered", poolNode(), []],
    ["another name", poolNode("marooned-pool-bbbbbbbbbb"), [`name marooned-pool-bbbbbbbbbb is not ${POOL}`]],
    ["no pool taint", poolNode(POOL, { taints: [] }), ["taint maroonedpods.io/pool=unclaimed:NoSchedule is missing"]],
  ])("%s", (_, node, problems) => {
    expect(verifyPoolNode(node, poolVmi(), "maroonedpods.io")).toEqual(problems);
  });

  it.each<[string, V1VirtualMachineInstance, V1Node | undefined, string]>([
    ["claimed", poolVmi(POOL, { state: "claimed" }), poolNode(), "claimed"],
    ["deleting", poolVmi(POOL, { deleting: true }), poolNode(), "terminating"],
    ["failed", poolVmi(POOL, { phase: "Failed" }), undefined, "failed"],
    ["verified and Ready", poolVmi(), poolNode(), "available"],
    ["verified, not Ready", poolVmi(), poolNode(POOL, { ready: "False" }), "booting"],
    ["no node yet, in time", poolVmi(), undefined, "booting"],
    ["no node past the registration timeout", poolVmi(POOL, { createdMsAgo: 11 * 60_000 }), undefined, "timedOut"],
  ])("%s: %s", (_, vmi, node, state) => {
    expect(poolVmState(vmi, node, config(1), NOW)).toBe(state);
  });
});

describe("decidePool", () => {
  it("with the pool off and nothing of it, does nothing", () => {
    expect(decidePool(snapshot({ size: 0 }), countingBytes())).toEqual({ actions: [], counts: { desired: 0, booting: 0, available: 0, claimed: 0 }, newFailures: 0 });
  });

  it("fills the pool: a token, user data and a VMI per missing VM, never more than the size", () => {
    const decision = decidePool(snapshot({ size: 3, vmis: [poolVmi()], nodes: [poolNode()] }), countingBytes());
    expect(decision.actions.map((a) => a.kind)).toEqual(["createSecret", "createSecret", "createVmi", "createSecret", "createSecret", "createVmi"]);
    expect(decision.counts).toEqual({ desired: 3, booting: 0, available: 1, claimed: 0 });
  });

  it("boots at most maxBooting at once, booting ones counted; the rest wait for those to become available", () => {
    const capped = (vmis: V1VirtualMachineInstance[]) =>
      decidePool({ ...snapshot({ size: 5, vmis }), config: { ...config(5), warmPool: { ...config(5).warmPool, maxBooting: 2 } } }, countingBytes()).actions.filter((a) => a.kind === "createVmi").length;
    expect(capped([])).toBe(2);
    expect(capped([poolVmi("marooned-pool-bbbbbbbbbb", { createdMsAgo: 1_000 })])).toBe(1);
    expect(capped([poolVmi("marooned-pool-bbbbbbbbbb", { createdMsAgo: 1_000 }), poolVmi("marooned-pool-cccccccccc", { createdMsAgo: 1_000 })])).toBe(0);
    // Claimed ones do not boot: a claim's refill starts at once.
    expect(capped([poolVmi("marooned-pool-bbbbbbbbbb", { state: "claimed" })])).toBe(2);
  });

  it("counts a claimed VM as no slot: a claim is refilled", () => {
    expect(kinds(snapshot({ size: 1, vmis: [poolVmi(POOL, { state: "claimed" })], nodes: [poolNode()] }))).toEqual(["createSecret", "createSecret", "createVmi"]);
  });

  it("counts booting VMs as slots: no second VM for one slot", () => {
    expect(kinds(snapshot({ size: 1, vmis: [poolVmi(POOL, { createdMsAgo: 1_000 })] }))).toEqual([]);
  });

  it("replaces a failed VM, with backoff once failures repeat", () => {
    const failed = snapshot({ size: 1, vmis: [poolVmi(POOL, { phase: "Failed" })], tokens: [poolSecret("bootstrap-token-abcdef", "kube-system")] });
    const first = decidePool(failed, countingBytes());
    expect(first.newFailures).toBe(1);
    expect(first.actions.map((a) => a.kind)).toEqual(["deletePoolVmi", "deleteSecret"]);
    expect(first.actions[0]).toMatchObject({ name: POOL, why: "failed" });
    expect(first.requeueAfterMs).toBe(poolBackoffMs(1) + 100);
    // Once the backoff passed, the replacement.
    expect(kinds(snapshot({ size: 1, failures: { count: 1, lastAt: NOW - 2_000 } }))).toEqual(["createSecret", "createSecret", "createVmi"]);
    expect(kinds(snapshot({ size: 1, failures: { count: 3, lastAt: NOW - 2_000 } }))).toEqual([]);
  });

  it("deletes a retired VM again (a delete that did not go through), counted as no failure", () => {
    const retired = poolVmi();
    const vmi = { ...retired, metadata: { ...retired.metadata, labels: { ...retired.metadata?.labels, [POOL_STATE_LABEL]: "retired" } } };
    const decision = decidePool(snapshot({ size: 0, vmis: [vmi] }), countingBytes());
    expect(decision.actions).toEqual([{ kind: "deletePoolVmi", name: POOL, why: "retired" }]);
    expect(decision.newFailures).toBe(0);
  });

  it("replaces a VM that produced no verified node within the registration timeout", () => {
    expect(kinds(snapshot({ size: 1, vmis: [poolVmi(POOL, { createdMsAgo: 11 * 60_000 })] }))).toEqual(["deletePoolVmi"]);
  });

  it("drains the surplus, booting ones first, and never a claimed one", () => {
    const booting = poolVmi("marooned-pool-booting000", { createdMsAgo: 1_000 });
    const claimed = poolVmi("marooned-pool-claimed000", { state: "claimed" });
    const decision = decidePool(snapshot({ size: 1, vmis: [poolVmi(), booting, claimed], nodes: [poolNode()] }), countingBytes());
    expect(decision.actions).toEqual([{ kind: "deletePoolVmi", name: "marooned-pool-booting000", why: "the pool is 1" }]);
    const toZero = decidePool(snapshot({ size: 0, vmis: [poolVmi(), claimed], nodes: [poolNode()] }), countingBytes());
    expect(toZero.actions.flatMap((a) => (a.kind === "deletePoolVmi" ? [a.name] : []))).toEqual([POOL]);
  });

  it("deletes a verified pool node's token: single use", () => {
    const decision = decidePool(snapshot({ size: 1, vmis: [poolVmi()], nodes: [poolNode()], tokens: [poolSecret("bootstrap-token-abcdef", "kube-system")] }), countingBytes());
    expect(decision.actions).toEqual([{ kind: "deleteSecret", namespace: "kube-system", name: "bootstrap-token-abcdef" }]);
  });

  it("removes what a vanished pool VM left, after the grace for a create in flight", () => {
    const vms = defaultConfig().vmNamespace;
    const leftovers = snapshot({
      size: 0,
      nodes: [poolNode()],
      tokens: [poolSecret("bootstrap-token-abcdef", "kube-system", POOL, 3 * 60_000)],
      userDataSecrets: [poolSecret(`${POOL}-cloud-init`, vms, POOL, 3 * 60_000), poolSecret("marooned-pool-new0000000-cloud-init", vms, "marooned-pool-new0000000", 1_000)],
    });
    const decision = decidePool(leftovers, countingBytes());
    expect(decision.actions).toEqual([
      { kind: "deleteSecret", namespace: "kube-system", name: "bootstrap-token-abcdef" },
      { kind: "deleteSecret", namespace: vms, name: `${POOL}-cloud-init` },
      { kind: "deleteNode", name: POOL },
    ]);
    expect(decision.requeueAfterMs).toBeGreaterThan(0);
  });

  it("never deletes a node outside the pool's names", () => {
    const node = poolNode("worker-1");
    expect(kinds(snapshot({ size: 0, nodes: [node] }))).toEqual([]);
  });
});
