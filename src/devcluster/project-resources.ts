import { readdir, readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { KubeConfig } from "@kubernetes/client-node";
import { ApiextensionsV1Api } from "@kubernetes/client-node";
import { parseAllDocuments } from "yaml";
import { DEFAULT_SYSTEM_NAMESPACE, DEFAULT_VM_NAMESPACE } from "../api/names.ts";
import { applyObjects } from "../kube/apply.ts";
import { pollUntil } from "../util/poll.ts";

const CRDS_DIR = fileURLToPath(new URL("../../crds/", import.meta.url));
const RBAC_DIR = fileURLToPath(new URL("../../deploy/rbac/", import.meta.url));

async function manifestsIn(dir: string): Promise<{ metadata?: { name?: string } }[]> {
  const objects: { metadata?: { name?: string } }[] = [];
  for (const file of (await readdir(dir)).filter((f) => f.endsWith(".yaml")).sort()) {
    for (const document of parseAllDocuments(await readFile(`${dir}${file}`, "utf8"))) objects.push(document.toJS() as { metadata?: { name?: string } });
  }
  return objects;
}
const FIELD_MANAGER = "maroonedpods-devcluster";

/** The project's namespaces, CRDs (crds/) and RBAC (deploy/rbac/), for dev and test clusters; waits until the CRDs are served. */
export async function installProjectResources(kubeConfig: KubeConfig): Promise<void> {
  const crds = await manifestsIn(CRDS_DIR);
  const namespaces = [DEFAULT_SYSTEM_NAMESPACE, DEFAULT_VM_NAMESPACE].map((name) => ({ apiVersion: "v1", kind: "Namespace", metadata: { name } }));
  await applyObjects(kubeConfig, [...namespaces, ...crds, ...(await manifestsIn(RBAC_DIR))], FIELD_MANAGER);
  const extensions = kubeConfig.makeApiClient(ApiextensionsV1Api);
  for (const crd of crds) {
    const name = crd.metadata?.name ?? "";
    await pollUntil(`CRD ${name} established`, async () => {
      const current = await extensions.readCustomResourceDefinition({ name });
      return current.status?.conditions?.some((c) => c.type === "Established" && c.status === "True") ? true : undefined;
    }, { timeoutMs: 30_000 });
  }
}
