import { KubernetesObjectApi, loadYaml, PatchStrategy, type KubeConfig, type KubernetesObject } from "@kubernetes/client-node";

/**
 * Server-side apply, in order, under one field manager; re-applying changes nothing.
 * Objects are in wire format, as in a manifest. client-node serializes built-in
 * kinds through its typed models, which drop wire keys they spell differently
 * (x-kubernetes-int-or-string, $ref, ...), so each is first loaded into its model.
 */
export async function applyObjects(kubeConfig: KubeConfig, objects: readonly object[], fieldManager: string): Promise<void> {
  const client = KubernetesObjectApi.makeApiClient(kubeConfig);
  for (const object of objects) {
    const typed = loadYaml<KubernetesObject>(JSON.stringify(object));
    await client.patch(typed, undefined, undefined, fieldManager, true, PatchStrategy.ServerSideApply);
  }
}
