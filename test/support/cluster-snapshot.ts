import { pollUntil } from "../../src/util/poll.ts";
import { ApisApi, CoreV1Api, CustomObjectsApi, KubernetesObjectApi, type KubeConfig, type V1APIResourceList } from "@kubernetes/client-node";

/**
 * Churn that is not ours to undo: Events, leader-election and node heartbeat
 * Leases, and the CSRs joined nodes leave behind (the API server
 * garbage-collects those after an hour).
 */
const VOLATILE = new Set(["v1/events", "events.k8s.io/v1/events", "coordination.k8s.io/v1/leases", "certificates.k8s.io/v1/certificatesigningrequests", "v1/componentstatuses"]);

/** Every object the API server serves, as `groupVersion/resource/namespace/name`, sorted. */
export async function clusterSnapshot(admin: KubeConfig): Promise<string[]> {
  const custom = admin.makeApiClient(CustomObjectsApi);
  const objects = KubernetesObjectApi.makeApiClient(admin);
  const groups = await admin.makeApiClient(ApisApi).getAPIVersions();
  const lists: [string, V1APIResourceList][] = [["v1", await admin.makeApiClient(CoreV1Api).getAPIResources()]];
  for (const group of groups.groups) {
    const [groupName, version] = (group.preferredVersion?.groupVersion ?? "").split("/");
    lists.push([group.preferredVersion?.groupVersion ?? "", await custom.getAPIResources({ group: groupName ?? "", version: version ?? "" })]);
  }
  const entries: string[] = [];
  for (const [groupVersion, list] of lists) {
    for (const resource of list.resources) {
      if (resource.name.includes("/") || !resource.verbs.includes("list") || VOLATILE.has(`${groupVersion}/${resource.name}`)) continue;
      const items = await objects.list(groupVersion, resource.kind);
      for (const item of items.items) entries.push(`${groupVersion}/${resource.name}/${item.metadata?.namespace ?? ""}/${item.metadata?.name ?? ""}`);
    }
  }
  return entries.sort();
}

/** The snapshot once a new cluster is quiet: the controller-manager fills new namespaces (ServiceAccounts, kube-root-ca.crt) for a while. */
export async function settledSnapshot(admin: KubeConfig): Promise<string[]> {
  let previous: string[] = [];
  return pollUntil("the new cluster to settle", async () => {
    const current = await clusterSnapshot(admin);
    const settled = current.includes("v1/serviceaccounts/kube-public/default") && JSON.stringify(current) === JSON.stringify(previous);
    previous = current;
    return settled ? current : undefined;
  }, { timeoutMs: 60_000, intervalMs: 2_000 });
}
