import { CoreV1Api, RbacAuthorizationV1Api, type KubeConfig } from "@kubernetes/client-node";
import { isAlreadyExists } from "../../src/kube/errors.ts";
import { serviceAccountKubeConfig } from "../../src/devcluster/service-account.ts";

async function ignoreExists(promise: Promise<unknown>): Promise<void> {
  try {
    await promise;
  } catch (error) {
    if (!isAlreadyExists(error)) throw error;
  }
}

export async function ensureNamespace(admin: KubeConfig, name: string): Promise<void> {
  await ignoreExists(admin.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name } } }));
}

/**
 * A ServiceAccount holding the given cluster-wide rules, and a client with its
 * TokenRequest token: requests carry a real tenant identity, not the admin's.
 */
export async function serviceAccountClient(
  admin: KubeConfig,
  account: { namespace: string; name: string },
  rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[],
): Promise<KubeConfig> {
  const core = admin.makeApiClient(CoreV1Api);
  const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
  await ensureNamespace(admin, account.namespace);
  await ignoreExists(core.createNamespacedServiceAccount({ namespace: account.namespace, body: { metadata: { name: account.name } } }));
  const roleName = `test:${account.namespace}:${account.name}`;
  await ignoreExists(rbac.createClusterRole({ body: { metadata: { name: roleName }, rules } }));
  await ignoreExists(
    rbac.createClusterRoleBinding({
      body: {
        metadata: { name: roleName },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: roleName },
        subjects: [{ kind: "ServiceAccount", name: account.name, namespace: account.namespace }],
      },
    }),
  );
  return serviceAccountKubeConfig(admin, account, 3600);
}
