import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { isDeepStrictEqual } from "node:util";
import { ApiextensionsV1Api, AppsV1Api, CoreV1Api, KubernetesObjectApi, type V1Pod } from "@kubernetes/client-node";
import { pino } from "pino";
import { parseAllDocuments } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLEANUP_FINALIZER, DEFAULT_RUNTIME_CLASS, DEFAULT_SYSTEM_NAMESPACE, MANAGED_LABEL, MANAGED_LABEL_VALUE, SCHEDULING_GATE } from "../src/api/names.ts";
import { CHART_DIR, DASHBOARD_FILE } from "../src/chart/chart.ts";
import { CONFIG_GROUP, CONFIG_VERSION } from "../src/controller/config.ts";
import { ensureGoTool } from "../src/devcluster/binaries.ts";
import { GO_TOOLS } from "../src/devcluster/go-tools.ts";
import { defaultCacheRoot } from "../src/devcluster/versions.ts";
import { objectRef } from "../src/install/changes.ts";
import { bundleWithCrds } from "../src/install/install.ts";
import { typedObject } from "../src/kube/apply.ts";
import { CONTROLLER_DEPLOYMENT, WEBHOOK_DEPLOYMENT } from "../src/install/workloads.ts";
import { grafanaDashboard } from "../src/observability/dashboard.ts";
import { ruleGroups } from "../src/observability/rules.ts";
import { pollUntil } from "../src/util/poll.ts";
import { clusterSnapshot, settledSnapshot } from "./support/cluster-snapshot.ts";
import { startControllerAsServiceAccount } from "./support/controller-as-account.ts";
import { startOwnCluster, type OwnCluster } from "./support/own-cluster.ts";
import { runCommand, type CommandResult } from "./support/processes.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const CHART = join(ROOT, CHART_DIR);
const RELEASE = "maroonedpods";
/** An infrastructure namespace: the admission policies leave an admin's pod there alone. */
const POD_NAMESPACE = "kube-system";
const CRD = "maroonedpodsconfigs.maroonedpods.io";
/** What a CRD Helm left behind shows in a snapshot: itself, and the aggregator's APIService for its group. */
const CRD_REFS = [`apiextensions.k8s.io/v1/customresourcedefinitions//${CRD}`, `apiregistration.k8s.io/v1/apiservices//${CONFIG_VERSION}.${CONFIG_GROUP}`];
/** A cold build of helm from its Go module: about 2.5 minutes on two cores. */
const TOOL_BUILD_TIMEOUT_MS = 1_200_000;

type Json = Record<string, unknown>;
let helmBinary: string;
let helmHome: string;
let cluster: OwnCluster;
let before: string[];

/** helm as a user runs it, with its state in a directory of the test's. */
function helm(...args: string[]): Promise<CommandResult> {
  return runCommand(helmBinary, args, { env: { ...process.env, HELM_CACHE_HOME: join(helmHome, "cache"), HELM_CONFIG_HOME: join(helmHome, "config"), HELM_DATA_HOME: join(helmHome, "data") } });
}

async function template(...args: string[]): Promise<Map<string, Json>> {
  const result = await helm("template", RELEASE, CHART, "--include-crds", ...args);
  if (result.code !== 0) throw new Error(`helm template failed: ${result.stderr}`);
  return new Map(parseAllDocuments(result.stdout).map((d) => d.toJS() as Json | null).filter((o): o is Json => o !== null).map((o) => [objectRef(o), o]));
}

const withCluster = (...args: string[]) => [...args, `--kubeconfig=${cluster.kubeconfigPath}`, "--namespace=default"];

beforeAll(async () => {
  helmBinary = await ensureGoTool(GO_TOOLS.helm, { cacheRoot: defaultCacheRoot(process.env), logger: pino({ level: process.env.MAROONEDPODS_TEST_LOG_LEVEL ?? "error" }) });
  helmHome = await mkdtemp(join(tmpdir(), "maroonedpods-helm-"));
  cluster = await startOwnCluster();
  before = await settledSnapshot(cluster.admin);
}, TOOL_BUILD_TIMEOUT_MS);

afterAll(async () => {
  await cluster.stop();
  await rm(helmHome, { recursive: true, force: true });
});

describe("the Helm chart, rendered by helm", () => {
  it("helm lint --strict finds nothing to warn about", async () => {
    const result = await helm("lint", "--strict", CHART);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain("1 chart(s) linted, 0 chart(s) failed");
    expect(result.stdout).not.toMatch(/\[(WARNING|ERROR)\]/);
  });

  it.each(["self-managed", "cert-manager"] as const)("with default values (certificates.mode=%s) renders what maroonedpods install applies, object by object", async (mode) => {
    const rendered = await template(`--set=certificates.mode=${mode}`);
    const bundle = new Map((await bundleWithCrds(mode)).map((o) => [objectRef(o), o]));
    expect([...rendered.keys()].sort()).toEqual([...bundle.keys()].sort());
    for (const [ref, object] of bundle) expect(rendered.get(ref), ref).toEqual(object);
  });

  it("puts every value where it belongs", async () => {
    const rendered = await template(
      "--set=vmNamespace=tenant-vms,config.create=true,config.spec.maxAttempts=5,resourceOverhead.cpu=500m,resourceOverhead.memory=512Mi",
      "--set=extraExemptNamespaces={monitoring,istio-system},logLevel=debug,logFormat=text,controller.replicas=3,webhook.image=registry.example/mp:dev",
      "--set=podAnnotations.team=infra,nodeSelector.pool=system,tolerations[0].key=infra,tolerations[0].operator=Exists",
      "--set=serviceMonitor.enabled=true,prometheusRule.enabled=true,grafanaDashboard.enabled=true",
    );
    const get = (ref: string) => {
      const object = rendered.get(ref);
      if (!object) throw new Error(`${ref} not rendered; got ${[...rendered.keys()].join(", ")}`);
      return object as Json & { spec: Json; metadata: Json };
    };
    expect(rendered.has("namespace/tenant-vms")).toBe(true);
    expect(rendered.has("namespace/maroonedpods-vms")).toBe(false);
    expect(rendered.has("role/tenant-vms/maroonedpods-controller-vms")).toBe(true);
    const config = get("maroonedpodsconfig/default").spec;
    expect(config).toEqual({ maxAttempts: 5, resourceOverhead: { cpu: "500m", memory: "512Mi" } });
    expect((get("runtimeclass/marooned") as { overhead?: Json }).overhead).toEqual({ podFixed: config.resourceOverhead });
    const exempt = JSON.stringify(get("mutatingwebhookconfiguration/maroonedpods-webhook"));
    expect(exempt).toContain('["kube-system","maroonedpods-system","tenant-vms","monitoring","istio-system"]');
    const controller = get(`deployment/${DEFAULT_SYSTEM_NAMESPACE}/${CONTROLLER_DEPLOYMENT}`);
    const webhook = get(`deployment/${DEFAULT_SYSTEM_NAMESPACE}/${WEBHOOK_DEPLOYMENT}`);
    expect(controller.spec.replicas).toBe(3);
    expect((controller.spec.template as { spec: { containers: { args: string[] }[] } }).spec.containers[0]?.args).toContain("--vm-namespace=tenant-vms");
    for (const deployment of [controller, webhook]) {
      const pod = (deployment.spec.template as { metadata: Json; spec: { containers: { args: string[]; image: string }[]; nodeSelector: Json; tolerations: Json[] } });
      expect(pod.spec.containers[0]?.args).toEqual(expect.arrayContaining(["--log-level=debug", "--log-format=text"]));
      expect(pod.metadata.annotations).toEqual({ team: "infra" });
      expect(pod.spec.nodeSelector).toEqual({ pool: "system" });
      expect(pod.spec.tolerations).toEqual([{ key: "infra", operator: "Exists" }]);
    }
    expect((webhook.spec.template as { spec: { containers: { image: string }[] } }).spec.containers[0]?.image).toBe("registry.example/mp:dev");
    expect(rendered.has(`servicemonitor/${DEFAULT_SYSTEM_NAMESPACE}/maroonedpods-controller`)).toBe(true);
    expect(rendered.has(`servicemonitor/${DEFAULT_SYSTEM_NAMESPACE}/maroonedpods-webhook`)).toBe(true);
    // Prometheus's and Grafana's own {{ }} come through Helm untouched.
    expect(get(`prometheusrule/${DEFAULT_SYSTEM_NAMESPACE}/maroonedpods`).spec.groups).toEqual(JSON.parse(JSON.stringify(ruleGroups())));
    const dashboard = (get(`configmap/${DEFAULT_SYSTEM_NAMESPACE}/maroonedpods-grafana-dashboard`) as unknown as { data: Record<string, string>; metadata: { labels: Json } });
    expect(JSON.parse(dashboard.data[DASHBOARD_FILE] ?? "")).toEqual(grafanaDashboard());
    expect(dashboard.metadata.labels).toEqual({ grafana_dashboard: "1" });
  });

  it.each([
    [["--set=logLevel=loud"], "at '/logLevel': value must be one of 'trace', 'debug', 'info', 'warn', 'error'"],
    [["--set=controller.replicas=0"], "at '/controller/replicas': minimum: got 0, want 1"],
    [["--set=extraExemptNamespaces={Not_A_Namespace}"], "at '/extraExemptNamespaces/0'"],
    [["--set=config.create=true,config.spec.resourceOverhead.cpu=1"], "at '/config/spec': additional properties 'resourceOverhead' not allowed"],
    [["--set=config.spec.joinMethod=ssh"], "at '/config/spec/joinMethod': value must be one of 'k3s', 'kubeadm'"],
  ])("rejects %j with a clear error", async (args, message) => {
    const result = await helm("template", RELEASE, CHART, ...args);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(message);
  });
});

describe("the Helm chart on the local control plane", () => {
  let controller: Awaited<ReturnType<typeof startControllerAsServiceAccount>> | undefined;

  afterAll(async () => {
    await controller?.stop();
  });

  it("helm install creates every object of the bundle, and a marooned pod goes through its whole flow", async () => {
    const installed = await helm(...withCluster("install", RELEASE, CHART));
    expect(installed.code, installed.stderr).toBe(0);
    const apps = cluster.admin.makeApiClient(AppsV1Api);
    for (const name of [CONTROLLER_DEPLOYMENT, WEBHOOK_DEPLOYMENT]) expect((await apps.readNamespacedDeployment({ namespace: DEFAULT_SYSTEM_NAMESPACE, name })).spec?.replicas).toBe(2);
    const objects = KubernetesObjectApi.makeApiClient(cluster.admin);
    for (const object of await bundleWithCrds("self-managed")) await expect(objects.read(typedObject(object) as never), objectRef(object)).resolves.toBeDefined();

    // The controller as its ServiceAccount, with the RBAC the chart installed; the pod as the webhook leaves it,
    // in a namespace the webhook and the policies exempt (the webhook's Service is not reachable from this API
    // server), with the chart's RuntimeClass.
    controller = await startControllerAsServiceAccount(cluster.admin);
    const core = cluster.admin.makeApiClient(CoreV1Api);
    const pod: V1Pod = {
      metadata: { name: "helm-flow", labels: { [MANAGED_LABEL]: MANAGED_LABEL_VALUE }, finalizers: [CLEANUP_FINALIZER] },
      spec: { runtimeClassName: DEFAULT_RUNTIME_CLASS, schedulingGates: [{ name: SCHEDULING_GATE }], containers: [{ name: "main", image: "registry.example/app:1" }] },
    };
    await core.createNamespacedPod({ namespace: POD_NAMESPACE, body: pod });
    const running = await pollUntil("the pod Running on its own VM node", async () => {
      const current = await core.readNamespacedPod({ namespace: POD_NAMESPACE, name: "helm-flow" });
      return current.status?.phase === "Running" ? current : undefined;
    }, { timeoutMs: 60_000 });
    expect(running.spec?.nodeName).toMatch(/^marooned-/);
    await core.deleteNamespacedPod({ namespace: POD_NAMESPACE, name: "helm-flow" });
    await pollUntil("the pod's teardown", async () => ((await core.listNamespacedPod({ namespace: POD_NAMESPACE, labelSelector: MANAGED_LABEL })).items.length === 0 ? true : undefined), { timeoutMs: 60_000 });
    expect((await core.listNode()).items.filter((n) => n.metadata?.name === running.spec?.nodeName)).toEqual([]);
  }, 300_000);

  it("helm upgrade changes the replicas and the log level, and nothing else it was not asked to", async () => {
    const apps = cluster.admin.makeApiClient(AppsV1Api);
    const read = (name: string) => apps.readNamespacedDeployment({ namespace: DEFAULT_SYSTEM_NAMESPACE, name });
    const webhookBefore = (await read(WEBHOOK_DEPLOYMENT)).spec?.template.spec?.containers[0];
    const upgraded = await helm(...withCluster("upgrade", RELEASE, CHART, "--reuse-values", "--set=controller.replicas=3,logLevel=debug"));
    expect(upgraded.code, upgraded.stderr).toBe(0);
    const controllerAfter = await read(CONTROLLER_DEPLOYMENT);
    const webhookAfter = await read(WEBHOOK_DEPLOYMENT);
    expect(controllerAfter.spec?.replicas).toBe(3);
    expect(webhookAfter.spec?.replicas).toBe(2);
    for (const deployment of [controllerAfter, webhookAfter]) {
      const args = deployment.spec?.template.spec?.containers[0]?.args ?? [];
      expect(args).toContain("--log-level=debug");
      expect(args).not.toContain("--log-level=info");
    }
    const webhookContainer = webhookAfter.spec?.template.spec?.containers[0];
    expect(isDeepStrictEqual({ ...webhookContainer, args: [] }, { ...webhookBefore, args: [] })).toBe(true);
    const status = await helm(...withCluster("status", RELEASE, "--output=json"));
    expect((JSON.parse(status.stdout) as { version: number }).version).toBe(2);
  });

  it("helm uninstall leaves the cluster as it was, but for the CRD that Helm never deletes; deleting that restores it exactly", async () => {
    await controller?.stop();
    controller = undefined;
    const uninstalled = await helm(...withCluster("uninstall", RELEASE, "--wait", "--timeout=3m"));
    expect(uninstalled.code, uninstalled.stderr).toBe(0);
    const expected = [...before, ...CRD_REFS].sort();
    let last: string[] = [];
    await pollUntil("the namespaces to go", async () => {
      last = await clusterSnapshot(cluster.admin);
      return isDeepStrictEqual(last, expected) ? true : undefined;
    }, { timeoutMs: 120_000, intervalMs: 2_000 }).catch(() => undefined);
    expect(last).toEqual(expected);
    await cluster.admin.makeApiClient(ApiextensionsV1Api).deleteCustomResourceDefinition({ name: CRD });
    await pollUntil("the CRD to go", async () => (isDeepStrictEqual(await clusterSnapshot(cluster.admin), before) ? true : undefined), { timeoutMs: 60_000 });
    expect(await clusterSnapshot(cluster.admin)).toEqual(before);
  }, 300_000);
});
