import { CoreV1Api, type KubeConfig, type V1Node, type V1Pod } from "@kubernetes/client-node";
import { MAROON_LABEL, MAROON_LABEL_VALUE } from "../src/api/names.ts";
import { KWOK_MANAGED_LABEL, KWOK_MANAGED_VALUE } from "../src/devcluster/kwok.ts";
import { isAlreadyExists } from "../src/kube/errors.ts";
import { pollUntil } from "../src/util/poll.ts";
import { forEachLimited } from "./limit.ts";

/** Which run (floor or pipeline) a benchmark pod belongs to. */
export const RUN_LABEL = "bench.maroonedpods.io/run";
export const BACKGROUND_NAMESPACE = "bench-background";
const BACKGROUND_LABEL = "bench.maroonedpods.io/background";
/** Background pods per kwok node: well under what kwok handles per node, so no node becomes a hot spot. */
const BACKGROUND_PODS_PER_NODE = 500;
const BACKGROUND_READY_TIMEOUT_MS = 15 * 60_000;

export const benchNamespaces = (count: number): string[] => Array.from({ length: count }, (_, i) => `bench-${i + 1}`);

/** Pod i of a run, spread round-robin over the namespaces. */
export function benchPodPlacement(run: string, index: number, namespaces: readonly string[]): { namespace: string; name: string } {
  return { namespace: namespaces[index % namespaces.length] ?? "default", name: `${run}-${index}` };
}

/** A selected pod as a user writes it: the maroon label, small requests. */
export function benchPod(run: string, placement: { namespace: string; name: string }): V1Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { ...placement, labels: { [MAROON_LABEL]: MAROON_LABEL_VALUE, [RUN_LABEL]: run, app: "bench" } },
    spec: { containers: [{ name: "app", image: "registry.example/bench/app:1", resources: { requests: { cpu: "100m", memory: "64Mi" } } }] },
  };
}

/** Creates the namespaces and waits for their default ServiceAccount, without which the API server refuses pods. */
export async function createNamespaces(kubeConfig: KubeConfig, names: readonly string[]): Promise<void> {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  for (const name of names) {
    try {
      await core.createNamespace({ body: { metadata: { name } } });
    } catch (error) {
      if (!isAlreadyExists(error)) throw error;
    }
  }
  for (const namespace of names) {
    await pollUntil(`the default ServiceAccount of ${namespace}`, () => core.readNamespacedServiceAccount({ namespace, name: "default" }).then(() => true), { timeoutMs: 60_000 });
  }
}

/**
 * Unrelated pods, bound by nodeName to a few kwok nodes tainted NoSchedule: kwok
 * runs them, the scheduler never considers them nor places anything beside them.
 * Resolves once every one is Running.
 */
export async function createBackgroundPods(kubeConfig: KubeConfig, count: number, concurrency: number): Promise<void> {
  if (count === 0) return;
  const core = kubeConfig.makeApiClient(CoreV1Api);
  await createNamespaces(kubeConfig, [BACKGROUND_NAMESPACE]);
  const nodes = Array.from({ length: Math.ceil(count / BACKGROUND_PODS_PER_NODE) }, (_, i) => `bench-background-${i + 1}`);
  for (const name of nodes) await core.createNode({ body: backgroundNode(name) });
  await forEachLimited(Array.from({ length: count }, (_, i) => i), concurrency, async (i) => {
    await core.createNamespacedPod({
      namespace: BACKGROUND_NAMESPACE,
      body: {
        metadata: { name: `background-${i}`, labels: { [BACKGROUND_LABEL]: "true" } },
        spec: { nodeName: nodes[i % nodes.length] ?? "", containers: [{ name: "app", image: "registry.example/bench/background:1" }] },
      },
    });
  });
  await pollUntil(
    `${count} background pods to run`,
    async () => {
      const pending = await core.listNamespacedPod({ namespace: BACKGROUND_NAMESPACE, fieldSelector: "status.phase!=Running", limit: 1 });
      return pending.items.length === 0 ? true : undefined;
    },
    { timeoutMs: BACKGROUND_READY_TIMEOUT_MS, intervalMs: 2_000 },
  );
}

function backgroundNode(name: string): V1Node {
  const capacity = { cpu: "64", memory: "256Gi", pods: String(BACKGROUND_PODS_PER_NODE * 2) };
  return {
    metadata: { name, labels: { [KWOK_MANAGED_LABEL]: KWOK_MANAGED_VALUE, [BACKGROUND_LABEL]: "true" } },
    spec: { taints: [{ key: BACKGROUND_LABEL, value: "true", effect: "NoSchedule" }] },
    status: { capacity, allocatable: capacity },
  };
}
