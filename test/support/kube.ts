import { randomBytes, randomUUID } from "node:crypto";
import { CoreV1Api, CustomObjectsApi, KubeConfig, type V1Node, type V1Pod } from "@kubernetes/client-node";
import type { V1VirtualMachineInstance } from "@kubevirt-ui-ext/kubevirt-api/kubevirt";
import { inject } from "vitest";
import { joinInfoFor as controllerJoinInfo, mintToken, tokenSecret, tokenString, type PodIdentity } from "../../src/controller/artifacts.ts";
import { resolveConfig, type ControllerConfig } from "../../src/controller/config.ts";
import type { JoinInfo, JoinMethod } from "../../src/joininfo/join-info.ts";
import { caCertHashFor } from "../../src/joininfo/ca-hash.ts";
import { podNetworkInterface, VMI_GROUP, VMI_PLURAL, VMI_VERSION } from "../../src/kubevirt/api.ts";
import { isNotFound } from "../../src/kube/errors.ts";
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

/** A fresh namespace whose default ServiceAccount exists, so pods can be created in it at once. */
export async function namespaceWithServiceAccount(kubeConfig: KubeConfig, prefix: string): Promise<string> {
  const namespace = await createNamespace(kubeConfig, prefix);
  const core = kubeConfig.makeApiClient(CoreV1Api);
  await pollUntil(`default ServiceAccount in ${namespace}`, async () => (await core.readNamespacedServiceAccount({ namespace, name: "default" })).metadata?.name, { timeoutMs: 30_000 });
  return namespace;
}

export async function runningPod(kubeConfig: KubeConfig, namespace: string, name: string): Promise<V1Pod> {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  return pollUntil(`pod ${namespace}/${name} Running`, async () => {
    const pod = await core.readNamespacedPod({ namespace, name });
    return pod.status?.phase === "Running" ? pod : undefined;
  }, { timeoutMs: 90_000, intervalMs: 200 });
}

/** Resolves once `read` answers 404. */
export async function gone(what: string, read: () => Promise<unknown>): Promise<void> {
  await pollUntil(`${what} to be gone`, async () => {
    try {
      await read();
      return undefined;
    } catch (error) {
      if (isNotFound(error)) return true;
      throw error;
    }
  }, { timeoutMs: 60_000, intervalMs: 300 });
}

/** Settings for guests joining this cluster, as the controller resolves them. */
export function configFor(kubeConfig: KubeConfig, joinMethod: JoinMethod = "kubeadm"): ControllerConfig {
  const resolved = resolveConfig({ joinMethod }, { apiServerEndpoint: kubeConfig.getCurrentCluster()?.server ?? "" });
  if (!resolved.ok) throw new Error(resolved.errors.join("; "));
  return resolved.config;
}

const testPod = (podUid: string): PodIdentity => ({ uid: podUid, namespace: "join-test", name: "guest" });

/** A bootstrap token Secret in kube-system, made as the controller makes one; returns `<id>.<secret>`. */
export async function createBootstrapToken(kubeConfig: KubeConfig, podUid = randomUUID()): Promise<string> {
  const token = mintToken((n) => randomBytes(n));
  await kubeConfig.makeApiClient(CoreV1Api).createNamespacedSecret({ namespace: "kube-system", body: tokenSecret(testPod(podUid), token, configFor(kubeConfig), Date.now()) });
  return tokenString(token);
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

/** The join info the controller would render for a guest joining this cluster as `nodeName`. */
export function joinInfoFor(kubeConfig: KubeConfig, options: { token: string; caCertHash: string; nodeName: string; podUid: string; joinMethod?: JoinMethod }): JoinInfo {
  const [id = "", secret = ""] = options.token.split(".");
  return controllerJoinInfo(testPod(options.podUid), options.nodeName, { id, secret }, configFor(kubeConfig, options.joinMethod), options.caCertHash);
}

/** A VMI booting the node image with that cloud-init volume, on the pod network through `iface` (bridge unless told). */
export function vmiManifest(name: string, cloudInitVolume: Record<string, unknown>, iface: Record<string, unknown> = podNetworkInterface("bridge")): V1VirtualMachineInstance {
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
          interfaces: [{ ...iface, name: "default" }],
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
