import { randomBytes } from "node:crypto";
import { CertificatesV1Api, CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig, type V1Node } from "@kubernetes/client-node";
import { request } from "node:https";
import { parse } from "yaml";
import type { Logger } from "pino";
import { caCertHashFor } from "../joininfo/ca-hash.ts";
import { createCertificateSigningRequest, generateKeyPair, privateKeyToPem } from "../pki/certificates.ts";
import { kubeConfigFor } from "../kube/kubeconfig.ts";
import { isAlreadyExists } from "../kube/errors.ts";
import { pollUntil } from "../util/poll.ts";
import type { JoinInfo } from "../joininfo/join-info.ts";
import { KWOK_MANAGED_LABEL, KWOK_MANAGED_VALUE } from "../devcluster/kwok.ts";

const KUBELET_CLIENT_SIGNER = "kubernetes.io/kube-apiserver-client-kubelet";
const CSR_TIMEOUT_MS = 120_000;

export interface KubeletCredentials {
  readonly caPem: string;
  readonly certPem: string;
  readonly keyPem: string;
}

export interface GuestResources {
  readonly cpu: string;
  readonly memory: string;
}

/**
 * Token discovery: read the public cluster-info ConfigMap without trusting the
 * server yet (a k3s agent reads /cacerts instead), then accept its CA only if
 * it matches the join info's hash, computed the way that join method's agent does.
 */
export async function discoverClusterCa(joinInfo: JoinInfo): Promise<string> {
  const url = `${joinInfo.server_url}/api/v1/namespaces/kube-public/configmaps/cluster-info`;
  const body = await new Promise<string>((resolve, reject) => {
    const req = request(url, { rejectUnauthorized: false, timeout: 10_000 }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (text += chunk));
      res.on("end", () => {
        if (res.statusCode === 200) resolve(text);
        else reject(new Error(`cluster-info discovery: HTTP ${res.statusCode}`));
      });
    });
    req.on("timeout", () => req.destroy(new Error("cluster-info discovery timed out")));
    req.on("error", reject);
    req.end();
  });
  const kubeconfig = parse((JSON.parse(body) as { data?: { kubeconfig?: string } }).data?.kubeconfig ?? "") as {
    clusters?: { cluster?: { "certificate-authority-data"?: string } }[];
  } | null;
  const caData = kubeconfig?.clusters?.[0]?.cluster?.["certificate-authority-data"];
  if (!caData) throw new Error("cluster-info discovery: no certificate-authority-data");
  const caPem = Buffer.from(caData, "base64").toString("utf8");
  const hash = caCertHashFor(joinInfo.join_method, caPem);
  if (hash !== joinInfo.ca_cert_hash) throw new Error(`cluster-info discovery: CA hash ${hash} does not match ca_cert_hash ${joinInfo.ca_cert_hash}`);
  return caPem;
}

/** The kubelet TLS bootstrap: a CSR authenticated by the bootstrap token, approved and signed by the controller-manager. */
export async function obtainKubeletCredentials(joinInfo: JoinInfo, logger: Logger): Promise<KubeletCredentials> {
  const caPem = await discoverClusterCa(joinInfo);
  const bootstrap = kubeConfigFor({ clusterName: "bootstrap", server: joinInfo.server_url, caPem, user: { name: "kubelet-bootstrap", token: joinInfo.token } });
  const certificates = bootstrap.makeApiClient(CertificatesV1Api);
  const keys = await generateKeyPair();
  const csrPem = await createCertificateSigningRequest(keys, `system:node:${joinInfo.node_name}`, ["system:nodes"]);
  const csrName = `node-csr-${randomBytes(8).toString("hex")}`;
  await certificates.createCertificateSigningRequest({
    body: {
      apiVersion: "certificates.k8s.io/v1",
      kind: "CertificateSigningRequest",
      metadata: { name: csrName },
      spec: { request: Buffer.from(csrPem).toString("base64"), signerName: KUBELET_CLIENT_SIGNER, usages: ["digital signature", "client auth"] },
    },
  });
  logger.debug({ node: joinInfo.node_name, csr: csrName }, "kubelet CSR created; waiting for approval and signature");
  const certificate = await pollUntil(
    `CSR ${csrName} to be signed`,
    async () => {
      const csr = await certificates.readCertificateSigningRequest({ name: csrName });
      const denied = csr.status?.conditions?.find((c) => c.type === "Denied" || c.type === "Failed");
      if (denied) throw new Error(`CSR ${csrName} ${denied.type}: ${denied.message ?? ""}`);
      return csr.status?.certificate;
    },
    { timeoutMs: CSR_TIMEOUT_MS, intervalMs: 200 },
  );
  return { caPem, certPem: Buffer.from(certificate, "base64").toString("utf8"), keyPem: await privateKeyToPem(keys.privateKey) };
}

export function kubeletKubeConfig(joinInfo: JoinInfo, credentials: KubeletCredentials): KubeConfig {
  return kubeConfigFor({
    clusterName: "cluster",
    server: joinInfo.server_url,
    caPem: credentials.caPem,
    user: { name: `system:node:${joinInfo.node_name}`, clientCertificatePem: credentials.certPem, clientKeyPem: credentials.keyPem },
  });
}

/**
 * Registers the Node as its own kubelet would (status included at create, as a
 * kubelet does), so NodeRestriction applies to every field it sets. Only then
 * is the node handed to kwok, so kwok initialises a node whose addresses and
 * capacity are already in place.
 */
export async function registerNode(
  kubelet: KubeConfig,
  joinInfo: JoinInfo,
  guest: { ip: string; resources: GuestResources },
): Promise<V1Node> {
  const core = kubelet.makeApiClient(CoreV1Api);
  const capacity = { cpu: guest.resources.cpu, memory: guest.resources.memory, pods: "110" };
  const node: V1Node = {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name: joinInfo.node_name,
      labels: {
        "kubernetes.io/hostname": joinInfo.node_name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        ...joinInfo.labels,
      },
      annotations: { "node.alpha.kubernetes.io/ttl": "0" },
    },
    spec: { taints: joinInfo.taints.map((t) => ({ key: t.key, value: t.value, effect: t.effect })) },
    status: {
      addresses: [
        { type: "InternalIP", address: guest.ip },
        { type: "Hostname", address: joinInfo.node_name },
      ],
      capacity,
      allocatable: capacity,
      nodeInfo: {
        architecture: "amd64",
        operatingSystem: "linux",
        osImage: "MaroonedPods simulated guest",
        kernelVersion: "simulated",
        containerRuntimeVersion: "kwok://simulated",
        kubeletVersion: "simulated",
        kubeProxyVersion: "",
        bootID: randomBytes(16).toString("hex"),
        machineID: randomBytes(16).toString("hex"),
        systemUUID: randomBytes(16).toString("hex"),
      },
    },
  };
  // A retry after a write whose answer was lost finds the node registered already, as a kubelet would.
  await core.createNode({ body: node }).catch((error: unknown) => {
    if (!isAlreadyExists(error)) throw error;
  });
  // The simulated guest's kubelet is kwok: this label hands the node to it.
  return core.patchNode(
    { name: joinInfo.node_name, body: { metadata: { labels: { [KWOK_MANAGED_LABEL]: KWOK_MANAGED_VALUE } } } },
    setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
  );
}
