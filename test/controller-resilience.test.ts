import { CoordinationV1Api, CoreV1Api, type KubeConfig, type V1Pod } from "@kubernetes/client-node";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { OWNED_LABELS } from "../src/api/conditions.ts";
import { DEFAULT_SYSTEM_NAMESPACE, DEFAULT_VM_NAMESPACE, MAROON_LABEL, NODE_POD_UID_LABEL } from "../src/api/names.ts";
import { pollUntil } from "../src/util/poll.ts";
import { adminKubeConfig, createNamespace, vmiClient } from "./support/kube.ts";
import { startComponent, startStack, type ComponentProcess, type Stack } from "./support/stack.ts";

let admin: KubeConfig;
let core: CoreV1Api;
let stack: Stack | undefined;
const extra: ComponentProcess[] = [];
const vmName = (uid: string) => `marooned-${uid}`;

beforeAll(() => {
  admin = adminKubeConfig();
  core = admin.makeApiClient(CoreV1Api);
});

afterEach(async () => {
  for (const process of extra.splice(0)) await process.stop("SIGKILL");
  await stack?.stop();
  stack = undefined;
});

async function burst(namespace: string, count: number): Promise<string[]> {
  await pollUntil("the default ServiceAccount", async () => (await core.readNamespacedServiceAccount({ namespace, name: "default" })).metadata?.name, { timeoutMs: 30_000 });
  const pods: V1Pod[] = await Promise.all(
    Array.from({ length: count }, (_, i) =>
      core.createNamespacedPod({ namespace, body: { metadata: { name: `p${i}`, labels: { [MAROON_LABEL]: "true" } }, spec: { containers: [{ name: "main", image: "registry.example/app:1" }] } } }),
    ),
  );
  return pods.map((p) => p.metadata?.uid ?? "");
}

async function allRunningOnOwnNodes(namespace: string, count: number, timeoutMs: number): Promise<V1Pod[]> {
  return pollUntil(`${count} pods Running on their own nodes`, async () => {
    const pods = (await core.listNamespacedPod({ namespace })).items;
    const done = pods.filter((p) => p.status?.phase === "Running" && p.spec?.nodeName === vmName(p.metadata?.uid ?? ""));
    return done.length === count ? pods : undefined;
  }, { timeoutMs, intervalMs: 1_000 });
}

/** What the controller made for these pods, counted from the API server (not from any cache). */
async function leftovers(uids: readonly string[]) {
  const ours = new Set(uids);
  const mine = (labels: Record<string, string> | undefined, key: string) => ours.has(labels?.[key] ?? "");
  const selector = { labelSelector: `${OWNED_LABELS.component}=maroonedpods-controller` };
  const vmis = (await vmiClient(admin).list(DEFAULT_VM_NAMESPACE)).filter((v) => mine(v.metadata?.labels, OWNED_LABELS.podUid));
  const secrets = (await core.listNamespacedSecret({ namespace: DEFAULT_VM_NAMESPACE, ...selector })).items.filter((s) => mine(s.metadata?.labels, OWNED_LABELS.podUid));
  const tokens = (await core.listNamespacedSecret({ namespace: "kube-system", ...selector })).items.filter((s) => mine(s.metadata?.labels, OWNED_LABELS.podUid));
  const nodes = (await core.listNode({ labelSelector: NODE_POD_UID_LABEL })).items.filter((n) => mine(n.metadata?.labels, NODE_POD_UID_LABEL));
  return { vmis, secrets, tokens, nodes };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("controller resilience", () => {
  it("with two replicas, killing the leader mid-flight hands over and every pod still lands", async () => {
    stack = await startStack(admin, ["--leader-elect=true"]);
    extra.push(await startComponent("controller", stack.controllerArgs));
    const leases = admin.makeApiClient(CoordinationV1Api);
    const holder = async () => (await leases.readNamespacedLease({ namespace: DEFAULT_SYSTEM_NAMESPACE, name: "maroonedpods-controller" })).spec?.holderIdentity ?? "";
    const first = await pollUntil("a leader", async () => (await holder()) || undefined, { timeoutMs: 30_000 });
    const [leader, follower] = first.endsWith(`_${stack.controller.pid}`) ? [stack.controller, extra[0]] : [extra[0], stack.controller];
    expect(first.endsWith(`_${leader?.pid ?? -1}`)).toBe(true);

    const namespace = await createNamespace(admin, "handover");
    const uids = await burst(namespace, 5);
    await sleep(300);
    await leader?.stop("SIGKILL");
    const next = await pollUntil("the follower to take the lease", async () => {
      const current = await holder();
      return current && current !== first ? current : undefined;
    }, { timeoutMs: 60_000, intervalMs: 500 });
    expect(next.endsWith(`_${follower?.pid ?? -1}`)).toBe(true);
    await allRunningOnOwnNodes(namespace, uids.length, 90_000);
  }, 180_000);

  it("SIGKILLed at random moments during a 50-pod burst and restarted, leaves no duplicate or leaked object", async () => {
    stack = await startStack(admin, ["--leader-elect=false"]);
    const namespace = await createNamespace(admin, "chaos");
    const uids = await burst(namespace, 50);
    for (let kill = 0; kill < 5; kill++) {
      await sleep(300 + Math.floor(Math.random() * 1_500));
      await stack.controller.stop("SIGKILL");
      stack.controller = await startComponent("controller", stack.controllerArgs);
    }
    const pods = await allRunningOnOwnNodes(namespace, 50, 240_000);
    expect(new Set(pods.map((p) => p.spec?.nodeName)).size).toBe(50);

    const running = await leftovers(uids);
    expect(running.vmis.map((v) => v.metadata?.name).sort()).toEqual(uids.map(vmName).sort());
    expect(running.secrets).toHaveLength(50);
    expect(running.tokens).toEqual([]);
    expect(running.nodes).toHaveLength(50);

    await core.deleteCollectionNamespacedPod({ namespace });
    await pollUntil("every pod gone", async () => ((await core.listNamespacedPod({ namespace })).items.length === 0 ? true : undefined), { timeoutMs: 120_000, intervalMs: 1_000 });
    const after = await leftovers(uids);
    expect({ vmis: after.vmis.length, secrets: after.secrets.length, tokens: after.tokens.length, nodes: after.nodes.length }).toEqual({ vmis: 0, secrets: 0, tokens: 0, nodes: 0 });
  }, 420_000);
});
