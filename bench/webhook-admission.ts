/**
 * Load benchmark of the pod mutation webhook: `npm run bench:webhook -- [--requests N] [--concurrency C]`.
 *
 * Runs `maroonedpods webhook` as its own process, as in a cluster, and sends it
 * AdmissionReviews over HTTPS keep-alive, as the API server does. Prints a table,
 * then one `RESULT {...}` JSON line for scripts. Exits 1 if any review failed, 2 on bad flags.
 */
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { Agent } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { integerFlag } from "../src/cli/command.ts";
import { METRIC_NAMES } from "../src/api/metric-names.ts";
import { MAROON_LABEL, MAROON_LABEL_VALUE, SCHEDULING_GATE } from "../src/api/names.ts";
import { writeLoopbackServingCertificate } from "../src/devcluster/admission.ts";
import { startComponentProcess, type ComponentProcess } from "../src/devcluster/component-process.ts";
import { MUTATE_PODS_PATH } from "../webhook/handler.ts";
import { parseFlags, runBenchmark } from "./cli.ts";
import { getText, sendHttps, type Reply } from "./http.ts";
import { processUsage } from "./proc.ts";
import { bucketBound, bucketsSince, histogramBuckets, percentile, type Buckets } from "./stats.ts";

const CLI = fileURLToPath(new URL("../bin/maroonedpods.js", import.meta.url));
const HOST = "127.0.0.1";
const WARMUP_REQUESTS = 500;
const SELECTED_SHARE = 0.9;
const REQUEST_TIMEOUT_MS = 10_000;
const READY_TIMEOUT_MS = 30_000;

const HELP = `usage: npm run bench:webhook -- [--requests N] [--concurrency C]
  --requests N     measured reviews (default 10000)
  --concurrency C  reviews in flight (default 16)
`;

interface BenchOptions {
  readonly requests: number;
  readonly concurrency: number;
}

function parseOptions(argv: readonly string[]): BenchOptions | "help" {
  const values = parseFlags(argv, {
    requests: { type: "string", default: "10000" },
    concurrency: { type: "string", default: "16" },
    help: { type: "boolean", default: false },
  });
  if (values.help) return "help";
  return { requests: integerFlag("requests", values.requests, 1), concurrency: integerFlag("concurrency", values.concurrency, 1) };
}

// --- the webhook process --------------------------------------------------

/** `maroonedpods webhook` on loopback ports of its choosing, serving `tls`. */
function startWebhookProcess(tls: { certFile: string; keyFile: string }): Promise<ComponentProcess> {
  return startComponentProcess(CLI, [
    "webhook",
    "--tls-cert-file", tls.certFile,
    "--tls-key-file", tls.keyFile,
    "--bind-address", HOST, "--port", "0",
    "--ops-bind-address", HOST, "--ops-port", "0",
    "--log-level", "warn",
  ], READY_TIMEOUT_MS);
}

/** The ports the webhook's ready line names: with --port 0 nothing else tells them. */
function readyPorts(webhook: ComponentProcess): { port: number; opsPort: number } {
  const { port, opsPort } = webhook.ready;
  if (typeof port !== "number" || typeof opsPort !== "number") throw new Error(`webhook's ready line names no ports: ${JSON.stringify(webhook.ready)}`);
  return { port, opsPort };
}

/** Peak RSS in MiB; undefined off Linux, where there is no /proc to read it from. */
function peakRssMiB(pid: number): Promise<number | undefined> {
  return processUsage(pid).then((usage) => usage.peakRssMiB, () => undefined);
}

// --- the reviews ------------------------------------------------------------

/** A Pod as the API server forwards it at CREATE: defaults applied, service account token volume already injected. */
function podObject(selected: boolean): Record<string, unknown> {
  const labels: Record<string, string> = { app: "checkout", "app.kubernetes.io/component": "worker", "pod-template-hash": "7d9f8c6b5" };
  if (selected) labels[MAROON_LABEL] = MAROON_LABEL_VALUE;
  const resources = (cpu: string, memory: string) => ({ requests: { cpu, memory }, limits: { cpu, memory } });
  const env = (pairs: Record<string, string>) => Object.entries(pairs).map(([name, value]) => ({ name, value }));
  const tokenMount = { name: "kube-api-access-7xk2q", readOnly: true, mountPath: "/var/run/secrets/kubernetes.io/serviceaccount" };
  const container = (name: string, image: string, extra: Record<string, unknown>) => ({
    name,
    image,
    imagePullPolicy: "IfNotPresent",
    terminationMessagePath: "/dev/termination-log",
    terminationMessagePolicy: "File",
    securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ["ALL"] } },
    ...extra,
  });
  return {
    kind: "Pod",
    apiVersion: "v1",
    metadata: {
      generateName: "checkout-worker-7d9f8c6b5-",
      namespace: "tenant-a",
      labels,
      annotations: { "kubectl.kubernetes.io/default-container": "worker" },
      ownerReferences: [
        { apiVersion: "apps/v1", kind: "ReplicaSet", name: "checkout-worker-7d9f8c6b5", uid: "0b6f1d0e-3c4a-4e52-9f1e-2a7c9b8d6e11", controller: true, blockOwnerDeletion: true },
      ],
    },
    spec: {
      initContainers: [
        container("migrate", "registry.example.com/checkout/migrate:1.42.0", {
          command: ["/bin/migrate", "--wait-for-db", "--timeout=120s"],
          env: env({ DATABASE_HOST: "postgres.tenant-a.svc", DATABASE_NAME: "checkout" }),
          resources: resources("100m", "64Mi"),
          volumeMounts: [{ name: "config", mountPath: "/etc/checkout" }, tokenMount],
        }),
      ],
      containers: [
        container("worker", "registry.example.com/checkout/worker:1.42.0", {
          args: ["--config=/etc/checkout/config.yaml", "--metrics-address=:9090"],
          ports: [{ name: "metrics", containerPort: 9090, protocol: "TCP" }],
          env: [
            ...env({ LOG_LEVEL: "info", QUEUE_URL: "amqp://rabbitmq.tenant-a.svc:5672", WORKER_CONCURRENCY: "8", GOMAXPROCS: "2" }),
            { name: "POD_NAME", valueFrom: { fieldRef: { apiVersion: "v1", fieldPath: "metadata.name" } } },
            { name: "DATABASE_PASSWORD", valueFrom: { secretKeyRef: { name: "checkout-db", key: "password" } } },
          ],
          resources: resources("2", "4Gi"),
          readinessProbe: { httpGet: { path: "/readyz", port: 9090, scheme: "HTTP" }, periodSeconds: 10, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3 },
          volumeMounts: [{ name: "config", mountPath: "/etc/checkout" }, { name: "scratch", mountPath: "/tmp" }, { name: "tls", mountPath: "/etc/tls", readOnly: true }, tokenMount],
        }),
        container("log-shipper", "registry.example.com/observability/log-shipper:3.1.7", {
          args: ["--input=/var/log/app", "--output=loki://loki.observability.svc:3100"],
          env: env({ SHIPPER_BATCH_SIZE: "512", SHIPPER_FLUSH_INTERVAL: "5s" }),
          resources: resources("100m", "128Mi"),
          volumeMounts: [{ name: "scratch", mountPath: "/var/log/app", subPath: "logs" }, tokenMount],
        }),
      ],
      volumes: [
        { name: "config", configMap: { name: "checkout-worker-config", defaultMode: 420 } },
        { name: "tls", secret: { secretName: "checkout-worker-tls", defaultMode: 420 } },
        { name: "scratch", emptyDir: { sizeLimit: "1Gi" } },
        {
          name: "kube-api-access-7xk2q",
          projected: {
            defaultMode: 420,
            sources: [
              { serviceAccountToken: { expirationSeconds: 3607, path: "token" } },
              { configMap: { name: "kube-root-ca.crt", items: [{ key: "ca.crt", path: "ca.crt" }] } },
              { downwardAPI: { items: [{ path: "namespace", fieldRef: { apiVersion: "v1", fieldPath: "metadata.namespace" } }] } },
            ],
          },
        },
      ],
      restartPolicy: "Always",
      terminationGracePeriodSeconds: 30,
      dnsPolicy: "ClusterFirst",
      serviceAccountName: "checkout-worker",
      serviceAccount: "checkout-worker",
      securityContext: { runAsUser: 10001, runAsGroup: 10001, fsGroup: 10001, seccompProfile: { type: "RuntimeDefault" } },
      schedulerName: "default-scheduler",
      priority: 0,
      enableServiceLinks: true,
      preemptionPolicy: "PreemptLowerPriority",
      tolerations: [
        { key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoExecute", tolerationSeconds: 300 },
        { key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute", tolerationSeconds: 300 },
      ],
    },
    status: {},
  };
}

const POD = { selected: podObject(true), unselected: podObject(false) };

function reviewBody(uid: string, selected: boolean): string {
  const gvr = { group: "", version: "v1", resource: "pods" };
  const gvk = { group: "", version: "v1", kind: "Pod" };
  return JSON.stringify({
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid,
      kind: gvk,
      resource: gvr,
      requestKind: gvk,
      requestResource: gvr,
      namespace: "tenant-a",
      operation: "CREATE",
      userInfo: { username: "system:serviceaccount:kube-system:replicaset-controller", uid: "5e0c1a52-8f0e-4f39-b0f4-0c6f1d2d9a77", groups: ["system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"] },
      object: selected ? POD.selected : POD.unselected,
      oldObject: null,
      dryRun: false,
      options: { kind: "CreateOptions", apiVersion: "meta.k8s.io/v1" },
    },
  });
}

/** Evenly spread, so every slice of the run has the same mix: request i is unselected when i % 10 === 9. */
function isSelectedRequest(index: number): boolean {
  return index % 10 < SELECTED_SHARE * 10;
}

/** Why the answer is wrong, or undefined when it is what the webhook must say. */
function answerProblem(status: number, body: string, uid: string, selected: boolean): string | undefined {
  if (status !== 200) return `HTTP ${status}: ${body.slice(0, 200)}`;
  let review: { apiVersion?: unknown; response?: { uid?: unknown; allowed?: unknown; patchType?: unknown; patch?: unknown } };
  try {
    review = JSON.parse(body) as typeof review;
  } catch {
    return "answer is not JSON";
  }
  const response = review.response;
  if (review.apiVersion !== "admission.k8s.io/v1" || response === undefined) return "answer is not an AdmissionReview";
  if (response.uid !== uid) return `answer carries uid ${JSON.stringify(response.uid)}, expected ${uid}`;
  if (response.allowed !== true) return "pod was not allowed";
  if (!selected) return response.patch === undefined ? undefined : "unselected pod was patched";
  if (response.patchType !== "JSONPatch" || typeof response.patch !== "string") return "selected pod was not patched";
  // Cheap proof the patch is the gating one, without re-testing the mutation itself.
  return Buffer.from(response.patch, "base64").toString("utf8").includes(SCHEDULING_GATE) ? undefined : "patch does not add the scheduling gate";
}

// --- load -------------------------------------------------------------------

function postReview(agent: Agent, port: number, body: string): Promise<Reply> {
  const headers = { "content-type": "application/json", "content-length": Buffer.byteLength(body) };
  return sendHttps({ host: HOST, port, path: MUTATE_PODS_PATH, method: "POST", agent, headers }, body, REQUEST_TIMEOUT_MS);
}

interface LoadResult {
  /** Milliseconds, one per request answered correctly or not; failed connections count too. */
  readonly latenciesMs: Float64Array;
  readonly errors: number;
  /** The first few distinct failures, to show what went wrong. */
  readonly errorSamples: readonly string[];
  readonly patched: number;
  readonly allowed: number;
  readonly elapsedMs: number;
  readonly bodyBytes: number;
}

/** `count` reviews from `concurrency` workers, each sending its next one as soon as the previous is answered. */
async function runLoad(agent: Agent, port: number, count: number, concurrency: number, abort: AbortSignal): Promise<LoadResult> {
  const latenciesMs = new Float64Array(count);
  const errorSamples = new Set<string>();
  let next = 0;
  let errors = 0;
  let patched = 0;
  let allowed = 0;
  let bodyBytes = 0;
  const fail = (message: string) => {
    errors += 1;
    if (errorSamples.size < 5) errorSamples.add(message);
  };
  const worker = async () => {
    while (next < count && !abort.aborted) {
      const index = next++;
      const selected = isSelectedRequest(index);
      const uid = randomUUID();
      const body = reviewBody(uid, selected);
      bodyBytes = Math.max(bodyBytes, body.length);
      const started = performance.now();
      try {
        const reply = await postReview(agent, port, body);
        latenciesMs[index] = performance.now() - started;
        const problem = answerProblem(reply.status, reply.body, uid, selected);
        if (problem !== undefined) fail(problem);
        else if (selected) patched += 1;
        else allowed += 1;
      } catch (error) {
        latenciesMs[index] = performance.now() - started;
        fail(error instanceof Error ? error.message : String(error));
      }
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  const elapsedMs = performance.now() - started;
  // An interrupted run still reports what it sent.
  const sent = Math.min(next, count);
  if (sent < count) fail(`interrupted after ${sent} of ${count} requests`);
  return { latenciesMs: latenciesMs.subarray(0, sent), errors, errorSamples: [...errorSamples], patched, allowed, elapsedMs, bodyBytes };
}

// --- the webhook's own histogram -----------------------------------------------

/** The webhook's duration histogram, summed over every path and result. */
async function scrapeDurationBuckets(opsPort: number): Promise<Buckets> {
  return histogramBuckets(await getText(`http://${HOST}:${opsPort}/metrics`, REQUEST_TIMEOUT_MS), METRIC_NAMES.webhookDuration);
}

// --- report -------------------------------------------------------------------

interface BenchResult {
  readonly requests: number;
  readonly concurrency: number;
  readonly errors: number;
  readonly patched: number;
  readonly allowed: number;
  readonly reviewBytes: number;
  readonly throughputPerSecond: number;
  readonly latencyMs: { readonly p50: number; readonly p90: number; readonly p99: number; readonly max: number };
  readonly webhookPeakRssMiB: number | null;
  /** null when the histogram saw nothing, or the p99 fell in the +Inf bucket (over 1 s). */
  readonly webhookHistogramP99Ms: number | null;
}

function summarise(options: BenchOptions, load: LoadResult, peakMiB: number | undefined, histogramP99Seconds: number | undefined): BenchResult {
  const sorted = [...load.latenciesMs].sort((a, b) => a - b);
  const round = (value: number, digits = 2) => Number(value.toFixed(digits));
  return {
    requests: load.latenciesMs.length,
    concurrency: options.concurrency,
    errors: load.errors,
    patched: load.patched,
    allowed: load.allowed,
    reviewBytes: load.bodyBytes,
    throughputPerSecond: round(load.latenciesMs.length / (load.elapsedMs / 1000), 1),
    latencyMs: { p50: round(percentile(sorted, 0.5)), p90: round(percentile(sorted, 0.9)), p99: round(percentile(sorted, 0.99)), max: round(sorted.at(-1) ?? Number.NaN) },
    webhookPeakRssMiB: peakMiB === undefined ? null : round(peakMiB, 1),
    webhookHistogramP99Ms: histogramP99Seconds === undefined || !Number.isFinite(histogramP99Seconds) ? null : round(histogramP99Seconds * 1000, 3),
  };
}

function report(result: BenchResult, errorSamples: readonly string[]): void {
  const rows: [string, string][] = [
    ["requests", `${result.requests} (${result.patched} patched, ${result.allowed} allowed)`],
    ["errors", String(result.errors)],
    ["concurrency", String(result.concurrency)],
    ["review size", `${(result.reviewBytes / 1024).toFixed(1)} KiB`],
    ["throughput", `${result.throughputPerSecond} req/s`],
    ["latency p50", `${result.latencyMs.p50} ms`],
    ["latency p90", `${result.latencyMs.p90} ms`],
    ["latency p99", `${result.latencyMs.p99} ms`],
    ["latency max", `${result.latencyMs.max} ms`],
    ["webhook peak RSS", result.webhookPeakRssMiB === null ? "n/a (no /proc)" : `${result.webhookPeakRssMiB} MiB (VmHWM)`],
    ["webhook's p99", result.webhookHistogramP99Ms === null ? "n/a" : `<= ${result.webhookHistogramP99Ms} ms (histogram bucket bound)`],
  ];
  const width = Math.max(...rows.map(([name]) => name.length)) + 2;
  process.stdout.write(`webhook admission benchmark (client-side latency, HTTPS keep-alive)\n`);
  for (const [name, value] of rows) process.stdout.write(`  ${name.padEnd(width)}${value}\n`);
  for (const sample of errorSamples) process.stderr.write(`error: ${sample}\n`);
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
}

// --- main ---------------------------------------------------------------------

async function bench(options: BenchOptions, abort: AbortSignal): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), "webhook-bench-"));
  let webhook: ComponentProcess | undefined;
  let agent: Agent | undefined;
  try {
    const tls = await writeLoopbackServingCertificate(dir);
    webhook = await startWebhookProcess(tls);
    const { port, opsPort } = readyPorts(webhook);
    // One socket per worker, reused for every review, as the API server keeps its connections to a webhook.
    agent = new Agent({ keepAlive: true, maxSockets: options.concurrency, ca: tls.caPem });
    const warmup = await runLoad(agent, port, WARMUP_REQUESTS, options.concurrency, abort);
    if (warmup.errors > 0) throw new Error(`warm-up failed: ${warmup.errorSamples.join("; ")}`);
    // The counters also hold the warm-up: only what happened since this scrape is the measured run's.
    const before = await scrapeDurationBuckets(opsPort);
    const load = await runLoad(agent, port, options.requests, options.concurrency, abort);
    const after = await scrapeDurationBuckets(opsPort);
    const peakMiB = await peakRssMiB(webhook.pid);
    const result = summarise(options, load, peakMiB, bucketBound(bucketsSince(before, after), 0.99));
    report(result, load.errorSamples);
    return result.errors === 0 ? 0 : 1;
  } finally {
    agent?.destroy();
    const code = await webhook?.stop();
    if (code !== undefined && code !== 0) process.stderr.write(`warning: webhook exited with ${String(code)}\n`);
    await rm(dir, { recursive: true, force: true });
  }
}

process.exitCode = await runBenchmark({
  name: "bench:webhook",
  help: HELP,
  parse: parseOptions,
  run: (options) => {
    // Ctrl-C ends the run early but still lets the clean-up run.
    const abort = new AbortController();
    process.once("SIGINT", () => { abort.abort(); });
    return bench(options, abort.signal);
  },
}, process.argv.slice(2));
