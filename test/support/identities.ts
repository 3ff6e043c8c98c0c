import { CoreV1Api, RbacAuthorizationV1Api, type KubeConfig } from "@kubernetes/client-node";
import { isAlreadyExists } from "../../src/kube/errors.ts";
import { kubeConfigFor } from "../../src/kube/kubeconfig.ts";

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
 * A client that authenticates as a ServiceAccount with a token from the
 * TokenRequest API, holding the given cluster-wide rules; so requests carry a
 * real tenant or controller identity, not the admin's.
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
  const token = await core.createNamespacedServiceAccountToken({ namespace: account.namespace, name: account.name, body: { spec: { audiences: [], expirationSeconds: 3600 } } });
  const cluster = admin.getCurrentCluster();
  if (!cluster?.caData) throw new Error("admin kubeconfig has no certificate-authority-data");
  return kubeConfigFor({
    clusterName: "test",
    server: cluster.server,
    caPem: Buffer.from(cluster.caData, "base64").toString("utf8"),
    user: { name: account.name, token: token.status?.token ?? "" },
  });
}
