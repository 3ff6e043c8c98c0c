import { KubernetesObjectApi, loadYaml, PatchStrategy, type KubeConfig, type KubernetesObject } from "@kubernetes/client-node";

/**
 * A wire-format object (as in a manifest) loaded into client-node's typed
 * model. client-node serializes built-in kinds through those models, which drop
 * wire keys they spell differently (x-kubernetes-int-or-string, $ref, ...).
 */
export const typedObject = (object: object): KubernetesObject => loadYaml<KubernetesObject>(JSON.stringify(object));

/** Server-side apply, in order, under one field manager; re-applying changes nothing. */
export async function applyObjects(kubeConfig: KubeConfig, objects: readonly object[], fieldManager: string): Promise<void> {
  const client = KubernetesObjectApi.makeApiClient(kubeConfig);
  for (const object of objects) {
    await client.patch(typedObject(object), undefined, undefined, fieldManager, true, PatchStrategy.ServerSideApply);
  }
}
