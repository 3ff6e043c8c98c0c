import { KubeConfig } from "@kubernetes/client-node";
import { stringify } from "yaml";

export interface KubeconfigUser {
  readonly name: string;
  readonly clientCertificatePem?: string;
  readonly clientKeyPem?: string;
  readonly token?: string;
}

const b64 = (text: string): string => Buffer.from(text, "utf8").toString("base64");

/** A self-contained kubeconfig (certificates inline) for one cluster and one user. */
export function renderKubeconfig(options: { clusterName: string; server: string; caPem: string; user: KubeconfigUser }): string {
  const { clusterName, server, caPem, user } = options;
  const credentials: Record<string, string> = {};
  if (user.clientCertificatePem) credentials["client-certificate-data"] = b64(user.clientCertificatePem);
  if (user.clientKeyPem) credentials["client-key-data"] = b64(user.clientKeyPem);
  if (user.token) credentials.token = user.token;
  const context = `${user.name}@${clusterName}`;
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: clusterName, cluster: { server, "certificate-authority-data": b64(caPem) } }],
    users: [{ name: user.name, user: credentials }],
    contexts: [{ name: context, context: { cluster: clusterName, user: user.name } }],
    "current-context": context,
  });
}

/** An in-memory client configuration built from the same rendering. */
export function kubeConfigFor(options: { clusterName: string; server: string; caPem: string; user: KubeconfigUser }): KubeConfig {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromString(renderKubeconfig(options));
  return kubeConfig;
}

/** The same client configuration, pointed at another address of the same API server (its certificate must name it). */
export function withServer(kubeConfig: KubeConfig, server: string): KubeConfig {
  const copy = new KubeConfig();
  copy.loadFromOptions({
    clusters: kubeConfig.clusters.map((cluster) => ({ ...cluster, server })),
    users: kubeConfig.users,
    contexts: kubeConfig.contexts,
    currentContext: kubeConfig.currentContext,
  });
  return copy;
}
