import { randomUUID } from "node:crypto";
import { CertificatesV1Api, CoreV1Api, PatchStrategy, setHeaderOptions, type V1Node } from "@kubernetes/client-node";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { DEFAULT_TAINT_KEY_PREFIX } from "../src/api/names.ts";
import { renderCloudConfig } from "../src/controller/artifacts.ts";
import { verifyNode } from "../src/controller/verification.ts";
import { MASQUERADE_GUEST_IP } from "../src/kubevirt/api.ts";
import { statusCodeOf } from "../src/kube/errors.ts";
import { discoverClusterCa, kubeletKubeConfig, obtainKubeletCredentials, registerNode } from "../src/simulator/guest.ts";
import { pollUntil } from "../src/util/poll.ts";
import {
  adminKubeConfig,
  clusterCaCertHash,
  createBootstrapToken,
  createNamespace,
  joinInfoFor,
  nodeCondition,
  randomSuffix,
  vmiClient,
  vmiManifest,
} from "./support/kube.ts";

const logger = pino({ level: "silent" });

describe("a simulated guest joins through the bootstrap-token and CSR path", () => {
  it("registers a Ready node with the join info's name, labels, taints and the VMI's IP", async () => {
    const admin = adminKubeConfig();
    const core = admin.makeApiClient(CoreV1Api);
    const namespace = await createNamespace(admin, "join");
    const podUid = randomUUID();
    const nodeName = `marooned-${randomSuffix()}`;
    const joinInfo = joinInfoFor(admin, { token: await createBootstrapToken(admin), caCertHash: await clusterCaCertHash(admin), nodeName, podUid });
    await core.createNamespacedSecret({ namespace, body: { metadata: { name: `${nodeName}-cloud-init` }, stringData: { userdata: renderCloudConfig(joinInfo) } } });
    const vmis = vmiClient(admin);
    await vmis.create(namespace, vmiManifest(nodeName, { cloudInitNoCloud: { secretRef: { name: `${nodeName}-cloud-init` } } }));

    const node = await pollUntil(
      `node ${nodeName} Ready`,
      async () => {
        const current = await core.readNode({ name: nodeName });
        return nodeCondition(current, "Ready") === "True" ? current : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    const vmi = await vmis.read(namespace, nodeName);

    expect(vmi.status?.phase).toBe("Running");
    const vmiIp = vmi.status?.interfaces?.[0]?.ipAddress;
    expect(vmiIp).toMatch(/^10\.244\./);
    expect(node.status?.addresses).toContainEqual({ type: "InternalIP", address: vmiIp });
    expect(node.metadata?.labels).toMatchObject({ "maroonedpods.io/pod-uid": podUid, "maroonedpods.io/vm": nodeName });
    expect(node.spec?.taints).toContainEqual(expect.objectContaining({ key: "maroonedpods.io/dedicated", value: podUid, effect: "NoSchedule" }));
    // The node's own client certificate came from a CSR that the controller-manager approved and signed.
    const csrs = await admin.makeApiClient(CertificatesV1Api).listCertificateSigningRequest();
    const signed = csrs.items.filter((c) => c.spec.username?.startsWith("system:bootstrap:") && c.status?.certificate);
    expect(signed.length).toBeGreaterThan(0);
    expect(signed.every((c) => c.status?.conditions?.some((cond) => cond.type === "Approved"))).toBe(true);

    // The real scheduler places a pod that tolerates the node's taint, and kwok runs it as the guest's kubelet.
    await pollUntil("the namespace's default ServiceAccount", async () => (await core.readNamespacedServiceAccount({ namespace, name: "default" })).metadata?.name, { timeoutMs: 30_000 });
    await core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name: "workload" },
        spec: {
          nodeSelector: { "kubernetes.io/hostname": nodeName },
          tolerations: [{ key: "maroonedpods.io/dedicated", operator: "Equal", value: podUid, effect: "NoSchedule" }],
          containers: [{ name: "main", image: "registry.example/app:1" }],
        },
      },
    });
    const running = await pollUntil("the workload pod Running", async () => {
      const pod = await core.readNamespacedPod({ namespace, name: "workload" });
      return pod.status?.phase === "Running" ? pod : undefined;
    }, { timeoutMs: 60_000, intervalMs: 500 });
    expect(running.spec?.nodeName).toBe(nodeName);
  });

  it.each([
    ["passt", { passtBinding: {} }, true],
    ["masquerade", { masquerade: {} }, false],
  ])("behind the %s binding the guest registers %s", async (binding, iface, seesPodIp) => {
    const admin = adminKubeConfig();
    const core = admin.makeApiClient(CoreV1Api);
    const namespace = await createNamespace(admin, `join-${binding}`);
    const podUid = randomUUID();
    const nodeName = `marooned-${randomSuffix()}`;
    const joinInfo = joinInfoFor(admin, { token: await createBootstrapToken(admin), caCertHash: await clusterCaCertHash(admin), nodeName, podUid });
    await vmiClient(admin).create(namespace, vmiManifest(nodeName, { cloudInitNoCloud: { userData: renderCloudConfig(joinInfo) } }, iface));
    const node = await pollUntil(`node ${nodeName}`, async () => core.readNode({ name: nodeName }).catch(() => undefined), { timeoutMs: 60_000, intervalMs: 500 });
    const vmi = await vmiClient(admin).read(namespace, nodeName);
    const internalIp = node.status?.addresses?.find((a) => a.type === "InternalIP")?.address;
    const problems = verifyNode(node, vmi, nodeName, podUid, DEFAULT_TAINT_KEY_PREFIX);
    if (seesPodIp) {
      expect(internalIp).toBe(vmi.status?.interfaces?.[0]?.ipAddress);
      expect(problems).toEqual([]);
    } else {
      // NAT: the guest sees 10.0.2.2, which is no address of its VMI; such a node is never trusted.
      expect(internalIp).toBe(MASQUERADE_GUEST_IP);
      expect(problems).toEqual([expect.stringContaining(`InternalIP ${MASQUERADE_GUEST_IP} is not among the VM's addresses`)]);
    }
  });

  it("user data inline in the VMI works the same way", async () => {
    const admin = adminKubeConfig();
    const core = admin.makeApiClient(CoreV1Api);
    const namespace = await createNamespace(admin, "join-inline");
    const nodeName = `marooned-${randomSuffix()}`;
    const joinInfo = joinInfoFor(admin, { token: await createBootstrapToken(admin), caCertHash: await clusterCaCertHash(admin), nodeName, podUid: randomUUID() });
    await vmiClient(admin).create(namespace, vmiManifest(nodeName, { cloudInitNoCloud: { userData: renderCloudConfig(joinInfo) } }));
    const node = await pollUntil(`node ${nodeName}`, async () => {
      const current = await core.readNode({ name: nodeName });
      return nodeCondition(current, "Ready") === "True" ? current : undefined;
    }, { timeoutMs: 60_000, intervalMs: 500 });
    expect(node.metadata?.name).toBe(nodeName);
  });

  it("checks the CA the way the join method's agent does: a PEM hash for k3s, a public-key pin for kubeadm", async () => {
    const admin = adminKubeConfig();
    const k3s = (caCertHash: string) => joinInfoFor(admin, { token: "", caCertHash, nodeName: `marooned-${randomSuffix()}`, podUid: randomUUID(), joinMethod: "k3s" });
    await expect(discoverClusterCa({ ...k3s(await clusterCaCertHash(admin, "k3s")) })).resolves.toMatch(/^-----BEGIN CERTIFICATE-----/);
    await expect(discoverClusterCa(k3s(await clusterCaCertHash(admin, "kubeadm")))).rejects.toThrow(/does not match ca_cert_hash/);
  });

  it("refuses to join a cluster whose CA does not match the pinned hash", async () => {
    const admin = adminKubeConfig();
    const joinInfo = joinInfoFor(admin, { token: await createBootstrapToken(admin), caCertHash: `sha256:${"0".repeat(64)}`, nodeName: `marooned-${randomSuffix()}`, podUid: randomUUID() });
    await expect(obtainKubeletCredentials(joinInfo, logger)).rejects.toThrow(/does not match ca_cert_hash/);
  });

  it("a token that the API server does not know cannot create a CSR", async () => {
    const admin = adminKubeConfig();
    const joinInfo = joinInfoFor(admin, { token: "abcdef.0123456789abcdef", caCertHash: await clusterCaCertHash(admin), nodeName: `marooned-${randomSuffix()}`, podUid: randomUUID() });
    const failure: unknown = await obtainKubeletCredentials(joinInfo, logger).catch((error: unknown) => error);
    expect(statusCodeOf(failure)).toBe(401);
  });
});

describe("NodeRestriction is really on", () => {
  it("the kubelet identity cannot set a node-restriction.kubernetes.io/ label, but may set others", async () => {
    const admin = adminKubeConfig();
    const nodeName = `restricted-${randomSuffix()}`;
    const podUid = randomUUID();
    const joinInfo = joinInfoFor(admin, { token: await createBootstrapToken(admin), caCertHash: await clusterCaCertHash(admin), nodeName, podUid });
    const kubelet = kubeletKubeConfig(joinInfo, await obtainKubeletCredentials(joinInfo, logger));
    await registerNode(kubelet, { ...joinInfo, labels: {} }, { ip: "10.99.0.1", resources: { cpu: "1", memory: "1Gi" } });
    const asKubelet = kubelet.makeApiClient(CoreV1Api);
    const mergePatch = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);
    const label = (key: string): Partial<V1Node> => ({ metadata: { labels: { [key]: podUid } } });

    await asKubelet.patchNode({ name: nodeName, body: label("maroonedpods.io/pod-uid") }, mergePatch);
    const restricted: unknown = await asKubelet
      .patchNode({ name: nodeName, body: label("node-restriction.kubernetes.io/maroonedpods-pod-uid") }, mergePatch)
      .catch((error: unknown) => error);
    expect(statusCodeOf(restricted)).toBe(403);
    expect(String((restricted as { body?: unknown }).body)).toMatch(/node-restriction\.kubernetes\.io/);

    // Nor may it touch another node.
    const otherNode = `other-${randomSuffix()}`;
    await admin.makeApiClient(CoreV1Api).createNode({ body: { metadata: { name: otherNode } } });
    const other: unknown = await asKubelet.patchNode({ name: otherNode, body: label("example.com/x") }, mergePatch).catch((error: unknown) => error);
    expect(statusCodeOf(other)).toBe(403);

    // The cluster admin can set the trusted label: the restriction is about who asks.
    await admin.makeApiClient(CoreV1Api).patchNode({ name: nodeName, body: label("node-restriction.kubernetes.io/maroonedpods-pod-uid") }, mergePatch);
    const node = await admin.makeApiClient(CoreV1Api).readNode({ name: nodeName });
    expect(node.metadata?.labels?.["node-restriction.kubernetes.io/maroonedpods-pod-uid"]).toBe(podUid);
    expect(node.metadata?.labels?.["maroonedpods.io/pod-uid"]).toBe(podUid);
  });
});
