import { CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import { kubeConfigFor } from "../kube/kubeconfig.ts";

/**
 * A client authenticated as a ServiceAccount with a token from the TokenRequest
 * API, so dev and tests act with the identity (and only the rights) a deployed
 * component would have.
 */
export async function serviceAccountKubeConfig(admin: KubeConfig, account: { namespace: string; name: string }, expirationSeconds = 86_400): Promise<KubeConfig> {
  const token = await admin.makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({
    namespace: account.namespace,
    name: account.name,
    body: { spec: { audiences: [], expirationSeconds } },
  });
  const cluster = admin.getCurrentCluster();
  if (!cluster?.caData) throw new Error("the admin kubeconfig has no certificate-authority-data");
  return kubeConfigFor({
    clusterName: cluster.name,
    server: cluster.server,
    caPem: Buffer.from(cluster.caData, "base64").toString("utf8"),
    user: { name: `system:serviceaccount:${account.namespace}:${account.name}`, token: token.status?.token ?? "" },
  });
}
