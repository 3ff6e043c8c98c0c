import type { V1Secret } from "@kubernetes/client-node";
import type { V1VirtualMachineInstance } from "@kubevirt-ui-ext/kubevirt-api/kubevirt";
import { stringify } from "yaml";
import { MANAGED_BY, OWNED_LABELS, POD_NAME_ANNOTATION } from "../api/conditions.ts";
import {
  dedicatedTaintKey,
  KUBE_SYSTEM_NAMESPACE,
  NODE_POD_UID_LABEL,
  NODE_VM_LABEL,
  POOL_LABEL,
  POOL_LABEL_VALUE,
  POOL_STATE_LABEL,
  POOL_STATES,
  POOL_TAINT_VALUE,
  poolTaintKey,
  poolVmNamePrefix,
} from "../api/names.ts";
import { JOIN_INFO_PATH, JOIN_INFO_VERSION, type JoinInfo } from "../joininfo/join-info.ts";
import { formatCpuMillis, formatMemoryBytes } from "../kube/quantity.ts";
import { podNetworkInterface, VMI_GROUP, VMI_VERSION } from "../kubevirt/api.ts";
import type { ControllerConfig } from "./config.ts";

/** What the launch phase builds everything from. */
export interface PodIdentity {
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
}

export interface BootstrapToken {
  readonly id: string;
  readonly secret: string;
}

export const USER_DATA_SECRET_KEY = "userdata";

/** VM name = node name: the pod UID is unique across namespaces and keeps it a DNS label. */
export const vmNameFor = (config: Pick<ControllerConfig, "nodeNamePrefix">, podUid: string): string => `${config.nodeNamePrefix}${podUid.toLowerCase()}`;
export const userDataSecretNameFor = (vmName: string): string => `${vmName}-cloud-init`;
export const tokenSecretNameFor = (tokenId: string): string => `bootstrap-token-${tokenId}`;
export const tokenString = (token: BootstrapToken): string => `${token.id}.${token.secret}`;

const TOKEN_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";

/** A bootstrap token from a source of random bytes (injected so tests are deterministic). */
export function mintToken(randomBytes: (n: number) => Uint8Array): BootstrapToken {
  const draw = (length: number) => Array.from(randomBytes(length), (b) => TOKEN_ALPHABET[b % TOKEN_ALPHABET.length]).join("");
  return { id: draw(6), secret: draw(16) };
}

export function ownedLabels(pod: PodIdentity): Record<string, string> {
  return { [OWNED_LABELS.podUid]: pod.uid, [OWNED_LABELS.podNamespace]: pod.namespace, [OWNED_LABELS.component]: MANAGED_BY };
}

const ownedMetadata = (pod: PodIdentity, name: string, namespace: string) => ({
  name,
  namespace,
  labels: ownedLabels(pod),
  annotations: { [POD_NAME_ANNOTATION]: pod.name },
});

/** A kubeadm-format bootstrap token Secret; the API server authenticates it as the configured groups. */
export function tokenSecret(pod: PodIdentity, token: BootstrapToken, config: ControllerConfig, now: number): V1Secret {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: ownedMetadata(pod, tokenSecretNameFor(token.id), KUBE_SYSTEM_NAMESPACE),
    type: "bootstrap.kubernetes.io/token",
    stringData: {
      "token-id": token.id,
      "token-secret": token.secret,
      expiration: new Date(now + config.bootstrapTokenTtlMs).toISOString().replace(/\.\d{3}Z$/, "Z"),
      "usage-bootstrap-authentication": "true",
      // Only kubeadm's discovery reads cluster-info's signature for the token; a k3s agent gets the CA from the
      // supervisor. A signing token also makes the bootstrap signer rewrite cluster-info at its create and delete.
      ...(config.joinMethod === "kubeadm" ? { "usage-bootstrap-signing": "true" } : {}),
      "auth-extra-groups": config.bootstrapTokenGroups.join(","),
      description: `MaroonedPods node join for pod ${pod.namespace}/${pod.name}`,
    },
  };
}

/** What every VM's join info says, whoever it is for: where to join, with which token and CA, under which name. */
function commonJoinInfo(vmName: string, token: BootstrapToken, config: ControllerConfig, caCertHash: string) {
  return {
    version: JOIN_INFO_VERSION,
    join_method: config.joinMethod,
    server_url: config.apiServerEndpoint,
    token: tokenString(token),
    ca_cert_hash: caCertHash,
    node_name: vmName,
    taint_key: config.taintKeyPrefix,
  } as const;
}

export function joinInfoFor(pod: PodIdentity, vmName: string, token: BootstrapToken, config: ControllerConfig, caCertHash: string): JoinInfo {
  return {
    ...commonJoinInfo(vmName, token, config, caCertHash),
    pod_uid: pod.uid,
    labels: { [NODE_POD_UID_LABEL]: pod.uid, [NODE_VM_LABEL]: vmName },
    taints: [{ key: dedicatedTaintKey(config.taintKeyPrefix), value: pod.uid, effect: "NoSchedule" }],
  };
}

/** `#cloud-config` from a YAML library: no value is ever spliced into a shell script. */
export function renderCloudConfig(joinInfo: JoinInfo): string {
  const document = { write_files: [{ path: JOIN_INFO_PATH, permissions: "0600", owner: "root:root", content: stringify(joinInfo) }] };
  return `#cloud-config\n${stringify(document)}`;
}

/** The user data lives in a Secret in the VM namespace: it carries the token, and virt-api caps inline data at 2048 bytes. */
export function userDataSecret(pod: PodIdentity, vmName: string, config: ControllerConfig, cloudConfig: string): V1Secret {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: ownedMetadata(pod, userDataSecretNameFor(vmName), config.vmNamespace),
    type: "Opaque",
    stringData: { [USER_DATA_SECRET_KEY]: cloudConfig },
  };
}

interface VmSize {
  readonly cpuMillis: number;
  readonly memoryBytes: number;
  readonly guestCpus: number;
}

export function virtualMachineInstance(pod: PodIdentity, vmName: string, config: ControllerConfig, size: VmSize): V1VirtualMachineInstance {
  return vmiWith(ownedMetadata(pod, vmName, config.vmNamespace), vmName, config, size);
}

function vmiWith(metadata: V1VirtualMachineInstance["metadata"], vmName: string, config: ControllerConfig, size: VmSize): V1VirtualMachineInstance {
  const kernelBoot = config.kernelBoot;
  const memory = formatMemoryBytes(size.memoryBytes + config.guestReservedMemoryBytes);
  return {
    apiVersion: `${VMI_GROUP}/${VMI_VERSION}`,
    kind: "VirtualMachineInstance",
    metadata,
    spec: {
      hostname: vmName,
      domain: {
        // All three spelled out: KubeVirt multiplies them, and its defaulting of the other two differs by version.
        cpu: { cores: size.guestCpus, sockets: 1, threads: 1 },
        memory: { guest: memory },
        resources: { requests: { cpu: formatCpuMillis(size.cpuMillis), memory } },
        devices: {
          disks: [
            { name: "containerdisk", disk: { bus: "virtio" } },
            { name: "cloudinitdisk", disk: { bus: "virtio" } },
          ],
          interfaces: [podNetworkInterface(config.networkBinding)],
        },
        ...(kernelBoot
          ? {
              firmware: {
                kernelBoot: {
                  kernelArgs: kernelBoot.kernelArgs,
                  container: { image: config.nodeImage, kernelPath: kernelBoot.kernelPath, initrdPath: kernelBoot.initrdPath },
                },
              },
            }
          : {}),
      },
      networks: [{ name: "default", pod: {} }],
      terminationGracePeriodSeconds: 0,
      volumes: [
        { name: "containerdisk", containerDisk: { image: config.nodeImage } },
        { name: "cloudinitdisk", cloudInitNoCloud: { secretRef: { name: userDataSecretNameFor(vmName) } } },
      ],
    },
  };
}

/** A pool VM's name: `<nodeNamePrefix>pool-` and 10 random characters; never a pod VM's name (those end in a UUID). */
export function poolVmName(config: Pick<ControllerConfig, "nodeNamePrefix">, randomBytes: (n: number) => Uint8Array): string {
  return `${poolVmNamePrefix(config.nodeNamePrefix)}${Array.from(randomBytes(10), (b) => TOKEN_ALPHABET[b % TOKEN_ALPHABET.length]).join("")}`;
}

/** Labels on a pool VM's Secrets and token: the pool's, its VM's name, the controller's; no pod's. */
export const poolLabels = (vmName: string): Record<string, string> => ({ [POOL_LABEL]: POOL_LABEL_VALUE, [NODE_VM_LABEL]: vmName, [OWNED_LABELS.component]: MANAGED_BY });

export function poolTokenSecret(vmName: string, token: BootstrapToken, config: ControllerConfig, now: number): V1Secret {
  const secret = tokenSecret({ uid: "", namespace: "", name: "" }, token, config, now);
  return {
    ...secret,
    metadata: { name: tokenSecretNameFor(token.id), namespace: KUBE_SYSTEM_NAMESPACE, labels: poolLabels(vmName) },
    stringData: { ...secret.stringData, description: `MaroonedPods warm pool node join for ${vmName}` },
  };
}

/** No pod identity: the pool label and the pool taint, which no tenant pod may tolerate. A claim gives it a pod. */
export function poolJoinInfo(vmName: string, token: BootstrapToken, config: ControllerConfig, caCertHash: string): JoinInfo {
  return {
    ...commonJoinInfo(vmName, token, config, caCertHash),
    labels: { [POOL_LABEL]: POOL_LABEL_VALUE, [NODE_VM_LABEL]: vmName },
    taints: [{ key: poolTaintKey(config.taintKeyPrefix), value: POOL_TAINT_VALUE, effect: "NoSchedule" }],
  };
}

export function poolUserDataSecret(vmName: string, config: ControllerConfig, cloudConfig: string): V1Secret {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: userDataSecretNameFor(vmName), namespace: config.vmNamespace, labels: poolLabels(vmName) },
    type: "Opaque",
    stringData: { [USER_DATA_SECRET_KEY]: cloudConfig },
  };
}

/**
 * A pool VMI, `unclaimed`. The pod-name annotation is there, empty, so that a claim can `replace` it in the same JSON
 * patch that flips the state (a `test` on the state makes that patch fail for every claimer but the first).
 */
export function poolVirtualMachineInstance(vmName: string, config: ControllerConfig): V1VirtualMachineInstance {
  const { cpuMillis, memoryBytes } = config.warmPool.vmResources;
  const metadata = {
    name: vmName,
    namespace: config.vmNamespace,
    labels: { ...poolLabels(vmName), [POOL_STATE_LABEL]: POOL_STATES.unclaimed },
    annotations: { [POD_NAME_ANNOTATION]: "" },
  };
  return vmiWith(metadata, vmName, config, { cpuMillis, memoryBytes, guestCpus: Math.max(1, Math.ceil(cpuMillis / 1000)) });
}
