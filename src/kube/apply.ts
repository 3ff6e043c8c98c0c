import { KubernetesObjectApi, PatchStrategy, type KubeConfig, type KubernetesObject } from "@kubernetes/client-node";

/** Server-side apply, in order, under one field manager; re-applying changes nothing. */
export async function applyObjects(kubeConfig: KubeConfig, objects: readonly KubernetesObject[], fieldManager: string): Promise<void> {
  const client = KubernetesObjectApi.makeApiClient(kubeConfig);
  for (const object of objects) {
    await client.patch(object, undefined, undefined, fieldManager, true, PatchStrategy.ServerSideApply);
  }
}
