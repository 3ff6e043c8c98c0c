import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { ApiextensionsV1Api, type KubeConfig } from "@kubernetes/client-node";
import { parseAllDocuments } from "yaml";
import { pollUntil } from "../util/poll.ts";
import { applyObjects } from "./apply.ts";

export interface Manifest {
  readonly metadata?: { readonly name?: string };
}

/** Every document of a YAML file, or of every .yaml file in a directory (in name order). */
export async function readManifests(path: string): Promise<Manifest[]> {
  const files = path.endsWith(".yaml") ? [path] : (await readdir(path)).filter((f) => f.endsWith(".yaml")).sort().map((f) => join(path, f));
  const manifests: Manifest[] = [];
  for (const file of files) {
    for (const document of parseAllDocuments(await readFile(file, "utf8"))) manifests.push(document.toJS() as Manifest);
  }
  return manifests;
}

/** Applies CRDs and waits until the API server serves each of them. */
export async function installCrds(kubeConfig: KubeConfig, crds: readonly Manifest[], fieldManager: string): Promise<void> {
  await applyObjects(kubeConfig, crds, fieldManager);
  const extensions = kubeConfig.makeApiClient(ApiextensionsV1Api);
  for (const crd of crds) {
    const name = crd.metadata?.name ?? "";
    await pollUntil(
      `CRD ${name} to be established`,
      async () => ((await extensions.readCustomResourceDefinition({ name })).status?.conditions?.some((c) => c.type === "Established" && c.status === "True") ? true : undefined),
      { timeoutMs: 30_000 },
    );
  }
}
