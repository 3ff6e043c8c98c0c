/**
 * The webhook process fed a seeded fuzzer's malformed and hostile AdmissionReviews over HTTPS keep-alive, as the API
 * server would send them: it never crashes, answers each with a 4xx or a correct review, and its memory comes back.
 */
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { Agent } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { sendHttps, type Reply } from "../bench/http.ts";
import { residentMiB } from "../bench/proc.ts";
import { writeLoopbackServingCertificate } from "../src/devcluster/admission.ts";
import { pollUntil } from "../src/util/poll.ts";
import { answerProblem } from "../webhook/review-answer.test-support.ts";
import { fuzzCase, MAX_REVIEW_BYTES, type FuzzCase } from "../webhook/review-fuzzer.test-support.ts";
import { DEFAULT_ADMISSION_SETTINGS } from "../webhook/settings.ts";
import { isAlive } from "./support/processes.ts";
import { startComponent, type ComponentProcess } from "./support/stack.ts";

const CASES = 20_000;
const FUZZ_SEED = 20_000_14;
/** A different seed's cases first, so the baseline is the heap of a webhook that has seen this traffic. */
const WARMUP_SEED = 4;
const WARMUP_CASES = 2_000;
/** Reviews in flight, as a busy API server's connection pool would send them. */
const CONCURRENCY = 8;
const REQUEST_TIMEOUT_MS = 15_000;
/**
 * RSS after a full garbage collection may end this much over the baseline (itself taken after one): malloc keeps
 * some freed pages. A leak of 1 KiB per case would be 20 MiB. Measured on 2 cores: 163.6 MiB before, 169.3 after
 * (246.7 before that GC).
 */
const RSS_TOLERANCE_MIB = 16;
/** After a full GC, for the freed pages to go back to the system. */
const SETTLE_MS = 1_000;
const GC_TIMEOUT_MS = 30_000;
const HOST = "127.0.0.1";

interface Env {
  webhook: ComponentProcess;
  port: number;
  opsPort: number;
  agent: Agent;
  dir: string;
}
let env: Env;

beforeAll(async () => {
  const dir = await mkdtemp(join(tmpdir(), "maroonedpods-webhook-fuzz-"));
  const tls = await writeLoopbackServingCertificate(dir);
  // A heap snapshot starts with a full garbage collection: SIGUSR2 is how the test gets one, written into `dir`.
  const nodeOptions = `${process.env.NODE_OPTIONS ?? ""} --heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${dir}`.trim();
  const webhook = await startComponent(
    "webhook",
    [`--tls-cert-file=${tls.certFile}`, `--tls-key-file=${tls.keyFile}`, `--bind-address=${HOST}`, "--port=0", `--ops-bind-address=${HOST}`, "--ops-port=0", "--log-level=error"],
    { env: { ...process.env, NODE_OPTIONS: nodeOptions } },
  );
  const { port, opsPort } = webhook.ready;
  if (typeof port !== "number" || typeof opsPort !== "number") throw new Error(`the webhook's ready line has no ports: ${JSON.stringify(webhook.ready)}`);
  env = { webhook, port, opsPort, agent: new Agent({ keepAlive: true, maxSockets: CONCURRENCY, ca: tls.caPem }), dir };
});

afterAll(async () => {
  env.agent.destroy();
  await env.webhook.stop();
  await rm(env.dir, { recursive: true, force: true });
});

/**
 * Over the limit the server answers 413 from the Content-Length alone and closes: writing the body would race that
 * close (EPIPE before the answer is read), so such a case sends its headers only. The API server never sends one.
 */
function send(fuzz: FuzzCase): Promise<Reply> {
  const headers: Record<string, string | number> = { "content-length": fuzz.body.length };
  if (fuzz.contentType !== undefined) headers["content-type"] = fuzz.contentType;
  const options = { host: HOST, port: env.port, path: fuzz.path, method: fuzz.method, agent: env.agent, headers };
  return sendHttps(options, fuzz.body.length > MAX_REVIEW_BYTES ? undefined : fuzz.body, REQUEST_TIMEOUT_MS);
}

/** Sends cases 0..count-1 of `seed`, `CONCURRENCY` at a time; resolves with a line per wrong answer. */
async function fuzz(seed: number, count: number): Promise<string[]> {
  const problems: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const fuzzCaseNow = fuzzCase(seed, next++);
      const where = `case ${fuzzCaseNow.index} (${fuzzCaseNow.kind}, seed ${seed})`;
      try {
        const { status, body } = await send(fuzzCaseNow);
        const problem = answerProblem({ ...fuzzCaseNow, status, answer: body }, DEFAULT_ADMISSION_SETTINGS);
        if (problem !== undefined) problems.push(`${where}: ${problem}`);
      } catch (error) {
        problems.push(`${where}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return problems;
}

/**
 * The webhook's RSS after a full garbage collection: the heap snapshot SIGUSR2 asks for is written on its main
 * thread, so once the file is there and /healthz answers again, the collection is over.
 */
async function rssAfterFullGc(): Promise<number> {
  const snapshots = async () => (await readdir(env.dir)).filter((file) => file.endsWith(".heapsnapshot"));
  process.kill(env.webhook.pid, "SIGUSR2");
  await pollUntil(
    "the webhook's heap snapshot",
    async () => ((await snapshots()).length > 0 && (await fetch(`http://${HOST}:${env.opsPort}/healthz`)).ok ? true : undefined),
    { timeoutMs: GC_TIMEOUT_MS, check: () => { if (!isAlive(env.webhook.pid)) throw new Error("the webhook exited"); } },
  );
  for (const file of await snapshots()) await rm(join(env.dir, file));
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  const mib = await residentMiB(env.webhook.pid);
  if (mib === undefined) throw new Error(`no VmRSS for the webhook (pid ${env.webhook.pid})`);
  return mib;
}

it(`answers ${CASES.toLocaleString("en")} fuzzed AdmissionReviews with a 4xx or a correct review, stays up, and its RSS after a full GC returns to within ${RSS_TOLERANCE_MIB} MiB of its baseline`, async () => {
  expect(await fuzz(WARMUP_SEED, WARMUP_CASES)).toEqual([]);
  const baseline = await rssAfterFullGc();

  const started = performance.now();
  const problems = await fuzz(FUZZ_SEED, CASES);
  const seconds = (performance.now() - started) / 1000;
  expect(problems.slice(0, 20), `${problems.length} wrong answers`).toEqual([]);
  expect(isAlive(env.webhook.pid)).toBe(true);

  const peak = await residentMiB(env.webhook.pid);
  const after = await rssAfterFullGc();
  process.stdout.write(`webhook fuzz: ${CASES} cases in ${seconds.toFixed(1)} s; RSS after a full GC: baseline ${baseline.toFixed(1)} MiB, after ${after.toFixed(1)} MiB (${peak?.toFixed(1) ?? "?"} MiB before that GC)\n`);
  expect(after, `RSS ${after.toFixed(1)} MiB, baseline ${baseline.toFixed(1)} MiB`).toBeLessThanOrEqual(baseline + RSS_TOLERANCE_MIB);
  expect(isAlive(env.webhook.pid)).toBe(true);
});
