/**
 * Malformed and hostile AdmissionReviews for the pod webhook, from a seed: truncated JSON, wrong kinds, huge
 * labels, deep nesting, a wrong type in any one field of the review or its pod, duplicated keys, bodies that are
 * not JSON and requests the server must refuse. Case `index` depends only on the seed and the index.
 */
import { CLEANUP_FINALIZER, MAROON_LABEL, MAROON_LABEL_VALUE, SCHEDULING_GATE } from "../src/api/names.ts";
import { isRecord } from "../src/util/guards.ts";
import { caseSeed, seededRandom, type Random } from "./fuzz-random.test-support.ts";
import { MUTATE_PODS_PATH } from "./handler.ts";
import { DEFAULT_ADMISSION_SETTINGS } from "./settings.ts";

export interface FuzzCase {
  readonly index: number;
  readonly kind: FuzzKind;
  readonly method: string;
  readonly path: string;
  /** undefined: no Content-Type header. */
  readonly contentType: string | undefined;
  readonly body: Buffer;
  /** A well-formed review of a pod: the webhook must answer it with a review, never a 4xx. */
  readonly mustReview: boolean;
}

export const FUZZ_KINDS = ["valid", "huge-labels", "truncated", "wrong-kind", "deep-nesting", "wrong-type", "duplicate-keys", "not-json", "protocol"] as const;
export type FuzzKind = (typeof FUZZ_KINDS)[number];

/** How often each kind comes up, out of the sum; the cases that close the connection (4xx) cost a TLS handshake each. */
const WEIGHTS: Readonly<Record<FuzzKind, number>> = {
  valid: 30,
  "huge-labels": 4,
  truncated: 10,
  "wrong-kind": 10,
  "deep-nesting": 5,
  "wrong-type": 25,
  "duplicate-keys": 12,
  "not-json": 2,
  protocol: 2,
};

/** The API server's limit on what it forwards; a review over it is answered 413 unread. */
export const MAX_REVIEW_BYTES = 3 * 1024 * 1024;
const JSON_TYPE = "application/json";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const isObject = (value: Json | undefined): value is JsonObject => isRecord(value);

function pickKind(random: Random): FuzzKind {
  const total = FUZZ_KINDS.reduce((sum, kind) => sum + WEIGHTS[kind], 0);
  let roll = random.next() * total;
  for (const kind of FUZZ_KINDS) {
    roll -= WEIGHTS[kind];
    if (roll < 0) return kind;
  }
  return "valid";
}

const uid = (random: Random): string => `${random.string(8, "0123456789abcdef")}-${random.string(4, "0123456789abcdef")}-4${random.string(3, "0123456789abcdef")}-8${random.string(3, "0123456789abcdef")}-${random.string(12, "0123456789abcdef")}`;

/** A pod as the API server forwards it at CREATE, selected or not, sometimes already part-way isolated. */
function pod(random: Random): JsonObject {
  const settings = DEFAULT_ADMISSION_SETTINGS;
  const labels: JsonObject = { app: random.string(random.int(1, 12)) };
  const selection = random.int(0, 9);
  if (selection < 5) labels[MAROON_LABEL] = MAROON_LABEL_VALUE;
  if (selection === 5) labels[MAROON_LABEL] = "false";
  const spec: JsonObject = {
    containers: [{ name: "main", image: `registry.example/${random.string(6)}:1`, resources: { requests: { cpu: "100m", memory: "64Mi" } } }],
    restartPolicy: random.pick(["Always", "Never", "OnFailure"]),
  };
  if (selection === 6) spec.runtimeClassName = settings.runtimeClassName;
  if (selection === 7) spec.runtimeClassName = random.pick(["kata", "gvisor", ""]);
  if (random.chance(0.2)) spec.schedulingGates = random.chance(0.5) ? [{ name: SCHEDULING_GATE }] : [{ name: "example.com/other" }];
  if (random.chance(0.2)) spec.tolerations = [{ key: "example.com/dedicated", operator: "Exists", effect: "NoSchedule" }];
  const metadata: JsonObject = { generateName: `${random.string(5)}-`, namespace: "tenant-a", labels };
  if (random.chance(0.2)) metadata.finalizers = random.chance(0.5) ? [CLEANUP_FINALIZER] : ["example.com/keep"];
  if (random.chance(0.3)) metadata.annotations = { "example.com/note": random.string(20) };
  return { apiVersion: "v1", kind: "Pod", metadata, spec };
}

function review(random: Random): JsonObject {
  const operation = random.chance(0.85) ? "CREATE" : random.pick(["UPDATE", "DELETE", "CONNECT"]);
  const object = pod(random);
  const gvk = { group: "", version: "v1", kind: "Pod" };
  const gvr = { group: "", version: "v1", resource: "pods" };
  const request: JsonObject = {
    uid: uid(random),
    kind: gvk,
    resource: gvr,
    requestKind: gvk,
    requestResource: gvr,
    namespace: "tenant-a",
    operation,
    userInfo: { username: "system:serviceaccount:tenant-a:deployer", groups: ["system:authenticated"] },
    object: operation === "DELETE" ? null : object,
    oldObject: operation === "CREATE" ? null : object,
    dryRun: random.chance(0.1),
  };
  return { apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", request };
}

/** Any JSON value, nested at most `depth` levels. */
function anyJson(random: Random, depth = 2): Json {
  switch (random.int(0, depth > 0 ? 9 : 7)) {
    case 0:
      return null;
    case 1:
      return random.chance(0.5);
    case 2:
      return random.pick([0, -1, 1.5, 1e308, -1e-308, Number.MAX_SAFE_INTEGER + 2]);
    case 3:
      return "";
    case 4:
      return random.string(random.int(1, 40));
    case 5:
      return random.pick(["\u0000", "\ud800", "ünïcödé 🚀", "../../etc/passwd", "__proto__", "true", "CREATE", "Pod"]);
    case 6:
      return [];
    case 7:
      return {};
    case 8:
      return Array.from({ length: random.int(1, 3) }, () => anyJson(random, depth - 1));
    default:
      return Object.fromEntries(Array.from({ length: random.int(1, 3) }, () => [random.pick(["name", "__proto__", "constructor", random.string(4)]), anyJson(random, depth - 1)]));
  }
}

const jsonType = (value: Json | undefined): string => (value === null ? "null" : Array.isArray(value) ? "array" : typeof value);

/** Every place in the value, as a list of keys from the root; objects and arrays are places too. */
function places(value: Json, at: readonly (string | number)[] = []): (string | number)[][] {
  const here = [[...at]];
  if (Array.isArray(value)) return here.concat(...value.map((item, i) => places(item, [...at, i])));
  if (isObject(value)) return here.concat(...Object.entries(value).map(([key, item]) => places(item, [...at, key])));
  return here;
}

function setAt(root: JsonObject, path: readonly (string | number)[], value: Json): void {
  let node: Json = root;
  for (const key of path.slice(0, -1)) node = (node as Record<string | number, Json>)[key] ?? null;
  (node as Record<string | number, Json>)[path.at(-1) ?? ""] = value;
}

const getAt = (root: Json, path: readonly (string | number)[]): Json | undefined =>
  path.reduce<Json | undefined>((node, key) => (node === null || typeof node !== "object" ? undefined : (node as Record<string | number, Json>)[key]), root);

/** One field anywhere in the review (the pod's included) replaced by a value of another JSON type. */
function wrongType(random: Random, body: JsonObject): void {
  const path = random.pick(places(body).filter((p) => p.length > 0));
  const original = jsonType(getAt(body, path));
  let value = anyJson(random);
  while (jsonType(value) === original) value = anyJson(random);
  setAt(body, path, value);
}

/** A real-looking kind or version that is not a core/v1 Pod in an admission.k8s.io/v1 AdmissionReview. */
function wrongKind(random: Random, body: JsonObject): void {
  const request = body.request as JsonObject;
  switch (random.int(0, 4)) {
    case 0:
      body.apiVersion = random.pick(["admission.k8s.io/v1beta1", "v1", "admission.k8s.io/v2", ""]);
      return;
    case 1:
      body.kind = random.pick(["AdmissionRequest", "Pod", "admissionreview", "ConversionReview"]);
      return;
    case 2:
      request.kind = random.pick([
        { group: "apps", version: "v1", kind: "Deployment" },
        { group: "", version: "v1", kind: "Service" },
        { group: "kubevirt.io", version: "v1", kind: "VirtualMachineInstance" },
        { group: "", version: "v1", kind: "pod" },
        { group: "core", version: "v1", kind: "Pod" },
      ]);
      return;
    case 3:
      request.operation = random.pick(["create", "PATCH", "APPLY", ""]);
      return;
    default:
      request.object = random.pick<Json>([{ apiVersion: "v1", kind: "Service", metadata: { name: "svc" }, spec: { ports: [] } }, { kind: "Pod" }, "Pod"]);
  }
}

/** A string of about `length` characters, cheap to make: a random piece repeated. */
const long = (random: Random, length: number): string => random.string(64).repeat(Math.ceil(length / 64));

/** Many labels, or long keys and values, on a selected pod; a few go over the body limit. */
function hugeLabels(random: Random, body: JsonObject): boolean {
  const request = body.request as JsonObject;
  const object = pod(random);
  request.operation = "CREATE";
  request.object = object;
  const labels = (object.metadata as JsonObject).labels as JsonObject;
  labels[MAROON_LABEL] = MAROON_LABEL_VALUE;
  switch (random.int(0, 3)) {
    case 0:
      for (let i = random.int(1_000, 20_000); i > 0; i--) labels[`example.com/label-${i}`] = random.string(8);
      return true;
    case 1:
      labels["example.com/big"] = long(random, random.int(100_000, 1_000_000));
      return true;
    case 2:
      labels[long(random, random.int(10_000, 200_000))] = "key";
      return true;
    default:
      labels["example.com/too-big"] = "x".repeat(MAX_REVIEW_BYTES);
      return false;
  }
}

const DEEP_PLACEHOLDER = "__fuzz_deep__";

/**
 * The review's text with `[[[...]]]` or `{"a":{"a":...}}` some thousands of levels deep at one place, written as
 * text: JSON.stringify would run out of stack on it.
 */
function deeplyNested(random: Random, body: JsonObject): string {
  const depth = random.pick([64, 1_000, 10_000, 100_000]);
  const request = body.request as JsonObject;
  const object = pod(random);
  request.object = object;
  request.operation = "CREATE";
  const metadata = object.metadata as JsonObject;
  const parent = random.pick<JsonObject>([(metadata.annotations = {}), object.spec as JsonObject, metadata.labels as JsonObject, request, body]);
  parent[random.pick(["deep", "affinity", "userInfo", "x"])] = DEEP_PLACEHOLDER;
  const [open, close] = random.chance(0.5) ? ["[", "]"] : ['{"a":', "}"];
  return JSON.stringify(body).replace(`"${DEEP_PLACEHOLDER}"`, () => `${open.repeat(depth)}"x"${close.repeat(depth)}`);
}

/** JSON text with one object's key written twice (JSON.parse, like Go's decoder, keeps the last). */
function withDuplicateKey(random: Random, body: JsonObject): string {
  const objects = places(body)
    .map((path) => [path, getAt(body, path)] as const)
    .filter((entry): entry is readonly [(string | number)[], JsonObject] => isObject(entry[1]) && Object.keys(entry[1]).length > 0);
  const [path, target] = random.pick(objects);
  const key = random.pick(Object.keys(target));
  const meaningful: Record<string, Json> = { uid: uid(random), kind: "Deployment", operation: "UPDATE", [MAROON_LABEL]: random.pick(["true", "false"]) };
  const duplicate = key in meaningful && random.chance(0.6) ? (meaningful[key] ?? null) : anyJson(random);
  const marker = `__fuzz_duplicate_${random.string(8)}__`;
  // Serialize with a placeholder entry first or last, then write the duplicated key in its place.
  const withMarker = random.chance(0.5) ? { [marker]: null, ...target } : { ...target, [marker]: null };
  if (path.length > 0) setAt(body, path, withMarker);
  const text = JSON.stringify(path.length === 0 ? withMarker : body);
  return text.replace(`"${marker}":null`, () => `${JSON.stringify(key)}:${JSON.stringify(duplicate)}`);
}

function truncated(random: Random, text: string): string {
  return text.slice(0, random.int(0, text.length - 1));
}

function notJson(random: Random): Buffer {
  return random.pick([
    () => Buffer.alloc(0),
    () => Buffer.from(random.pick(["null", "[]", '"AdmissionReview"', "1e999", "true", "{}", "{", "]"])),
    () => Buffer.from(Array.from({ length: random.int(1, 2_000) }, () => random.int(0, 255))),
    () => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(review(random)))]),
    () => Buffer.from("{\"apiVersion\": 'admission.k8s.io/v1'}"),
  ])();
}

function protocol(random: Random, body: Buffer): Pick<FuzzCase, "method" | "path" | "contentType"> {
  return random.pick([
    { method: "POST", path: MUTATE_PODS_PATH, contentType: random.pick([undefined, "text/plain", "application/json-patch+json", "application/jsonx", "multipart/form-data"]) },
    { method: random.pick(["GET", "PUT", "DELETE", "PATCH"]), path: MUTATE_PODS_PATH, contentType: JSON_TYPE },
    { method: "POST", path: random.pick(["/", "/mutate-pod", "/mutate-pods/", `/${random.string(6)}`, "/MUTATE-PODS"]), contentType: body.length > 0 ? JSON_TYPE : undefined },
  ]);
}

/** Case `index` of the run seeded with `seed`. */
export function fuzzCase(seed: number, index: number): FuzzCase {
  const random = seededRandom(caseSeed(seed, index));
  const kind = pickKind(random);
  const body = review(random);
  const post: Pick<FuzzCase, "method" | "path" | "contentType"> = { method: "POST", path: MUTATE_PODS_PATH, contentType: JSON_TYPE };
  const make = (text: string | Buffer, mustReview: boolean, request = post): FuzzCase => ({ index, kind, ...request, body: typeof text === "string" ? Buffer.from(text) : text, mustReview });
  switch (kind) {
    case "valid":
      return make(JSON.stringify(body), true);
    case "huge-labels": {
      const fits = hugeLabels(random, body);
      return make(JSON.stringify(body), fits);
    }
    case "truncated":
      return make(truncated(random, JSON.stringify(body)), false);
    case "wrong-kind":
      wrongKind(random, body);
      return make(JSON.stringify(body), false);
    case "deep-nesting":
      return make(deeplyNested(random, body), false);
    case "wrong-type":
      wrongType(random, body);
      return make(JSON.stringify(body), false);
    case "duplicate-keys":
      return make(withDuplicateKey(random, body), false);
    case "not-json":
      return make(notJson(random), false);
    case "protocol": {
      const text = Buffer.from(JSON.stringify(body));
      return make(text, false, protocol(random, text));
    }
  }
}
