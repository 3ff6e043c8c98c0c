/**
 * The webhook process fed a seeded fuzzer's malformed and hostile AdmissionReviews over HTTPS keep-alive, as the API
 * server would send them: it never crashes, answers each with a 4xx or a correct review, and its memory comes back.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { Agent, request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { residentMiB } from "../bench/proc.ts";
import { writeLoopbackServingCertificate } from "../src/devcluster/admission.ts";
import { pollUntil } from "../src/util/poll.ts";
import { answerProblem } from "../webhook/review-answer.test-support.ts";
import { fuzzCase, type FuzzCase } from "../webhook/review-fuzzer.test-support.ts";
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
const SETTLE_MS = 3_000;
/** RSS may end this much over the baseline: V8 keeps some of a grown heap, and malloc some freed pages. */
const RSS_TOLERANCE_MIB = 24;
const RSS_SETTLE_TIMEOUT_MS = 30_000;
const HOST = "127.0.0.1";

interface Env {
  webhook: ComponentProcess;
  port: number;
  agent: Agent;
  dir: string;
}
let env: Env;

beforeAll(async () => {
  const dir = await mkdtemp(join(tmpdir(), "maroonedpods-webhook-fuzz-"));
  const tls = await writeLoopbackServingCertificate(dir);
  const webhook = await startComponent("webhook", [
    `--tls-cert-file=${tls.certFile}`, `--tls-key-file=${tls.keyFile}`, `--bind-address=${HOST}`, "--port=0",
    `--ops-bind-address=${HOST}`, "--ops-port=0", "--log-level=error",
  ]);
  const port = webhook.ready.port;
  if (typeof port !== "number") throw new Error(`the webhook's ready line has no port: ${JSON.stringify(webhook.ready)}`);
  env = { webhook, port, agent: new Agent({ keepAlive: true, maxSockets: CONCURRENCY, ca: tls.caPem }), dir };
});

afterAll(async () => {
  env.agent.destroy();
  await env.webhook.stop();
  await rm(env.dir, { recursive: true, force: true });
});

/** Status and body of the answer; a dropped connection or a timeout rejects. */
function send(fuzz: FuzzCase): Promise<{ status: number; answer: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { "content-length": fuzz.body.length };
    if (fuzz.contentType !== undefined) headers["content-type"] = fuzz.contentType;
    const req = httpsRequest({ host: HOST, port: env.port, path: fuzz.path, method: fuzz.method, agent: env.agent, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("error", reject);
      res.on("end", () => {
        resolve({ status: res.statusCode ?? 0, answer: Buffer.concat(chunks).toString("utf8") });
      });
    });
    // A server that answers 413 before reading a large body may close while it is still being written: the answer counts.
    req.on("error", reject);
    req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS / 1000} s`)));
    req.end(fuzz.body);
  });
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
        const { status, answer } = await send(fuzzCaseNow);
        const problem = answerProblem({ ...fuzzCaseNow, status, answer }, DEFAULT_ADMISSION_SETTINGS);
        if (problem !== undefined) problems.push(`${where}: ${problem}`);
      } catch (error) {
        problems.push(`${where}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return problems;
}

const rss = async (): Promise<number> => {
  const mib = await residentMiB(env.webhook.pid);
  if (mib === undefined) throw new Error(`no VmRSS for the webhook (pid ${env.webhook.pid})`);
  return mib;
};

it(`answers ${CASES.toLocaleString("en")} fuzzed AdmissionReviews with a 4xx or a correct review, stays up, and its RSS returns to within ${RSS_TOLERANCE_MIB} MiB of its baseline`, async () => {
  expect(await fuzz(WARMUP_SEED, WARMUP_CASES)).toEqual([]);
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  const baseline = await rss();

  const started = performance.now();
  const problems = await fuzz(FUZZ_SEED, CASES);
  const seconds = (performance.now() - started) / 1000;
  expect(problems.slice(0, 20), `${problems.length} wrong answers`).toEqual([]);
  expect(isAlive(env.webhook.pid)).toBe(true);

  const peak = await rss();
  let settled = peak;
  const back = await pollUntil(
    "the webhook's RSS back near its baseline",
    async () => {
      settled = await rss();
      return settled <= baseline + RSS_TOLERANCE_MIB ? true : undefined;
    },
    { timeoutMs: RSS_SETTLE_TIMEOUT_MS, intervalMs: 500 },
  ).catch(() => false);
  process.stdout.write(`webhook fuzz: ${CASES} cases in ${seconds.toFixed(1)} s; RSS baseline ${baseline.toFixed(1)} MiB, after ${peak.toFixed(1)} MiB, settled ${settled.toFixed(1)} MiB\n`);
  expect(back, `RSS ${settled.toFixed(1)} MiB, baseline ${baseline.toFixed(1)} MiB`).toBe(true);
  expect(isAlive(env.webhook.pid)).toBe(true);
});
