import { describe, expect, it } from "vitest";
import { parseAdmissionReview, patched } from "../src/admission/review.ts";
import { InvalidReviewError } from "../src/admission/server.ts";
import { SCHEDULING_GATE } from "../src/api/names.ts";
import { caseSeed, seededRandom } from "./fuzz-random.test-support.ts";
import { podMutationHandler } from "./handler.ts";
import { answerProblem } from "./review-answer.test-support.ts";
import { FUZZ_KINDS, fuzzCase, MAX_REVIEW_BYTES, type FuzzCase } from "./review-fuzzer.test-support.ts";
import { DEFAULT_ADMISSION_SETTINGS } from "./settings.ts";

const settings = DEFAULT_ADMISSION_SETTINGS;
const SEED = 0x5eed;
const cases = (count: number): FuzzCase[] => Array.from({ length: count }, (_, index) => fuzzCase(SEED, index));

/** What the server would answer, run in-process: the handler's review, or 400 for an invalid one (413 over the limit). */
async function inProcess(fuzz: FuzzCase): Promise<{ status: number; answer: string }> {
  if (fuzz.body.length > MAX_REVIEW_BYTES) return { status: 413, answer: "" };
  const parsed = parseAdmissionReview(JSON.parse(fuzz.body.toString("utf8")));
  if (!parsed.ok) return { status: 400, answer: parsed.reason };
  try {
    return { status: 200, answer: JSON.stringify(await podMutationHandler(settings)(parsed.review.request)) };
  } catch (error) {
    if (error instanceof InvalidReviewError) return { status: 400, answer: error.message };
    throw error;
  }
}

describe("seededRandom", () => {
  it("repeats for a seed, differs between seeds, and stays in range", () => {
    const draw = (seed: number) => {
      const random = seededRandom(seed);
      return Array.from({ length: 1000 }, () => random.int(3, 7));
    };
    expect(draw(1)).toEqual(draw(1));
    expect(draw(1)).not.toEqual(draw(2));
    expect(new Set(draw(1))).toEqual(new Set([3, 4, 5, 6, 7]));
    const random = seededRandom(9);
    for (let i = 0; i < 1000; i++) expect(random.next()).toBeGreaterThanOrEqual(0);
    expect(() => random.pick([])).toThrow("empty");
  });

  it("gives every case of a run a seed of its own", () => {
    expect(new Set(Array.from({ length: 10_000 }, (_, i) => caseSeed(SEED, i))).size).toBe(10_000);
    expect(caseSeed(SEED, 5)).not.toBe(caseSeed(SEED + 1, 5));
  });
});

describe("fuzzCase", () => {
  it("depends only on the seed and the index", () => {
    expect(fuzzCase(SEED, 123)).toEqual(fuzzCase(SEED, 123));
    expect(cases(50).map((c) => c.body.toString("base64"))).not.toEqual(Array.from({ length: 50 }, (_, i) => fuzzCase(SEED + 1, i).body.toString("base64")));
  });

  it("comes up with every kind in a thousand cases", () => {
    expect(new Set(cases(1000).map((c) => c.kind))).toEqual(new Set(FUZZ_KINDS));
  });

  it("writes a key twice in the text of duplicate-keys cases, and truncates truncated ones into invalid JSON", () => {
    for (const fuzz of cases(1000)) {
      const text = fuzz.body.toString("utf8");
      if (fuzz.kind === "truncated") expect(() => JSON.parse(text) as unknown).toThrow();
      if (fuzz.kind === "duplicate-keys") expect(text.length).toBeGreaterThan(JSON.stringify(JSON.parse(text)).length);
    }
  });

  it("nests deep-nesting cases up to 100,000 levels", () => {
    const depths = cases(2000).filter((c) => c.kind === "deep-nesting").map((c) => /(\[{100,}|(\{"a":){100,})/.exec(c.body.toString("utf8"))?.[0].length ?? 0);
    expect(Math.max(...depths)).toBeGreaterThanOrEqual(100_000);
  });
});

describe("answerProblem", () => {
  it("accepts what the handler answers to every well-formed case, and the handler answers each with a review", async () => {
    const wellFormed = cases(400).filter((c) => c.mustReview);
    expect(wellFormed.length).toBeGreaterThan(100);
    for (const fuzz of wellFormed) {
      const { status, answer } = await inProcess(fuzz);
      expect(answerProblem({ ...fuzz, status, answer }, settings), `case ${fuzz.index}`).toBeUndefined();
    }
  });

  const selectedCreate = cases(400).find((c) => c.kind === "valid" && !c.body.includes(SCHEDULING_GATE) && c.body.includes('"CREATE"') && c.body.includes('"maroonedpods.io/maroon":"true"'));
  if (!selectedCreate) throw new Error("no selected CREATE among the cases");
  const uid = (JSON.parse(selectedCreate.body.toString("utf8")) as { request: { uid: string } }).request.uid;
  const review = (response: Record<string, unknown>) => JSON.stringify({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", response });

  it.each([
    ["a 500", 500, "{}", "HTTP 500"],
    ["a 4xx for a well-formed review", 400, "{}", "HTTP 400 for a well-formed pod review"],
    ["another uid", 200, review({ uid: "other", allowed: true }), "is not the request's"],
    ["allowed without the gate", 200, review({ uid, allowed: true }), "allowed unpatched with no scheduling gate"],
    ["a denial", 200, review({ uid, allowed: false }), "a selected pod was denied"],
    ["a patch that does not apply", 200, JSON.stringify(patched(uid, [{ op: "replace", path: "/spec/nothing/here", value: 1 }])), "does not apply"],
    ["a patch that does not gate", 200, JSON.stringify(patched(uid, [{ op: "add", path: "/metadata/annotations", value: {} }])), "the patched pod has no scheduling gate"],
    ["not base64 JSON", 200, review({ uid, allowed: true, patchType: "JSONPatch", patch: "%%%" }), "not base64 JSON"],
  ])("rejects %s for a selected pod's CREATE", (_, status, answer, message) => {
    expect(answerProblem({ ...selectedCreate, status, answer }, settings)).toContain(message);
  });

  it("rejects a 200 for a body that is not JSON, and accepts a 4xx for it", () => {
    const broken = { body: Buffer.from("{"), mustReview: false };
    expect(answerProblem({ ...broken, status: 200, answer: "{}" }, settings)).toBe("HTTP 200 for a body that is not JSON");
    expect(answerProblem({ ...broken, status: 400, answer: "{}" }, settings)).toBeUndefined();
  });
});
