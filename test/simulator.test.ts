import { randomUUID } from "node:crypto";
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { renderCloudConfig } from "../src/controller/artifacts.ts";
import { apiMessageOf, statusCodeOf } from "../src/kube/errors.ts";
import { INJECT_FAILURE_ANNOTATION } from "../src/simulator/constants.ts";
import { VMI_GROUP, VMI_PLURAL, VMI_VERSION } from "../src/kubevirt/api.ts";
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

async function createRejected(namespace: string, vmi: ReturnType<typeof vmiManifest>): Promise<{ code: number | undefined; message: string }> {
  const failure: unknown = await vmiClient(adminKubeConfig()).create(namespace, vmi).then(
    () => undefined,
    (error: unknown) => error,
  );
  return { code: statusCodeOf(failure), message: apiMessageOf(failure) };
}

describe("the KubeVirt simulator's API surface", () => {
  it("installs the real VMI CRD: the API server prunes and rejects by its schema", async () => {
    const admin = adminKubeConfig();
    const namespace = await createNamespace(admin, "crd");
    const vmi = vmiManifest(`schema-${randomSuffix()}`, { cloudInitNoCloud: { userData: "#cloud-config\n" } });
    const created = await vmiClient(admin).create(namespace, { ...vmi, spec: { ...vmi.spec, notAField: true } as typeof vmi.spec });
    expect((created.spec as unknown as Record<string, unknown>).notAField).toBeUndefined();
    const wrongType = { ...vmi, metadata: { name: `schema-${randomSuffix()}` }, spec: { ...vmi.spec, domain: { ...vmi.spec.domain, devices: "not an object" } } };
    const rejected = await createRejected(namespace, wrongType as unknown as typeof vmi);
    expect(rejected.code).toBe(422);
  });

  it.each([
    [
      "inline user data over 2048 bytes",
      (vmi: ReturnType<typeof vmiManifest>) => vmi,
      { cloudInitNoCloud: { userData: `#cloud-config\n# ${"x".repeat(2100)}\n` } },
      /exceeds 2048 byte limit/,
    ],
    [
      "a disk that names no volume",
      (vmi: ReturnType<typeof vmiManifest>) => ({ ...vmi, spec: { ...vmi.spec, domain: { ...vmi.spec.domain, devices: { ...vmi.spec.domain.devices, disks: [...(vmi.spec.domain.devices.disks ?? []), { name: "ghost" }] } } } }),
      { cloudInitNoCloud: { userData: "#cloud-config\n" } },
      /'ghost' not found/,
    ],
    [
      "two cloud-init volumes",
      (vmi: ReturnType<typeof vmiManifest>) => ({ ...vmi, spec: { ...vmi.spec, volumes: [...(vmi.spec.volumes ?? []), { name: "second", cloudInitConfigDrive: { userData: "#cloud-config\n" } }] } }),
      { cloudInitNoCloud: { userData: "#cloud-config\n" } },
      /only one cloudInitNoCloud or cloudInitConfigDrive/,
    ],
    [
      "kernel arguments without an external kernel",
      (vmi: ReturnType<typeof vmiManifest>) => ({ ...vmi, spec: { ...vmi.spec, domain: { ...vmi.spec.domain, firmware: { kernelBoot: { kernelArgs: "console=ttyS0" } } } } }),
      { cloudInitNoCloud: { userData: "#cloud-config\n" } },
      /kernel arguments cannot be provided without an external kernel/,
    ],
  ])("rejects %s at create, as virt-api does", async (_name, mutate, cloudInit, message) => {
    const admin = adminKubeConfig();
    const namespace = await createNamespace(admin, "virtapi");
    const rejected = await createRejected(namespace, mutate(vmiManifest(`bad-${randomSuffix()}`, cloudInit)));
    expect(rejected.code).toBe(422);
    expect(rejected.message).toMatch(message);
  });

  it("accepts large user data from a Secret and moves the VMI to Running with an IP", async () => {
    const admin = adminKubeConfig();
    const namespace = await createNamespace(admin, "phases");
    const name = `big-${randomSuffix()}`;
    await admin.makeApiClient(CoreV1Api).createNamespacedSecret({ namespace, body: { metadata: { name }, stringData: { userdata: `#cloud-config\n# ${"x".repeat(5000)}\n` } } });
    await vmiClient(admin).create(namespace, vmiManifest(name, { cloudInitNoCloud: { secretRef: { name } } }));
    const vmi = await pollUntil("VMI Running", async () => {
      const current = await vmiClient(admin).read(namespace, name);
      return current.status?.phase === "Running" ? current : undefined;
    }, { timeoutMs: 30_000 });
    expect(vmi.status?.phaseTransitionTimestamps?.map((t) => t.phase)).toEqual(["Pending", "Scheduling", "Scheduled", "Running"]);
    expect(vmi.status?.interfaces?.[0]?.ipAddress).toMatch(/^10\.244\.\d+\.\d+$/);
  });
});

describe("VM failure and deletion", () => {
  async function joinedVmi() {
    const admin = adminKubeConfig();
    const namespace = await createNamespace(admin, "lifecycle");
    const nodeName = `marooned-${randomSuffix()}`;
    const joinInfo = joinInfoFor(admin, { token: await createBootstrapToken(admin), caCertHash: await clusterCaCertHash(admin), nodeName, podUid: randomUUID() });
    await vmiClient(admin).create(namespace, vmiManifest(nodeName, { cloudInitNoCloud: { userData: renderCloudConfig(joinInfo) } }));
    const core = admin.makeApiClient(CoreV1Api);
    await pollUntil(`node ${nodeName} Ready`, async () => (nodeCondition(await core.readNode({ name: nodeName }), "Ready") === "True" ? true : undefined), {
      timeoutMs: 60_000,
      intervalMs: 500,
    });
    const notReady = () =>
      pollUntil(`node ${nodeName} to stop being Ready`, async () => (nodeCondition(await core.readNode({ name: nodeName }), "Ready") !== "True" ? true : undefined), {
        timeoutMs: 90_000,
        intervalMs: 1_000,
      });
    return { admin, namespace, nodeName, notReady };
  }

  it("an injected failure sets phase Failed and the node stops heartbeating", async () => {
    const { admin, namespace, nodeName, notReady } = await joinedVmi();
    await admin.makeApiClient(CustomObjectsApi).patchNamespacedCustomObject(
      { group: VMI_GROUP, version: VMI_VERSION, plural: VMI_PLURAL, namespace, name: nodeName, body: { metadata: { annotations: { [INJECT_FAILURE_ANNOTATION]: "guest kernel panic" } } } },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    await pollUntil("VMI Failed", async () => ((await vmiClient(admin).read(namespace, nodeName)).status?.phase === "Failed" ? true : undefined), { timeoutMs: 30_000 });
    await notReady();
  });

  it("a deleted VMI's node goes NotReady", async () => {
    const { admin, namespace, nodeName, notReady } = await joinedVmi();
    await vmiClient(admin).delete(namespace, nodeName);
    await notReady();
  });
});
