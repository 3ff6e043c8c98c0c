import { fileURLToPath } from "node:url";
import { ApiextensionsV1Api, KubernetesObjectApi, PatchStrategy, type KubeConfig, type KubernetesObject } from "@kubernetes/client-node";
import { typedObject } from "../kube/apply.ts";
import { isNotFound } from "../kube/errors.ts";
import { readManifests } from "../kube/manifests.ts";
import { installObjects, type KubeObject } from "./bundle.ts";
import { changedPaths, changeOf, objectRef, type Change } from "./changes.ts";
import type { CertificateSource } from "./workloads.ts";

/** Server-side apply owns the fields under this name; other writers (the controller's caBundle) keep theirs. */
export const INSTALL_FIELD_MANAGER = "maroonedpods-install";
const CRD_FILE = fileURLToPath(new URL("../../crds/maroonedpodsconfigs.maroonedpods.io.yaml", import.meta.url));
export const CERT_MANAGER_CRD = "certificates.cert-manager.io";

export interface AppliedObject {
  readonly ref: string;
  readonly change: Change;
  /** For `configured`: where it differs. */
  readonly paths: readonly string[];
}

/** What install applies, in order: the namespaces, the CRD, then the rest of the bundle. */
export async function bundleWithCrds(certificates: CertificateSource, image?: string): Promise<KubeObject[]> {
  const objects = installObjects(certificates, image);
  const afterNamespaces = objects.findIndex((o) => o.kind !== "Namespace");
  const crds = (await readManifests(CRD_FILE)) as KubeObject[];
  return [...objects.slice(0, afterNamespaces), ...crds, ...objects.slice(afterNamespaces)];
}

export async function crdServed(kubeConfig: KubeConfig, name: string): Promise<boolean> {
  try {
    await kubeConfig.makeApiClient(ApiextensionsV1Api).readCustomResourceDefinition({ name });
    return true;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}

export async function readIfPresent(client: KubernetesObjectApi, object: KubernetesObject): Promise<KubernetesObject | undefined> {
  try {
    return await client.read(object as KubernetesObject & { metadata: { name: string } });
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/**
 * Applies the bundle with server-side apply, forcing our field manager's
 * ownership of exactly the fields the manifests set. Re-running it changes
 * nothing. With dryRun the API server validates and defaults every object but stores none.
 */
export async function install(
  kubeConfig: KubeConfig,
  options: { certificates: CertificateSource; dryRun: boolean; image?: string },
  onApplied: (applied: AppliedObject) => void = () => undefined,
): Promise<AppliedObject[]> {
  if (options.certificates === "cert-manager" && !(await crdServed(kubeConfig, CERT_MANAGER_CRD))) {
    throw new Error(`cert-manager is not installed (no CRD ${CERT_MANAGER_CRD}): install cert-manager first, or install without --cert-manager`);
  }
  const client = KubernetesObjectApi.makeApiClient(kubeConfig);
  const results: AppliedObject[] = [];
  for (const object of await bundleWithCrds(options.certificates, options.image)) {
    const desired = typedObject(object);
    const before = await readIfPresent(client, desired);
    let after: KubernetesObject;
    try {
      after = await client.patch(desired, undefined, options.dryRun ? "All" : undefined, INSTALL_FIELD_MANAGER, true, PatchStrategy.ServerSideApply);
    } catch (error) {
      // A dry run cannot create into a namespace that a real run would have created first.
      if (!(options.dryRun && before === undefined && isNotFound(error))) throw new Error(`applying ${objectRef(object)}: ${(error as Error).message}`, { cause: error });
      after = desired;
    }
    const applied = { ref: objectRef(object), change: changeOf(before, after), paths: before === undefined ? [] : changedPaths(before, after) };
    results.push(applied);
    onApplied(applied);
  }
  return results;
}
