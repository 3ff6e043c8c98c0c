import type { KubernetesObject } from "@kubernetes/client-node";
import { stringify } from "yaml";
import { KUBEADM_NODE_BOOTSTRAP_GROUP } from "../api/names.ts";


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
export function kubeadmBootstrapObjects(options: { server: string; caPem: string }): KubernetesObject[] {
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
  ];
}
