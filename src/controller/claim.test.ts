import type { V1Node } from "@kubernetes/client-node";
import type { V1VirtualMachineInstance } from "@kubevirt-ui-ext/kubevirt-api/kubevirt";
import { describe, expect, it } from "vitest";
import { OWNED_LABELS, POD_CONDITIONS, REASONS } from "../api/conditions.ts";
import { NODE_POD_UID_LABEL, POOL_LABEL, POOL_STATE_LABEL } from "../api/names.ts";
import { poolVirtualMachineInstance } from "./artifacts.ts";
import { decideClaim, nodeCarriesClaim, poolMissFor } from "./claim.ts";
import { countingBytes, defaultConfig, kindsOf, makeNode, makeObserved, makePod, makeVmi, podCondition, POD_UID, registrationTaint, reportsOf, VM_IP } from "./fixtures.test-support.ts";
import { decide } from "./lifecycle.ts";
import { SKIP, type Observed, type PoolCandidate } from "./observed.ts";

const Mi = 1024 * 1024;
const POOL = "marooned-pool-aaaaaaaaaa";
/** The fixture pod (500m, 512Mi, the default overhead) needs exactly a 1500m / 1536Mi VM and is charged that. */
const FITTING = { cpuMillis: 1_500, memoryBytes: 1_536 * Mi };
const poolConfig = (size = 2, vmResources = FITTING) => defaultConfig({ warmPool: { ...defaultConfig().warmPool, size, vmResources } });
const poolTaint = { key: "maroonedpods.io/pool", value: "unclaimed", effect: "NoSchedule" };

function poolVmi(name = POOL, claimedBy?: string): V1VirtualMachineInstance {
  const vmi = poolVirtualMachineInstance(name, poolConfig());
  const labels = { ...vmi.metadata?.labels, ...(claimedBy ? { [POOL_STATE_LABEL]: "claimed", [OWNED_LABELS.podUid]: claimedBy } : {}) };
  return { ...vmi, metadata: { ...vmi.metadata, labels }, status: { phase: "Running", interfaces: [{ name: "default", ipAddress: VM_IP, ipAddresses: [VM_IP] }] } };
}
const poolNode = (name = POOL, claimedBy?: string): V1Node => {
  const node = makeNode({ name, podUidLabel: claimedBy ?? null, taints: claimedBy ? [registrationTaint(claimedBy)] : [poolTaint] });
  return { ...node, metadata: { ...node.metadata, labels: { ...node.metadata?.labels, [POOL_LABEL]: "true" } } };
};
const candidate = (name = POOL): PoolCandidate => ({ vmi: poolVmi(name), node: poolNode(name) });
const gatedWithPool = (overrides: Partial<Observed> = {}): Observed => makeObserved({ config: poolConfig(), poolCandidates: [candidate()], ...overrides });

describe("poolMissFor: a pool VM only for a pod whose own VM it could be", () => {
  it.each<[string, Parameters<typeof makePod>[0], { cpuMillis: number; memoryBytes: number }, string | undefined]>([
    ["exactly the pod's VM", {}, FITTING, undefined],
    ["a pod that needs more", { requests: { cpu: "2" } }, FITTING, REASONS.TooBigForWarmPool],
    ["a pool VM bigger than the pod is charged", {}, { cpuMillis: 2_000, memoryBytes: 1_536 * Mi }, REASONS.ChargedLessThanWarmVM],
  ])("%s", (_, pod, vmResources, reason) => {
    const miss = poolMissFor(makePod(pod), poolConfig(2, vmResources));
    expect(typeof miss === "object" ? miss.reason : miss).toBe(reason);
  });

  it("leaves a pod sizing refuses to launch", () => {
    expect(poolMissFor(makePod({ requests: { cpu: "64" } }), poolConfig())).toBe("unsized");
  });
});

describe("decideClaim", () => {
  it.each<[string, Observed]>([
    ["the pool off", makeObserved({ poolCandidates: [candidate()] })],
    ["a released pod", gatedWithPool({ pod: makePod({ gated: false }) })],
    ["a pod with its own VM", gatedWithPool({ vmi: makeVmi() })],
    ["a pod that already launched", gatedWithPool({ pod: makePod({ attempts: 1, conditions: [podCondition(POD_CONDITIONS.VMLaunched, "False", REASONS.VMFailed)] }) })],
    ["a pod that already missed", gatedWithPool({ pod: makePod({ conditions: [podCondition(POD_CONDITIONS.WarmPool, "False", REASONS.WarmPoolEmpty)] }) })],
  ])("skips %s", (_, o) => {
    expect(decideClaim(o, countingBytes())).toEqual(SKIP);
  });

  it("claims an available pool VM: the VMI claim first, then the node, then the pod's records", () => {
    const result = decideClaim(gatedWithPool(), countingBytes());
    expect(kindsOf(result)).toEqual(["claimVmi", "claimNode", "setCondition", "setCondition", "setCondition"]);
    expect(result.kind === "act" && result.actions[0]).toMatchObject({ kind: "claimVmi", name: POOL, pod: { uid: POD_UID } });
    expect(reportsOf(result)).toEqual([{ type: "Normal", reason: REASONS.WarmVMClaimed, message: `claimed warm pool VM ${POOL}` }]);
  });

  it("spreads pods over the candidates by UID", () => {
    const candidates = ["a", "b", "c"].map((c) => candidate(`marooned-pool-${c.repeat(10)}`));
    const picked = new Set(["0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "11111111-2222-4333-8444-555555555555", "99999999-8888-4777-8666-555555555555"].map((uid) => {
      const result = decideClaim(gatedWithPool({ pod: makePod({ uid }), poolCandidates: candidates }), countingBytes());
      return result.kind === "act" && result.actions[0]?.kind === "claimVmi" ? result.actions[0].name : "";
    }));
    expect(picked.size).toBeGreaterThan(1);
  });

  it.each<[string, Observed, string]>([
    ["an empty pool", gatedWithPool({ poolCandidates: [] }), REASONS.WarmPoolEmpty],
    ["a pod too big", gatedWithPool({ pod: makePod({ requests: { cpu: "2" } }) }), REASONS.TooBigForWarmPool],
  ])("launches its own VM for %s, the miss in launch's status write", (_, o, reason) => {
    const result = decideClaim(o, countingBytes());
    expect(kindsOf(result)).toContain("createVmi");
    expect(reportsOf(result).map((r) => r.reason)).toEqual([REASONS.VMCreated, reason]);
  });

  it("after a claim, retaints the node and records the claim once", () => {
    const claimed = gatedWithPool({ vmi: poolVmi(POOL, POD_UID), vmName: POOL, node: poolNode() });
    expect(kindsOf(decideClaim(claimed, countingBytes()))).toEqual(["claimNode", "setCondition", "setCondition", "setCondition"]);
    const recorded = makePod({ attempts: 1, conditions: [podCondition(POD_CONDITIONS.WarmPool, "True", REASONS.WarmVMClaimed), podCondition(POD_CONDITIONS.VMLaunched, "True", REASONS.WarmVMClaimed)] });
    expect(decideClaim({ ...claimed, pod: recorded }, countingBytes())).toEqual({ kind: "act", actions: [{ kind: "claimNode", name: POOL, podUid: POD_UID }] });
    // Retainted: registration's turn, which verifies and trusts the node as the pod's.
    const retainted = { ...claimed, pod: recorded, node: poolNode(POOL, POD_UID) };
    expect(decideClaim(retainted, countingBytes())).toEqual(SKIP);
    expect(kindsOf(decide(retainted, countingBytes()))).toEqual(["trustNode", "releasePod", "setCondition", "setCondition"]);
  });

  it("repeats nothing of a claim liveness gave up on", () => {
    const pod = makePod({ attempts: 1, conditions: [podCondition(POD_CONDITIONS.WarmPool, "True", REASONS.WarmVMClaimed), podCondition(POD_CONDITIONS.VMLaunched, "False", REASONS.VMFailed)] });
    expect(decideClaim(gatedWithPool({ pod, vmi: poolVmi(POOL, POD_UID), vmName: POOL, node: poolNode() }), countingBytes())).toEqual(SKIP);
  });
});

describe("nodeCarriesClaim", () => {
  it("only with the pod's label and dedicated taint and no pool taint", () => {
    expect(nodeCarriesClaim(poolNode(POOL, POD_UID), POD_UID, "maroonedpods.io")).toBe(true);
    expect(nodeCarriesClaim(poolNode(), POD_UID, "maroonedpods.io")).toBe(false);
    const both = poolNode(POOL, POD_UID);
    expect(nodeCarriesClaim({ ...both, spec: { taints: [...(both.spec?.taints ?? []), poolTaint] } }, POD_UID, "maroonedpods.io")).toBe(false);
    expect(both.metadata?.labels?.[NODE_POD_UID_LABEL]).toBe(POD_UID);
  });
});
