import { describe, expect, it } from "vitest";
import { allowed, denied, parseAdmissionReview, patched } from "./review.ts";

function podCreateReview(requestOverrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid: "705ab4f5-6393-11e8-b7cc-42010a800002",
      kind: { group: "", version: "v1", kind: "Pod" },
      resource: { group: "", version: "v1", resource: "pods" },
      requestKind: { group: "", version: "v1", kind: "Pod" },
      operation: "CREATE",
      namespace: "default",
      name: "web",
      object: { metadata: { name: "web" } },
      oldObject: null,
      userInfo: { username: "admin", groups: ["system:masters"] },
      dryRun: false,
      ...requestOverrides,
    },
  };
}

function reasonOf(body: unknown): string {
  const parsed = parseAdmissionReview(body);
  if (parsed.ok) throw new Error("expected the review to be rejected");
  return parsed.reason;
}

describe("parseAdmissionReview", () => {
  it("accepts a review as the API server sends it, keeping fields the types do not name", () => {
    const parsed = parseAdmissionReview(podCreateReview());
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.review.request.uid).toBe("705ab4f5-6393-11e8-b7cc-42010a800002");
    expect(parsed.review.request.kind.kind).toBe("Pod");
    expect(parsed.review.request.operation).toBe("CREATE");
    expect(parsed.review.request.object).toEqual({ metadata: { name: "web" } });
    expect(parsed.review.request).toHaveProperty("requestKind");
  });

  it("accepts a cluster-scoped request without namespace, name or dryRun", () => {
    expect(parseAdmissionReview(podCreateReview({ namespace: undefined, name: undefined, dryRun: undefined })).ok).toBe(true);
  });

  it("rejects bodies that are not AdmissionReview objects", () => {
    expect(reasonOf(null)).toBe("body must be a JSON object");
    expect(reasonOf([])).toBe("body must be a JSON object");
    expect(reasonOf({ ...podCreateReview(), apiVersion: "admission.k8s.io/v1beta1" })).toBe(
      'apiVersion must be admission.k8s.io/v1, got "admission.k8s.io/v1beta1"',
    );
    expect(reasonOf({ ...podCreateReview(), kind: "Pod" })).toBe('kind must be AdmissionReview, got "Pod"');
    expect(reasonOf({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview" })).toBe("request is missing");
  });

  it.each([
    [{ uid: 42 }, "request.uid must be a non-empty string"],
    [{ uid: "" }, "request.uid must be a non-empty string"],
    [{ kind: { group: "", version: "v1" } }, "request.kind must have string group, version and kind"],
    [{ resource: "pods" }, "request.resource must have string group, version and resource"],
    [{ operation: "PATCH" }, "request.operation must be one of CREATE, UPDATE, DELETE, CONNECT"],
    [{ namespace: 7 }, "request.namespace must be a string"],
    [{ name: null }, "request.name must be a string"],
    [{ userInfo: undefined }, "request.userInfo must be an object"],
    [{ dryRun: "true" }, "request.dryRun must be a boolean"],
  ])("rejects a request with %j", (overrides, reason) => {
    expect(reasonOf(podCreateReview(overrides))).toBe(reason);
  });
});

describe("response helpers", () => {
  it("allows", () => {
    expect(allowed("u1")).toEqual({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", response: { uid: "u1", allowed: true } });
  });

  it("denies with 403 unless told another code", () => {
    expect(denied("u1", "no VMs on Sundays").response).toEqual({ uid: "u1", allowed: false, status: { code: 403, message: "no VMs on Sundays" } });
    expect(denied("u1", "bad spec", 422).response.status).toEqual({ code: 422, message: "bad spec" });
  });

  it("carries a JSON patch as base64", () => {
    const operations = [
      { op: "add", path: "/metadata/labels/managed", value: "yes" },
      { op: "remove", path: "/spec/nodeName" },
    ] as const;
    const { response } = patched("u1", operations);
    expect(response).toMatchObject({ uid: "u1", allowed: true, patchType: "JSONPatch" });
    expect(JSON.parse(Buffer.from(response.patch ?? "", "base64").toString("utf8"))).toEqual(operations);
  });
});
