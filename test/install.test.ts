import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CoreV1Api, KubernetesObjectApi, type V1Pod } from "@kubernetes/client-node";
import { parse, parseAllDocuments } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OWNED_LABELS } from "../src/api/conditions.ts";
import {
  CLEANUP_FINALIZER, DEFAULT_RUNTIME_CLASS, DEFAULT_SYSTEM_NAMESPACE, DEFAULT_VM_NAMESPACE, MANAGED_LABEL, MAROON_LABEL, MAROON_LABEL_VALUE, SCHEDULING_GATE,
} from "../src/api/names.ts";
import { objectRef } from "../src/install/changes.ts";
import { typedObject } from "../src/kube/apply.ts";
import { bundleWithCrds, INSTALL_FIELD_MANAGER } from "../src/install/install.ts";
import { pollUntil } from "../src/util/poll.ts";
import { clusterSnapshot, settledSnapshot } from "./support/cluster-snapshot.ts";
import { startOwnCluster, type OwnCluster } from "./support/own-cluster.ts";
import { requireKubectl } from "./support/kubectl.ts";
import { startControllerAsServiceAccount } from "./support/controller-as-account.ts";
import { vmiClient } from "./support/kube.ts";
import { runCommand, type CommandResult } from "./support/processes.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const CLI = join(ROOT, "bin/maroonedpods.js");

let cluster: OwnCluster;
let before: string[];

/** Runs the CLI as a user would; resolves with its exit code and output instead of throwing. */
function maroonedpods(...args: string[]): Promise<CommandResult> {
  return runCommand(process.execPath, [CLI, ...args, `--kubeconfig=${cluster.kubeconfigPath}`]);
}

beforeAll(async () => {
  cluster = await startOwnCluster();
  before = await settledSnapshot(cluster.admin);
}, 600_000);

afterAll(async () => {
  await cluster.stop();
});

describe("kubectl apply -k and maroonedpods install apply the same objects", () => {
  it.each([
    ["deploy", "self-managed"],
    ["deploy/overlays/cert-manager", "cert-manager"],
  ] as const)("kubectl kustomize %s renders what install --%s applies", async (directory, certificates) => {
    const rendered = execFileSync(requireKubectl(), ["kustomize", join(ROOT, directory)], { encoding: "utf8" });
    const fromKustomize = new Map(parseAllDocuments(rendered).map((d) => d.toJS() as Record<string, unknown>).map((o) => [objectRef(o), o]));
    const fromInstall = new Map((await bundleWithCrds(certificates)).map((o) => [objectRef(o), o]));
    expect([...fromKustomize.keys()].sort()).toEqual([...fromInstall.keys()].sort());
    for (const [ref, object] of fromInstall) expect(fromKustomize.get(ref), ref).toEqual(object);
  });
});

describe("maroonedpods install and uninstall on the local control plane", () => {
  it("install --dry-run reports every object as created and stores nothing", async () => {
    const result = await maroonedpods("install", "--dry-run");
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout.trim().split("\n");
    const objects = await bundleWithCrds("self-managed");
    expect(lines.slice(0, -1)).toEqual(objects.map((o) => `${objectRef(o)} created (dry run)`));
    expect(lines.at(-1)).toBe(`${String(objects.length)} created, 0 configured, 0 unchanged (dry run)`);
    expect(await clusterSnapshot(cluster.admin)).toEqual(before);
  });

  it("install creates everything, and running it again changes nothing", async () => {
    const first = await maroonedpods("install");
    expect(first.code, first.stderr).toBe(0);
    const client = KubernetesObjectApi.makeApiClient(cluster.admin);
    const objects = await bundleWithCrds("self-managed");
    // Status writers bump resourceVersions; a write of ours would move our own managedFields entry.
    const versions = async () =>
      Promise.all(objects.map(async (o) => JSON.stringify((await client.read(typedObject(o) as never)).metadata?.managedFields?.find((f) => f.manager === INSTALL_FIELD_MANAGER))));
    const installed = await versions();
    const second = await maroonedpods("install");
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout.trim().split("\n").at(-1)).toBe(`0 created, 0 configured, ${String(objects.length)} unchanged`);
    expect(await versions()).toEqual(installed);
  });

  it("the configuration example passes the installed CRD's schema and rules; the pod example carries the trigger label", async () => {
    const client = KubernetesObjectApi.makeApiClient(cluster.admin);
    const config = parse(readFileSync(join(ROOT, "examples/maroonedpodsconfig.yaml"), "utf8")) as Record<string, unknown>;
    await expect(client.create(typedObject(config), undefined, "All")).resolves.toBeDefined();
    const pod = parse(readFileSync(join(ROOT, "examples/marooned-pod.yaml"), "utf8")) as V1Pod;
    expect(pod.metadata?.labels?.[MAROON_LABEL]).toBe(MAROON_LABEL_VALUE);
  });

  it("install reports a field changed by hand as configured, names it, and puts it back", async () => {
    const apps = KubernetesObjectApi.makeApiClient(cluster.admin);
    await apps.patch({ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "maroonedpods-webhook", namespace: DEFAULT_SYSTEM_NAMESPACE }, spec: { replicas: 5 } } as never, undefined, undefined, "someone-else", undefined, "application/merge-patch+json");
    const dryRun = await maroonedpods("install", "--dry-run");
    expect(dryRun.stdout).toContain(`deployment/${DEFAULT_SYSTEM_NAMESPACE}/maroonedpods-webhook configured (dry run): spec.replicas`);
    const result = await maroonedpods("install");
    expect(result.stdout).toContain(`deployment/${DEFAULT_SYSTEM_NAMESPACE}/maroonedpods-webhook configured: spec.replicas`);
    const deployment = await apps.read({ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "maroonedpods-webhook", namespace: DEFAULT_SYSTEM_NAMESPACE } });
    expect((deployment as { spec?: { replicas?: number } }).spec?.replicas).toBe(2);
  });

  it("uninstall refuses while a marooned pod exists; --force tears it down, and the cluster is as it was", async () => {
    const controller = await startControllerAsServiceAccount(cluster.admin);
    try {
      // Managed as the webhook would leave it, in a namespace the webhook and the policies exempt: the webhook's
      // Service is not reachable from this API server. The RuntimeClass charges it its VM.
      const core = cluster.admin.makeApiClient(CoreV1Api);
      const pod: V1Pod = {
        metadata: { name: "held", labels: { [MANAGED_LABEL]: "true" }, finalizers: [CLEANUP_FINALIZER] },
        spec: { runtimeClassName: DEFAULT_RUNTIME_CLASS, schedulingGates: [{ name: SCHEDULING_GATE }], containers: [{ name: "main", image: "registry.example/app:1" }] },
      };
      const uid = (await core.createNamespacedPod({ namespace: "kube-system", body: pod })).metadata?.uid ?? "";
      await pollUntil("the pod's VM", async () => ((await vmiClient(cluster.admin).list(DEFAULT_VM_NAMESPACE)).some((vmi) => vmi.metadata?.labels?.[OWNED_LABELS.podUid] === uid) ? true : undefined), { timeoutMs: 30_000 });

      const refused = await maroonedpods("uninstall");
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/marooned pods and VMs still exist: pod\/kube-system\/held, vmi\/maroonedpods-vms\/marooned-[0-9a-f-]+; delete them first, or run uninstall --force/);

      const forced = await maroonedpods("uninstall", "--force", "--timeout=90s");
      expect(forced.code, forced.stderr).toBe(0);
      expect(forced.stdout).toContain("customresourcedefinition/maroonedpodsconfigs.maroonedpods.io deleted");
    } finally {
      await controller.stop();
    }
    expect(await clusterSnapshot(cluster.admin)).toEqual(before);
  }, 300_000);
});
