import { AdmissionregistrationV1Api, type KubeConfig } from "@kubernetes/client-node";
import { applyObjects } from "../../src/kube/apply.ts";
import { validatingAdmissionPolicies } from "../../webhook/manifests.ts";
import { DEFAULT_ADMISSION_SETTINGS } from "../../webhook/settings.ts";

/**
 * Runs `action` with one policy's binding deleted, as an admin who removed it would, then binds it again. The API
 * server drops a binding a moment after the delete, so the action should retry its first write until it goes through.
 */
export async function withoutPolicyBinding<T>(admin: KubeConfig, policy: string, action: () => Promise<T>): Promise<T> {
  await admin.makeApiClient(AdmissionregistrationV1Api).deleteValidatingAdmissionPolicyBinding({ name: policy });
  try {
    return await action();
  } finally {
    await applyObjects(admin, validatingAdmissionPolicies(DEFAULT_ADMISSION_SETTINGS), "maroonedpods-devcluster");
  }
}
