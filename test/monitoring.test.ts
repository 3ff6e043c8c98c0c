import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CoreV1Api } from "@kubernetes/client-node";
import { pino } from "pino";
import { stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { METRIC_NAMES } from "../src/api/metric-names.ts";
import { MAROON_LABEL, MAROON_LABEL_VALUE } from "../src/api/names.ts";
import { ensureGoTool } from "../src/devcluster/binaries.ts";
import { GO_TOOLS } from "../src/devcluster/go-tools.ts";
import { defaultCacheRoot } from "../src/devcluster/versions.ts";
import { RULES_FILE } from "../src/observability/files.ts";
import { baseMetricName, metricNamesIn, shippedExpressions } from "../src/observability/metric-refs.ts";
import { alertNames, RECORDED, ruleGroups } from "../src/observability/rules.ts";
import { pollUntil } from "../src/util/poll.ts";
import { ALERT_CASES, promtoolTestFile } from "./support/alert-cases.ts";
import { adminKubeConfig, createNamespace } from "./support/kube.ts";
import { runCommand } from "./support/processes.ts";
import { startComponent, startStack } from "./support/stack.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
/** A cold build of promtool from its Go module: about 3 minutes on two cores. */
const TOOL_BUILD_TIMEOUT_MS = 1_200_000;

let promtool: string;
let dir: string;

async function promtoolRun(...args: string[]): Promise<{ code: number; output: string }> {
  const result = await runCommand(promtool, args, { timeoutMs: 120_000 });
  return { code: result.code, output: result.stdout + result.stderr };
}

beforeAll(async () => {
  promtool = await ensureGoTool(GO_TOOLS.promtool, { cacheRoot: defaultCacheRoot(process.env), logger: pino({ level: process.env.MAROONEDPODS_TEST_LOG_LEVEL ?? "error" }) });
  dir = await mkdtemp(join(tmpdir(), "maroonedpods-monitoring-"));
}, TOOL_BUILD_TIMEOUT_MS);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("the alert rules, through promtool", () => {
  it("promtool check rules accepts the shipped rule file", async () => {
    const result = await promtoolRun("check", "rules", join(ROOT, RULES_FILE));
    expect(result.code, result.output).toBe(0);
    const count = ruleGroups().reduce((n, g) => n + g.rules.length, 0);
    expect(result.output).toContain(`SUCCESS: ${String(count)} rules found`);
  });

  it("promtool check rules rejects a broken expression, so the check above can fail", async () => {
    const broken = join(dir, "broken.rules.yaml");
    await writeFile(broken, stringify({ groups: [{ name: "broken", rules: [{ alert: "Broken", expr: "sum(rate(x[5m]) >" }] }] }));
    const result = await promtoolRun("check", "rules", broken);
    expect(result.code).not.toBe(0);
  });

  it("every alert has a case where it fires and one where it stays silent", () => {
    for (const alert of alertNames(ruleGroups())) {
      const cases = ALERT_CASES.filter((c) => c.alert === alert);
      expect(cases.some((c) => c.fires.length > 0), `${alert} never fires in a test`).toBe(true);
      expect(cases.some((c) => c.fires.length === 0), `${alert} is never tested silent`).toBe(true);
    }
  });

  it("promtool test rules: each alert fires on its synthetic failure, with its labels and text, and not when healthy", async () => {
    const severities = Object.fromEntries(ruleGroups().flatMap((g) => g.rules.flatMap((r) => ("alert" in r ? [[r.alert, r.labels.severity]] : []))));
    const tests = join(dir, "alerts.test.yaml");
    await writeFile(tests, promtoolTestFile(join(ROOT, RULES_FILE), ALERT_CASES, severities));
    const result = await promtoolRun("test", "rules", tests);
    expect(result.code, result.output).toBe(0);
    expect(result.output).toContain("SUCCESS");
  });

  it("promtool test rules fails a case whose expectation is wrong, so the test above can fail", async () => {
    const severities = Object.fromEntries(ALERT_CASES.map((c) => [c.alert, "warning"]));
    const silent = ALERT_CASES.filter((c) => c.fires.length > 0).map((c) => ({ ...c, fires: [] }));
    const tests = join(dir, "wrong.test.yaml");
    await writeFile(tests, promtoolTestFile(join(ROOT, RULES_FILE), silent, severities));
    const result = await promtoolRun("test", "rules", tests);
    expect(result.code).not.toBe(0);
    expect((result.output.match(/FAILED/g) ?? []).length).toBeGreaterThan(0);
  });
});

describe("the dashboard's queries", () => {
  it("each parses as PromQL: promtool checks them wrapped as recording rules", async () => {
    const expressions = shippedExpressions([]);
    const file = join(dir, "dashboard.rules.yaml");
    await writeFile(file, stringify({ groups: [{ name: "dashboard", rules: expressions.map((e, i) => ({ record: `dashboard:query_${String(i)}`, expr: e.expr })) }] }, { lineWidth: 0 }));
    const result = await promtoolRun("check", "rules", file);
    expect(result.code, result.output).toBe(0);
    expect(result.output).toContain(`SUCCESS: ${String(expressions.length)} rules found`);
  });
});

const scrape = async (port: unknown): Promise<string> => (await fetch(`http://127.0.0.1:${String(port)}/metrics`)).text();
const typesIn = (exposition: string): string[] => [...exposition.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1] ?? "");

describe("the metrics the rules and dashboard name", () => {
  it("are all exported by the running controller and webhook, after a marooned pod's whole flow", async () => {
    const admin = adminKubeConfig();
    const core = admin.makeApiClient(CoreV1Api);
    const exported = new Set<string>();
    const namespace = await createNamespace(admin, "monitoring");
    const stack = await startStack(admin);
    try {
      await core.createNamespacedPod({
        namespace,
        body: { metadata: { name: "scraped", labels: { [MAROON_LABEL]: MAROON_LABEL_VALUE } }, spec: { containers: [{ name: "main", image: "registry.example/app:1" }] } },
      });
      await pollUntil("the pod Running on its VM node", async () => ((await core.readNamespacedPod({ namespace, name: "scraped" })).status?.phase === "Running" ? true : undefined), { timeoutMs: 60_000 });
      for (const port of [stack.controller.ready.opsPort, stack.webhook.ready.opsPort]) for (const name of typesIn(await scrape(port))) exported.add(name);
      // The controller tears the VM down and lifts its finalizer before it stops.
      await core.deleteNamespacedPod({ namespace, name: "scraped" });
      await pollUntil("the pod's teardown", async () => ((await core.listNamespacedPod({ namespace })).items.length === 0 ? true : undefined), { timeoutMs: 60_000 });
    } finally {
      await stack.stop();
    }
    // The certificate metrics come from a controller that manages the webhook certificate: one of its own,
    // with its Secrets in the test namespace and no webhook configuration to patch.
    const certificates = await startComponent("controller", [
      `--kubeconfig=${inject("kubeconfigPath")}`, `--namespace=${namespace}`, "--leader-elect=false", "--manage-webhook-certificate=true",
      "--webhook-configuration=maroonedpods-monitoring-test-none", "--ops-bind-address=127.0.0.1", "--ops-port=0", "--log-level=warn",
    ]);
    try {
      const exposition = await pollUntil("the certificate expiry metric", async () => {
        const text = await scrape(certificates.ready.opsPort);
        return text.includes(`${METRIC_NAMES.webhookCertificateExpiry}{`) ? text : undefined;
      }, { timeoutMs: 30_000 });
      for (const name of typesIn(exposition)) exported.add(name);
    } finally {
      await certificates.stop();
      await core.deleteNamespace({ name: namespace });
    }
    const recorded = new Set<string>(Object.values(RECORDED));
    const missing = shippedExpressions().flatMap(({ where, expr }) =>
      metricNamesIn(expr).filter((name) => !recorded.has(name) && !exported.has(baseMetricName(name, exported))).map((name) => `${where}: ${name}`));
    expect(missing).toEqual([]);
  });
});
