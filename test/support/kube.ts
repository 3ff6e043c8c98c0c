import { randomBytes } from "node:crypto";
import { CoreV1Api, CustomObjectsApi, KubeConfig, type V1Node } from "@kubernetes/client-node";
import type { V1VirtualMachineInstance } from "@kubevirt-ui-ext/kubevirt-api/kubevirt";
import { inject } from "vitest";
import { stringify } from "yaml";
import { KUBEADM_NODE_BOOTSTRAP_GROUP } from "../../src/api/names.ts";
import { JOIN_INFO_PATH, type JoinInfo, type JoinMethod } from "../../src/joininfo/join-info.ts";
import { caCertHashFor } from "../../src/joininfo/ca-hash.ts";
import { VMI_GROUP, VMI_PLURAL, VMI_VERSION } from "../../src/simulator/constants.ts";
import { pollUntil } from "../../src/util/poll.ts";

export function adminKubeConfig(): KubeConfig {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(inject("kubeconfigPath"));
  return kubeConfig;
}

export const randomSuffix = (): string => randomBytes(4).toString("hex");

export async function createNamespace(kubeConfig: KubeConfig, prefix: string): Promise<string> {
  const name = `${prefix}-${randomSuffix()}`;
  await kubeConfig.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name } } });
  return name;
}

/** A kubeadm-style bootstrap token Secret in kube-system; returns `<id>.<secret>`. */
export async function createBootstrapToken(kubeConfig: KubeConfig, ttlSeconds = 1800): Promise<string> {
  const id = randomBytes(3).toString("hex");
  const secret = randomBytes(8).toString("hex");
  await kubeConfig.makeApiClient(CoreV1Api).createNamespacedSecret({
    namespace: "kube-system",
    body: {
      metadata: { name: `bootstrap-token-${id}`, namespace: "kube-system" },
      type: "bootstrap.kubernetes.io/token",
      stringData: {
        "token-id": id,
        "token-secret": secret,
        expiration: new Date(Date.now() + ttlSeconds * 1000).toISOString(),
        "usage-bootstrap-authentication": "true",
        "usage-bootstrap-signing": "true",
        "auth-extra-groups": KUBEADM_NODE_BOOTSTRAP_GROUP,
      },
    },
  });
  return `${id}.${secret}`;
}

/** The cluster CA's hash as the controller computes it for a join method: from the kube-root-ca.crt ConfigMap. */
export async function clusterCaCertHash(kubeConfig: KubeConfig, joinMethod: JoinMethod = "kubeadm"): Promise<string> {
  const configMap = await pollUntil(
    "kube-root-ca.crt in kube-system",
    async () => (await kubeConfig.makeApiClient(CoreV1Api).readNamespacedConfigMap({ namespace: "kube-system", name: "kube-root-ca.crt" })).data?.["ca.crt"],
    { timeoutMs: 30_000 },
  );
  return caCertHashFor(joinMethod, configMap);
}

export function joinInfoFor(kubeConfig: KubeConfig, options: { token: string; caCertHash: string; nodeName: string; podUid: string; joinMethod?: JoinMethod }): JoinInfo {
  return {
    version: 1,
    join_method: options.joinMethod ?? "kubeadm",
    server_url: kubeConfig.getCurrentCluster()?.server ?? "",
    token: options.token,
    ca_cert_hash: options.caCertHash,
    node_name: options.nodeName,
    pod_uid: options.podUid,
    taint_key: "maroonedpods.io",
    labels: { "maroonedpods.io/pod-uid": options.podUid, "maroonedpods.io/vm": options.nodeName },
    taints: [{ key: "maroonedpods.io/dedicated", value: options.podUid, effect: "NoSchedule" }],
  };
}

export function cloudConfigCarrying(joinInfo: JoinInfo): string {
  return `#cloud-config\n${stringify({ write_files: [{ path: JOIN_INFO_PATH, permissions: "0600", content: stringify(joinInfo) }] })}`;
}

export function vmiManifest(name: string, cloudInitVolume: Record<string, unknown>): V1VirtualMachineInstance {
  return {
    apiVersion: `${VMI_GROUP}/${VMI_VERSION}`,
    kind: "VirtualMachineInstance",
    metadata: { name },
    spec: {
      domain: {
        devices: {
          disks: [
            { name: "rootdisk", disk: { bus: "virtio" } },
            { name: "cloudinit", disk: { bus: "virtio" } },
          ],
          interfaces: [{ name: "default", masquerade: {} }],
        },
        resources: { requests: { cpu: "1", memory: "1Gi" } },
      },
      networks: [{ name: "default", pod: {} }],
      volumes: [
        { name: "rootdisk", containerDisk: { image: "example.com/maroonedpods/node:test" } },
        { name: "cloudinit", ...cloudInitVolume },
      ],
    },
  };
}

export function vmiClient(kubeConfig: KubeConfig) {
  const api = kubeConfig.makeApiClient(CustomObjectsApi);
  const base = { group: VMI_GROUP, version: VMI_VERSION, plural: VMI_PLURAL };
  return {
    create: async (namespace: string, vmi: V1VirtualMachineInstance) =>
      (await api.createNamespacedCustomObject({ ...base, namespace, body: vmi })) as V1VirtualMachineInstance,
    read: async (namespace: string, name: string) => (await api.getNamespacedCustomObject({ ...base, namespace, name })) as V1VirtualMachineInstance,
    delete: (namespace: string, name: string) => api.deleteNamespacedCustomObject({ ...base, namespace, name }),
    list: async (namespace: string) => ((await api.listNamespacedCustomObject({ ...base, namespace })) as { items: V1VirtualMachineInstance[] }).items,
  };
}

export function nodeCondition(node: V1Node, type: string): string | undefined {
  return node.status?.conditions?.find((c) => c.type === type)?.status;
}
