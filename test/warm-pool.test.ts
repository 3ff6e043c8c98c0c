/**
 * The warm pool, end to end: the webhook, the controller (as its ServiceAccount), the real scheduler and the
 * KubeVirt simulator. The config's pool size drives everything; the file ends with the pool off (config deleted).
 */
import { randomBytes, randomUUID } from "node:crypto";
import { CoordinationV1Api, CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig, type V1Node, type V1Pod } from "@kubernetes/client-node";
import type { V1VirtualMachineInstance } from "@kubevirt-ui-ext/kubevirt-api/kubevirt";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { POD_CONDITIONS, REASONS } from "../src/api/conditions.ts";
import {
  dedicatedTaintKey,
  DEFAULT_TAINT_KEY_PREFIX,
  CONTROLLER_LEASE_NAME,
  DEFAULT_SYSTEM_NAMESPACE,
  DEFAULT_VM_NAMESPACE,
  MAROON_LABEL,
  POOL_LABEL,
  POOL_STATE_LABEL,
  poolTaintKey,
  TRUSTED_NODE_LABEL,
} from "../src/api/names.ts";
import { mintToken, tokenSecret, tokenString } from "../src/controller/artifacts.ts";
import { CONFIG_GROUP, CONFIG_NAME, CONFIG_PLURAL, CONFIG_VERSION, WARM_POOL_DEFAULTS } from "../src/controller/config.ts";
import { LEFTOVER_GRACE_MS } from "../src/controller/pool.ts";
import { isNotFound, statusCodeOf } from "../src/kube/errors.ts";
import { kubeletKubeConfig, obtainKubeletCredentials } from "../src/simulator/guest.ts";
import { pino } from "pino";
import { INJECT_FAILURE_ANNOTATION } from "../src/simulator/constants.ts";
import { pollUntil } from "../src/util/poll.ts";
import { adminKubeConfig, clusterCaCertHash, configFor, gone, joinInfoFor, namespaceWithServiceAccount, runningPod, vmiClient } from "./support/kube.ts";
import { startComponent, startStack, type Stack } from "./support/stack.ts";

let admin: KubeConfig;
let core: CoreV1Api;
let configs: CustomObjectsApi;
let stack: Stack;
const mergePatch = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);
const configRef = { group: CONFIG_GROUP, version: CONFIG_VERSION, plural: CONFIG_PLURAL };
const POOL_PREFIX = "marooned-pool-";
const CLI = fileURLToPath(new URL("../bin/maroonedpods.js", import.meta.url));

interface PoolStatus {
  desired?: number;
  booting?: number;
  available?: number;
  claimed?: number;
}

/** A pod that fits the default pool VM (the base VM): no requests, charged the RuntimeClass overhead. */
const smallPod = (name: string): V1Pod => ({
  metadata: { name, labels: { [MAROON_LABEL]: "true" } },
  spec: { containers: [{ name: "main", image: "registry.example/app:1" }] },
});
const bigPod = (name: string): V1Pod => ({
  metadata: { name, labels: { [MAROON_LABEL]: "true" } },
  spec: { containers: [{ name: "main", image: "registry.example/app:1", resources: { requests: { cpu: "500m", memory: "256Mi" } } }] },
});

async function setPoolSize(size: number): Promise<void> {
  try {
    await configs.patchClusterCustomObject({ ...configRef, name: CONFIG_NAME, body: { spec: { warmPool: { size } } } }, mergePatch);
  } catch (error) {
    if (!isNotFound(error)) throw error;
    await configs.createClusterCustomObject({ ...configRef, body: { apiVersion: `${CONFIG_GROUP}/${CONFIG_VERSION}`, kind: "MaroonedPodsConfig", metadata: { name: CONFIG_NAME }, spec: { warmPool: { size } } } });
  }
}

async function poolStatus(): Promise<PoolStatus> {
  const object = (await configs.getClusterCustomObject({ ...configRef, name: CONFIG_NAME })) as { status?: { warmPool?: PoolStatus } };
  return object.status?.warmPool ?? {};
}

const poolVmis = async (): Promise<V1VirtualMachineInstance[]> =>
  (await vmiClient(admin).list(DEFAULT_VM_NAMESPACE)).filter((v) => v.metadata?.labels?.[POOL_LABEL] === "true" && v.metadata.deletionTimestamp === undefined);
const unclaimed = async () => (await poolVmis()).filter((v) => v.metadata?.labels?.[POOL_STATE_LABEL] === "unclaimed");

/** Until the pool's status reports `count` available (and, when given, `claimed` claimed) and that many are unclaimed. */
async function poolAvailable(count: number, timeoutMs = 60_000, claimed?: number): Promise<PoolStatus> {
  return pollUntil(`warm pool with ${count} available${claimed === undefined ? "" : `, ${claimed} claimed`}`, async () => {
    const status = await poolStatus();
    const reported = status.available === count && status.booting === 0 && (claimed === undefined || status.claimed === claimed);
    return reported && (await unclaimed()).length === count ? status : undefined;
  }, { timeoutMs, intervalMs: 300 });
}

const warmPoolCondition = (pod: V1Pod) => pod.status?.conditions?.find((c) => c.type === POD_CONDITIONS.WarmPool);

function expectNodeIsPods(node: V1Node, uid: string): void {
  expect(node.metadata?.labels?.[TRUSTED_NODE_LABEL]).toBe(uid);
  const taints = node.spec?.taints ?? [];
  expect(taints.some((t) => t.key === poolTaintKey(DEFAULT_TAINT_KEY_PREFIX))).toBe(false);
  expect(taints.filter((t) => t.key === dedicatedTaintKey(DEFAULT_TAINT_KEY_PREFIX))).toEqual([{ key: dedicatedTaintKey(DEFAULT_TAINT_KEY_PREFIX), value: uid, effect: "NoSchedule" }]);
}

beforeAll(async () => {
  admin = adminKubeConfig();
  core = admin.makeApiClient(CoreV1Api);
  configs = admin.makeApiClient(CustomObjectsApi);
  stack = await startStack(admin, ["--leader-elect=false", "--orphan-sweep-interval=2s"]);
}, 120_000);

afterAll(async () => {
  try {
    await configs.deleteClusterCustomObject({ ...configRef, name: CONFIG_NAME });
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  // With the pool off again, the controller drains what is left before the next file starts.
  await pollUntil("warm pool drained", async () => ((await unclaimed()).length === 0 ? true : undefined), { timeoutMs: 60_000, intervalMs: 500 });
  await stack.stop();
}, 120_000);

describe("the warm pool", () => {
  it("fills to its size with verified pool nodes, reports it, and deletes each pool VM's token", async () => {
    await setPoolSize(2);
    const status = await poolAvailable(2);
    expect(status).toEqual({ desired: 2, booting: 0, available: 2, claimed: 0 });
    for (const vmi of await unclaimed()) {
      const name = vmi.metadata?.name ?? "";
      expect(name.startsWith(POOL_PREFIX)).toBe(true);
      const node = await core.readNode({ name });
      expect(node.spec?.taints).toContainEqual({ key: poolTaintKey(DEFAULT_TAINT_KEY_PREFIX), value: "unclaimed", effect: "NoSchedule" });
      expect(node.metadata?.labels?.[TRUSTED_NODE_LABEL]).toBeUndefined();
      const tokens = (await core.listNamespacedSecret({ namespace: "kube-system", labelSelector: `${POOL_LABEL}=true,maroonedpods.io/vm=${name}` })).items;
      expect(tokens).toEqual([]);
    }
  });

  it("gives a fitting pod a pool node that booted before the pod existed, then refills", async () => {
    await poolAvailable(2);
    const namespace = await namespaceWithServiceAccount(admin, "pool-claim");
    const created = await core.createNamespacedPod({ namespace, body: smallPod("warm") });
    const uid = created.metadata?.uid ?? "";
    const pod = await runningPod(admin, namespace, "warm");
    const nodeName = pod.spec?.nodeName ?? "";
    expect(nodeName.startsWith(POOL_PREFIX)).toBe(true);
    const vmi = await vmiClient(admin).read(DEFAULT_VM_NAMESPACE, nodeName);
    // The VM was up before its pod was created: no cold boot stood between the pod and Running.
    expect(new Date(vmi.metadata?.creationTimestamp ?? 0).getTime()).toBeLessThan(new Date(created.metadata?.creationTimestamp ?? 0).getTime());
    expect(vmi.metadata?.labels).toMatchObject({ [POOL_STATE_LABEL]: "claimed", "maroonedpods.io/pod-uid": uid });
    expect(warmPoolCondition(pod)).toMatchObject({ status: "True", reason: REASONS.WarmVMClaimed });
    expectNodeIsPods(await core.readNode({ name: nodeName }), uid);
    const events = (await core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.uid=${uid}` })).items.map((e) => e.reason);
    expect(events).toContain(REASONS.WarmVMClaimed);
    // The claim is a slot gone: the pool boots a replacement (its status, written at most once a second, says so).
    expect(await poolAvailable(2, 60_000, 1)).toMatchObject({ desired: 2, available: 2, claimed: 1 });
    const status = execFileSync(process.execPath, [CLI, "status", `--kubeconfig=${inject("kubeconfigPath")}`, `${namespace}/warm`], { encoding: "utf8" });
    expect(status).toContain(`${nodeName} (warm pool)`);
    // doctor exits non-zero here (no KubeVirt CR in the simulator): its report is on stdout either way.
    const doctor = (() => {
      try {
        return execFileSync(process.execPath, [CLI, "doctor", `--kubeconfig=${inject("kubeconfigPath")}`], { encoding: "utf8" });
      } catch (error) {
        return String((error as { stdout?: unknown }).stdout);
      }
    })();
    expect(doctor).toMatch(/warm pool\s+pass\s+2 of 2 available, 0 booting, 1 claimed/);

    // Single use: deleting the pod removes its VM and node; they never go back to the pool.
    await core.deleteNamespacedPod({ namespace, name: "warm" });
    await gone(`VMI ${nodeName}`, () => vmiClient(admin).read(DEFAULT_VM_NAMESPACE, nodeName));
    await gone(`node ${nodeName}`, () => core.readNode({ name: nodeName }));
    await gone(`Secret ${nodeName}-cloud-init`, () => core.readNamespacedSecret({ namespace: DEFAULT_VM_NAMESPACE, name: `${nodeName}-cloud-init` }));
  });

  it("launches a pod too big for the pool VM its own VM, and says why", async () => {
    const namespace = await namespaceWithServiceAccount(admin, "pool-big");
    const uid = (await core.createNamespacedPod({ namespace, body: bigPod("big") })).metadata?.uid ?? "";
    const pod = await runningPod(admin, namespace, "big");
    expect(pod.spec?.nodeName).toBe(`marooned-${uid}`);
    expect(warmPoolCondition(pod)).toMatchObject({ status: "False", reason: REASONS.TooBigForWarmPool });
    await core.deleteNamespacedPod({ namespace, name: "big" });
  });

  it("five pods against a pool of three: three claim distinct VMs, two launch their own, every node names exactly its pod", async () => {
    await setPoolSize(3);
    await poolAvailable(3);
    const namespace = await namespaceWithServiceAccount(admin, "pool-race");
    const names = ["r0", "r1", "r2", "r3", "r4"];
    const uids = await Promise.all(names.map(async (name) => (await core.createNamespacedPod({ namespace, body: smallPod(name) })).metadata?.uid ?? ""));
    const pods = await Promise.all(names.map((name) => runningPod(admin, namespace, name)));
    const nodes = pods.map((p) => p.spec?.nodeName ?? "");
    expect(new Set(nodes).size).toBe(5);
    const fromPool = nodes.filter((n) => n.startsWith(POOL_PREFIX));
    // The pool may have refilled a slot before the last pod looked: at least three claim, none shares.
    expect(fromPool.length).toBeGreaterThanOrEqual(3);
    for (const [i, pod] of pods.entries()) {
      const uid = uids[i] ?? "";
      const node = await core.readNode({ name: nodes[i] ?? "" });
      expectNodeIsPods(node, uid);
      if (!(nodes[i] ?? "").startsWith(POOL_PREFIX)) {
        expect(nodes[i]).toBe(`marooned-${uid}`);
        expect(warmPoolCondition(pod)).toMatchObject({ status: "False", reason: REASONS.WarmPoolEmpty });
      }
    }
    const claimedBy = (await poolVmis()).filter((v) => v.metadata?.labels?.[POOL_STATE_LABEL] === "claimed").map((v) => v.metadata?.labels?.["maroonedpods.io/pod-uid"]);
    expect(new Set(claimedBy).size).toBe(claimedBy.length);

    // Lowering the size drains unclaimed VMs and never a claimed one.
    await setPoolSize(0);
    await pollUntil("unclaimed pool VMs drained", async () => ((await unclaimed()).length === 0 ? true : undefined), { timeoutMs: 60_000, intervalMs: 300 });
    for (const name of fromPool) {
      expect((await vmiClient(admin).read(DEFAULT_VM_NAMESPACE, name)).metadata?.labels?.[POOL_STATE_LABEL]).toBe("claimed");
      expect((await core.readNamespacedPod({ namespace, name: pods[nodes.indexOf(name)]?.metadata?.name ?? "" })).status?.phase).toBe("Running");
    }
    await Promise.all(names.map((name) => core.deleteNamespacedPod({ namespace, name })));
    for (const name of nodes) await gone(`node ${name}`, () => core.readNode({ name }));
  });

  it("replaces a pool VM that fails", async () => {
    await setPoolSize(1);
    await poolAvailable(1);
    const [victim] = await unclaimed();
    const name = victim?.metadata?.name ?? "";
    await admin.makeApiClient(CustomObjectsApi).patchNamespacedCustomObject(
      { group: "kubevirt.io", version: "v1", plural: "virtualmachineinstances", namespace: DEFAULT_VM_NAMESPACE, name, body: { metadata: { annotations: { [INJECT_FAILURE_ANNOTATION]: "test" } } } },
      mergePatch,
    );
    await gone(`failed pool VMI ${name}`, () => vmiClient(admin).read(DEFAULT_VM_NAMESPACE, name));
    await poolAvailable(1);
    expect((await unclaimed()).map((v) => v.metadata?.name)).not.toContain(name);
    await gone(`node ${name}`, () => core.readNode({ name }));
  });

  it("SIGKILLed during claims and restarted: no pool VM claimed twice, no pod with two, the pool back at exactly its size", async () => {
    await setPoolSize(3);
    await poolAvailable(3);
    const namespace = await namespaceWithServiceAccount(admin, "pool-kill");
    const names = ["k0", "k1", "k2", "k3", "k4"];
    const created = Promise.all(names.map(async (name) => (await core.createNamespacedPod({ namespace, body: smallPod(name) })).metadata?.uid ?? ""));
    await new Promise((resolve) => setTimeout(resolve, 150));
    await stack.controller.stop("SIGKILL");
    const uids = await created;
    stack.controller = await startComponent("controller", stack.controllerArgs);
    const pods = await Promise.all(names.map((name) => runningPod(admin, namespace, name)));
    const nodes = pods.map((p) => p.spec?.nodeName ?? "");
    expect(new Set(nodes).size).toBe(5);
    for (const [i, name] of nodes.entries()) expectNodeIsPods(await core.readNode({ name }), uids[i] ?? "");
    const claimedBy = (await poolVmis()).filter((v) => v.metadata?.labels?.[POOL_STATE_LABEL] === "claimed").map((v) => v.metadata?.labels?.["maroonedpods.io/pod-uid"] ?? "");
    expect(new Set(claimedBy).size).toBe(claimedBy.length);
    for (const uid of claimedBy) expect(uids).toContain(uid);
    await poolAvailable(3);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect((await unclaimed()).length).toBe(3);
    await Promise.all(names.map((name) => core.deleteNamespacedPod({ namespace, name })));
    for (const name of nodes) await gone(`node ${name}`, () => core.readNode({ name }));
  }, 180_000);

  it("a leader handover while the pool refills: exactly its size again, nothing leaked", async () => {
    await setPoolSize(0);
    await pollUntil("pool drained", async () => ((await unclaimed()).length === 0 ? true : undefined), { timeoutMs: 60_000, intervalMs: 300 });
    await stack.controller.stop();
    const args = stack.controllerArgs.map((a) => (a === "--leader-elect=false" ? "--leader-elect=true" : a));
    const first = await startComponent("controller", args);
    const second = await startComponent("controller", args);
    const leases = admin.makeApiClient(CoordinationV1Api);
    const holder = async () => (await leases.readNamespacedLease({ namespace: DEFAULT_SYSTEM_NAMESPACE, name: CONTROLLER_LEASE_NAME })).spec?.holderIdentity ?? "";
    const leaderId = await pollUntil("a leader", async () => (await holder()) || undefined, { timeoutMs: 30_000 });
    const [leader, follower] = leaderId.endsWith(`_${first.pid}`) ? [first, second] : [second, first];
    try {
      await setPoolSize(3);
      await pollUntil("the pool refilling", async () => ((await unclaimed()).length > 0 ? true : undefined), { timeoutMs: 30_000, intervalMs: 50 });
      await leader.stop("SIGKILL");
      await pollUntil("the follower to lead", async () => {
        const current = await holder();
        return current && current !== leaderId ? current : undefined;
      }, { timeoutMs: 60_000, intervalMs: 500 });
      await poolAvailable(3, 90_000);
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      expect((await unclaimed()).length).toBe(3);
      const names = new Set((await poolVmis()).map((v) => v.metadata?.name ?? ""));
      const secrets = (await core.listNamespacedSecret({ namespace: DEFAULT_VM_NAMESPACE, labelSelector: `${POOL_LABEL}=true` })).items;
      // A Secret whose VMI a killed leader never got to create is removed after the grace for a create in flight.
      const strays = secrets.filter((x) => !names.has(x.metadata?.labels?.["maroonedpods.io/vm"] ?? ""));
      for (const stray of strays) expect(Date.now() - new Date(stray.metadata?.creationTimestamp ?? 0).getTime(), stray.metadata?.name).toBeLessThan(LEFTOVER_GRACE_MS);
      expect(strays.length).toBeLessThanOrEqual(3);
    } finally {
      await follower.stop();
      stack.controller = await startComponent("controller", stack.controllerArgs);
    }
  }, 240_000);

  it("a pool node's kubelet cannot give itself a pod's trusted label", async () => {
    await poolAvailable(3);
    const [vmi] = await unclaimed();
    const nodeName = vmi?.metadata?.name ?? "";
    const token = mintToken((n) => randomBytes(n));
    const secret = tokenSecret({ uid: "", namespace: "", name: "" }, token, configFor(admin), Date.now());
    await core.createNamespacedSecret({ namespace: "kube-system", body: { ...secret, metadata: { name: secret.metadata?.name ?? "", namespace: "kube-system" } } });
    try {
      const joinInfo = joinInfoFor(admin, { token: tokenString(token), caCertHash: await clusterCaCertHash(admin), nodeName, podUid: randomUUID() });
      const kubelet = kubeletKubeConfig(joinInfo, await obtainKubeletCredentials(joinInfo, pino({ level: "silent" })));
      const denied: unknown = await kubelet.makeApiClient(CoreV1Api)
        .patchNode({ name: nodeName, body: { metadata: { labels: { [TRUSTED_NODE_LABEL]: randomUUID() } } } }, mergePatch)
        .catch((error: unknown) => error);
      expect(statusCodeOf(denied)).toBe(403);
      expect((await core.readNode({ name: nodeName })).metadata?.labels?.[TRUSTED_NODE_LABEL]).toBeUndefined();
    } finally {
      await core.deleteNamespacedSecret({ namespace: "kube-system", name: secret.metadata?.name ?? "" });
    }
  });

  it("takes warmPoolSize as the short form of warmPool.size, and the CRD refuses the two disagreeing", async () => {
    await configs.patchClusterCustomObject({ ...configRef, name: CONFIG_NAME, body: { spec: { warmPool: null, warmPoolSize: 1 } } }, mergePatch);
    expect(await poolAvailable(1)).toMatchObject({ desired: 1, available: 1 });
    const refused: unknown = await configs
      .patchClusterCustomObject({ ...configRef, name: CONFIG_NAME, body: { spec: { warmPool: { size: 2 } } } }, mergePatch)
      .catch((error: unknown) => error);
    expect(statusCodeOf(refused)).toBe(422);
    expect(String((refused as { body?: unknown }).body)).toMatch(/short form of warmPool.size/);
    await configs.patchClusterCustomObject({ ...configRef, name: CONFIG_NAME, body: { spec: { warmPoolSize: null, warmPool: { size: 3 } } } }, mergePatch);
    await poolAvailable(3);
  });

  it("defaults warmPool.maxBooting in the CRD as the controller does, and refuses a cap of 0", async () => {
    const stored = (await configs.getClusterCustomObject({ ...configRef, name: CONFIG_NAME })) as { spec?: { warmPool?: { maxBooting?: number } } };
    expect(stored.spec?.warmPool?.maxBooting).toBe(WARM_POOL_DEFAULTS.maxBooting);
    const refused: unknown = await configs
      .patchClusterCustomObject({ ...configRef, name: CONFIG_NAME, body: { spec: { warmPool: { maxBooting: 0 } } } }, mergePatch)
      .catch((error: unknown) => error);
    expect(statusCodeOf(refused)).toBe(422);
    expect(String((refused as { body?: unknown }).body)).toMatch(/maxBooting/);
  });

  it("denies a tenant pod that tolerates the pool taint", async () => {
    const namespace = await namespaceWithServiceAccount(admin, "pool-tolerate");
    const body: V1Pod = {
      metadata: { name: "sneaky" },
      spec: { containers: [{ name: "main", image: "registry.example/app:1" }], tolerations: [{ key: poolTaintKey(DEFAULT_TAINT_KEY_PREFIX), operator: "Exists", effect: "NoSchedule" }] },
    };
    await expect(core.createNamespacedPod({ namespace, body })).rejects.toThrow(/pool/);
  });
});
