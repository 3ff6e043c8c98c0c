import { CoreV1Api, type KubeConfig, type V1Pod } from "@kubernetes/client-node";
import { MANAGED_BY, OWNED_LABELS } from "../../src/api/conditions.ts";
import { DEFAULT_VM_NAMESPACE, KUBE_SYSTEM_NAMESPACE, MAROON_LABEL, NODE_POD_UID_LABEL } from "../../src/api/names.ts";
import { pollUntil } from "../../src/util/poll.ts";
import { vmiClient } from "./kube.ts";

export const vmName = (uid: string): string => `marooned-${uid}`;

/** `count` marooned pods created at once in `namespace` (once its default ServiceAccount exists); their UIDs. */
export async function burst(admin: KubeConfig, namespace: string, count: number): Promise<string[]> {
  const core = admin.makeApiClient(CoreV1Api);
  await pollUntil("the default ServiceAccount", async () => (await core.readNamespacedServiceAccount({ namespace, name: "default" })).metadata?.name, { timeoutMs: 30_000 });
  const pods: V1Pod[] = await Promise.all(
    Array.from({ length: count }, (_, i) =>
      core.createNamespacedPod({ namespace, body: { metadata: { name: `p${i}`, labels: { [MAROON_LABEL]: "true" } }, spec: { containers: [{ name: "main", image: "registry.example/app:1" }] } } }),
    ),
  );
  return pods.map((p) => p.metadata?.uid ?? "");
}

/** Waits until `count` pods of the namespace run, each on the node named for its own UID. */
export async function allRunningOnOwnNodes(admin: KubeConfig, namespace: string, count: number, timeoutMs: number): Promise<V1Pod[]> {
  const core = admin.makeApiClient(CoreV1Api);
  return pollUntil(`${count} pods Running on their own nodes`, async () => {
    const pods = (await core.listNamespacedPod({ namespace })).items;
    const done = pods.filter((p) => p.status?.phase === "Running" && p.spec?.nodeName === vmName(p.metadata?.uid ?? ""));
    return done.length === count ? pods : undefined;
  }, { timeoutMs, intervalMs: 1_000 });
}

/** What the controller made for these pods, counted from the API server (not from any cache). */
export async function leftovers(admin: KubeConfig, uids: readonly string[]) {
  const core = admin.makeApiClient(CoreV1Api);
  const ours = new Set(uids);
  const mine = (labels: Record<string, string> | undefined, key: string) => ours.has(labels?.[key] ?? "");
  const selector = { labelSelector: `${OWNED_LABELS.component}=${MANAGED_BY}` };
  const vmis = (await vmiClient(admin).list(DEFAULT_VM_NAMESPACE)).filter((v) => mine(v.metadata?.labels, OWNED_LABELS.podUid));
  const secrets = (await core.listNamespacedSecret({ namespace: DEFAULT_VM_NAMESPACE, ...selector })).items.filter((s) => mine(s.metadata?.labels, OWNED_LABELS.podUid));
  const tokens = (await core.listNamespacedSecret({ namespace: KUBE_SYSTEM_NAMESPACE, ...selector })).items.filter((s) => mine(s.metadata?.labels, OWNED_LABELS.podUid));
  const nodes = (await core.listNode({ labelSelector: NODE_POD_UID_LABEL })).items.filter((n) => mine(n.metadata?.labels, NODE_POD_UID_LABEL));
  return { vmis, secrets, tokens, nodes };
}

/** Deletes every pod of the namespace, waits until they are gone, and returns what is left of theirs (expected: nothing). */
export async function deleteAllAndCount(admin: KubeConfig, namespace: string, uids: readonly string[]) {
  const core = admin.makeApiClient(CoreV1Api);
  await core.deleteCollectionNamespacedPod({ namespace });
  await pollUntil("every pod gone", async () => ((await core.listNamespacedPod({ namespace })).items.length === 0 ? true : undefined), { timeoutMs: 180_000, intervalMs: 1_000 });
  const after = await leftovers(admin, uids);
  return { vmis: after.vmis.length, secrets: after.secrets.length, tokens: after.tokens.length, nodes: after.nodes.length };
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
