import type { KubernetesObject } from "@kubernetes/client-node";
import { stringify } from "yaml";
import { KUBE_SYSTEM_NAMESPACE, KUBEADM_NODE_BOOTSTRAP_GROUP } from "../api/names.ts";

function clusterRoleBinding(name: string, clusterRole: string, subject: { kind: "Group" | "User"; name: string }): KubernetesObject {
  return {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRoleBinding",
    metadata: { name },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: clusterRole },
    subjects: [{ apiGroup: "rbac.authorization.k8s.io", ...subject }],
  } as KubernetesObject;
}

/**
 * What `kubeadm init` sets up so that a bootstrap token can join a node:
 * the token may create a CSR, its CSR is auto-approved, nodes may renew their
 * own client certificate, joiners may read nodes, and anyone may read the
 * signed cluster-info ConfigMap for discovery.
 */
export function kubeadmBootstrapObjects(options: { server: string; caPem: string; cluster: KubeadmClusterFacts }): KubernetesObject[] {
  const group = { kind: "Group" as const, name: KUBEADM_NODE_BOOTSTRAP_GROUP };
  const clusterInfoKubeconfig = stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "", cluster: { "certificate-authority-data": Buffer.from(options.caPem).toString("base64"), server: options.server } }],
    contexts: [],
    users: [],
  });
  return [
    clusterRoleBinding("kubeadm:kubelet-bootstrap", "system:node-bootstrapper", group),
    clusterRoleBinding("kubeadm:node-autoapprove-bootstrap", "system:certificates.k8s.io:certificatesigningrequests:nodeclient", group),
    clusterRoleBinding("kubeadm:node-autoapprove-certificate-rotation", "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient", {
      kind: "Group",
      name: "system:nodes",
    }),
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRole",
      metadata: { name: "kubeadm:get-nodes" },
      rules: [{ apiGroups: [""], resources: ["nodes"], verbs: ["get"] }],
    } as KubernetesObject,
    clusterRoleBinding("kubeadm:get-nodes", "kubeadm:get-nodes", group),
    {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "cluster-info", namespace: "kube-public" },
      data: { kubeconfig: clusterInfoKubeconfig },
    } as KubernetesObject,
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: { name: "kubeadm:bootstrap-signer-clusterinfo", namespace: "kube-public" },
      rules: [{ apiGroups: [""], resources: ["configmaps"], resourceNames: ["cluster-info"], verbs: ["get"] }],
    } as KubernetesObject,
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: "kubeadm:bootstrap-signer-clusterinfo", namespace: "kube-public" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "kubeadm:bootstrap-signer-clusterinfo" },
      subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: "system:anonymous" }],
    } as KubernetesObject,
    ...kubeadmJoinConfigObjects(options.cluster),
  ];
}

export interface KubeadmClusterFacts {
  readonly kubernetesVersion: string;
  readonly clusterName: string;
  readonly serviceSubnet: string;
}

function readableConfigMap(name: string, data: Record<string, string>): KubernetesObject[] {
  const roleName = `kubeadm:${name === "kubeadm-config" ? "nodes-kubeadm-config" : name}`;
  return [
    { apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: KUBE_SYSTEM_NAMESPACE }, data } as KubernetesObject,
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: { name: roleName, namespace: KUBE_SYSTEM_NAMESPACE },
      rules: [{ apiGroups: [""], resources: ["configmaps"], resourceNames: [name], verbs: ["get"] }],
    } as KubernetesObject,
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: roleName, namespace: KUBE_SYSTEM_NAMESPACE },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: roleName },
      subjects: [KUBEADM_NODE_BOOTSTRAP_GROUP, "system:nodes"].map((group) => ({ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: group })),
    } as KubernetesObject,
  ];
}

/**
 * What `kubeadm join` reads once discovery has verified the CA: the cluster's ClusterConfiguration and the
 * KubeletConfiguration every node gets, each readable by the token's group and by nodes, as `kubeadm init` leaves them.
 * The kubelet is told its cgroup driver because containerd 1.x cannot report it over CRI.
 */
export function kubeadmJoinConfigObjects(cluster: KubeadmClusterFacts): KubernetesObject[] {
  const clusterConfiguration = {
    apiVersion: "kubeadm.k8s.io/v1beta4",
    kind: "ClusterConfiguration",
    clusterName: cluster.clusterName,
    kubernetesVersion: cluster.kubernetesVersion,
    certificatesDir: "/etc/kubernetes/pki",
    networking: { serviceSubnet: cluster.serviceSubnet, dnsDomain: "cluster.local" },
  };
  const kubeletConfiguration = {
    apiVersion: "kubelet.config.k8s.io/v1beta1",
    kind: "KubeletConfiguration",
    cgroupDriver: "systemd",
    authentication: { anonymous: { enabled: false }, webhook: { enabled: true }, x509: { clientCAFile: "/etc/kubernetes/pki/ca.crt" } },
    authorization: { mode: "Webhook" },
    clusterDomain: "cluster.local",
    rotateCertificates: true,
    staticPodPath: "/etc/kubernetes/manifests",
    resolvConf: "/etc/resolv.conf",
    // A VM holds one pod: keep the kubelet's own reservations small so the pod's requests fit what the VM was sized for.
    evictionHard: { "memory.available": "50Mi", "nodefs.available": "5%", "imagefs.available": "5%" },
  };
  return [
    ...readableConfigMap("kubeadm-config", { ClusterConfiguration: stringify(clusterConfiguration) }),
    ...readableConfigMap("kubelet-config", { kubelet: stringify(kubeletConfiguration) }),
  ];
}
