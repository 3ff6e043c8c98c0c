import { isRecord } from "../util/guards.ts";
export const ADMISSION_API_VERSION = "admission.k8s.io/v1";
const ADMISSION_KIND = "AdmissionReview";

export interface GroupVersionKind {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
}

export interface GroupVersionResource {
  readonly group: string;
  readonly version: string;
  readonly resource: string;
}

export type AdmissionOperation = "CREATE" | "UPDATE" | "DELETE" | "CONNECT";
const OPERATIONS: ReadonlySet<string> = new Set<AdmissionOperation>(["CREATE", "UPDATE", "DELETE", "CONNECT"]);

export interface AdmissionUserInfo {
  readonly username?: string;
  readonly uid?: string;
  readonly groups?: readonly string[];
}

/** The subset of admission.k8s.io/v1 AdmissionRequest that webhooks here act on. */
export interface AdmissionRequest {
  readonly uid: string;
  readonly kind: GroupVersionKind;
  readonly resource: GroupVersionResource;
  readonly operation: AdmissionOperation;
  /** Absent for cluster-scoped objects. */
  readonly namespace?: string;
  /** Absent on CREATE when the object uses generateName. */
  readonly name?: string;
  /** Absent (null) on DELETE. */
  readonly object?: unknown;
  /** Present on UPDATE and DELETE. */
  readonly oldObject?: unknown;
  readonly userInfo: AdmissionUserInfo;
  readonly dryRun?: boolean;
}

export interface AdmissionRequestReview {
  readonly apiVersion: typeof ADMISSION_API_VERSION;
  readonly kind: typeof ADMISSION_KIND;
  readonly request: AdmissionRequest;
}

export interface AdmissionResponse {
  readonly uid: string;
  readonly allowed: boolean;
  /** metav1.Status; the API server shows `message` to the client on denial. */
  readonly status?: { readonly code: number; readonly message: string };
  readonly patchType?: "JSONPatch";
  /** Base64 of a JSON array of RFC 6902 operations. */
  readonly patch?: string;
}

export interface AdmissionResponseReview {
  readonly apiVersion: typeof ADMISSION_API_VERSION;
  readonly kind: typeof ADMISSION_KIND;
  readonly response: AdmissionResponse;
}

/** An RFC 6902 operation, the only patch format admission.k8s.io/v1 accepts. */
export type JsonPatchOperation =
  | { readonly op: "add" | "replace" | "test"; readonly path: string; readonly value: unknown }
  | { readonly op: "remove"; readonly path: string }
  | { readonly op: "move" | "copy"; readonly from: string; readonly path: string };

export type ParsedAdmissionReview = { ok: true; review: AdmissionRequestReview } | { ok: false; reason: string };


function hasStringFields(value: unknown, fields: readonly string[]): boolean {
  return isRecord(value) && fields.every((field) => typeof value[field] === "string");
}

/** Why the request's fields cannot be trusted to match AdmissionRequest, or undefined when they can. */
function requestProblem(request: Record<string, unknown>): string | undefined {
  if (typeof request.uid !== "string" || request.uid === "") return "request.uid must be a non-empty string";
  if (!hasStringFields(request.kind, ["group", "version", "kind"])) return "request.kind must have string group, version and kind";
  if (!hasStringFields(request.resource, ["group", "version", "resource"])) {
    return "request.resource must have string group, version and resource";
  }
  if (typeof request.operation !== "string" || !OPERATIONS.has(request.operation)) {
    return `request.operation must be one of ${[...OPERATIONS].join(", ")}`;
  }
  for (const field of ["namespace", "name"]) {
    if (request[field] !== undefined && typeof request[field] !== "string") return `request.${field} must be a string`;
  }
  if (!isRecord(request.userInfo)) return "request.userInfo must be an object";
  if (request.dryRun !== undefined && typeof request.dryRun !== "boolean") return "request.dryRun must be a boolean";
  return undefined;
}

/**
 * Checks a decoded request body is an AdmissionReview a handler can act on.
 * Fields the types declare required are checked so handlers may rely on them.
 */
export function parseAdmissionReview(body: unknown): ParsedAdmissionReview {
  if (!isRecord(body)) return { ok: false, reason: "body must be a JSON object" };
  if (body.apiVersion !== ADMISSION_API_VERSION) {
    return { ok: false, reason: `apiVersion must be ${ADMISSION_API_VERSION}, got ${JSON.stringify(body.apiVersion)}` };
  }
  if (body.kind !== ADMISSION_KIND) return { ok: false, reason: `kind must be ${ADMISSION_KIND}, got ${JSON.stringify(body.kind)}` };
  if (!isRecord(body.request)) return { ok: false, reason: "request is missing" };
  const problem = requestProblem(body.request);
  if (problem !== undefined) return { ok: false, reason: problem };
  // Each field the type promises was checked above; extra fields pass through untouched.
  return { ok: true, review: body as unknown as AdmissionRequestReview };
}

function review(response: AdmissionResponse): AdmissionResponseReview {
  return { apiVersion: ADMISSION_API_VERSION, kind: ADMISSION_KIND, response };
}

export function allowed(uid: string): AdmissionResponseReview {
  return review({ uid, allowed: true });
}

/** `code` becomes the HTTP status the API server returns to its client (403 Forbidden unless told otherwise). */
export function denied(uid: string, message: string, code = 403): AdmissionResponseReview {
  return review({ uid, allowed: false, status: { code, message } });
}

export function patched(uid: string, operations: readonly JsonPatchOperation[]): AdmissionResponseReview {
  const patch = Buffer.from(JSON.stringify(operations), "utf8").toString("base64");
  return review({ uid, allowed: true, patchType: "JSONPatch", patch });
}
