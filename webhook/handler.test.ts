import { describe, expect, it } from "vitest";
import type { AdmissionRequest, AdmissionResponseReview } from "../src/admission/review.ts";
import { InvalidReviewError } from "../src/admission/server.ts";
import { CLEANUP_FINALIZER, MANAGED_LABEL, MAROON_LABEL, SCHEDULING_GATE } from "../src/api/names.ts";
import { MUTATE_PODS_PATH, podMutationHandler } from "./handler.ts";
import { DEFAULT_ADMISSION_SETTINGS } from "./settings.ts";

const UID = "b1b0c5de-2f0a-4c59-9a49-6f3f7bd3e0a1";
const handle = podMutationHandler(DEFAULT_ADMISSION_SETTINGS);

function request(overrides: Partial<AdmissionRequest> = {}): AdmissionRequest {
  return {
    uid: UID,
    kind: { group: "", version: "v1", kind: "Pod" },
    resource: { group: "", version: "v1", resource: "pods" },
    operation: "CREATE",
    namespace: "tenant-a",
    object: { metadata: { generateName: "job-", labels: { [MAROON_LABEL]: "true" } }, spec: { containers: [{ name: "c", image: "busybox" }] } },
    userInfo: { username: "system:serviceaccount:kube-system:job-controller" },
    ...overrides,
  };
}

async function answer(req: AdmissionRequest): Promise<AdmissionResponseReview> {
  return await handle(req);
}

function decodePatch(review: AdmissionResponseReview): unknown {
  const { patch } = review.response;
  if (patch === undefined) throw new Error("expected a patch");
  return JSON.parse(Buffer.from(patch, "base64").toString("utf8"));
}

describe("podMutationHandler", () => {
  it("serves the pod mutation path", () => {
    expect(MUTATE_PODS_PATH).toBe("/mutate-pods");
  });

  it("patches a selected pod with a base64 JSON Patch, echoing the request uid", async () => {
    const review = await answer(request());
    expect(review.apiVersion).toBe("admission.k8s.io/v1");
    expect(review.kind).toBe("AdmissionReview");
    expect(review.response.uid).toBe(UID);
    expect(review.response.allowed).toBe(true);
    expect(review.response.patchType).toBe("JSONPatch");
    expect(review.response.status).toBeUndefined();
    const operations = decodePatch(review);
    expect(Array.isArray(operations)).toBe(true);
    expect(operations).toEqual(
      expect.arrayContaining([
        { op: "add", path: "/spec/schedulingGates", value: [{ name: SCHEDULING_GATE }] },
        { op: "add", path: "/metadata/finalizers", value: [CLEANUP_FINALIZER] },
        { op: "add", path: "/metadata/labels/maroonedpods.io~1managed", value: "true" },
        { op: "add", path: "/spec/runtimeClassName", value: "marooned" },
      ]),
    );
    expect(operations).toHaveLength(4);
  });

  it.each<[string, Partial<AdmissionRequest>]>([
    ["an unselected pod", { object: { metadata: { labels: { app: "web" } }, spec: { containers: [] } } }],
    ["an UPDATE", { operation: "UPDATE" }],
    ["a DELETE", { operation: "DELETE", object: null }],
    [
      "an already gated pod",
      {
        object: {
          metadata: { labels: { [MAROON_LABEL]: "true", [MANAGED_LABEL]: "true" }, finalizers: [CLEANUP_FINALIZER] },
          spec: { containers: [], runtimeClassName: "marooned", schedulingGates: [{ name: SCHEDULING_GATE }] },
        },
      },
    ],
  ])("allows %s without a patch, echoing the request uid", async (_name, overrides) => {
    const review = await answer(request({ ...overrides, uid: "other-uid-42" }));
    expect(review.response).toEqual({ uid: "other-uid-42", allowed: true });
  });

  it("denies a labeled pod that names another RuntimeClass, with a reason", async () => {
    const object = { metadata: { labels: { [MAROON_LABEL]: "true" } }, spec: { runtimeClassName: "kata", containers: [] } };
    const review = await answer(request({ object }));
    expect(review.response).toMatchObject({ uid: UID, allowed: false, status: { code: 403 } });
    expect(review.response.status?.message).toContain("it names kata");
  });

  it.each<[string, Partial<AdmissionRequest>, string]>([
    ["another kind", { kind: { group: "apps", version: "v1", kind: "Deployment" } }, "apps/v1 Deployment"],
    ["a CREATE without an object", { object: null }, "request.object"],
    ["a pod without containers", { object: { metadata: {}, spec: {} } }, "request.object.spec.containers"],
  ])("throws InvalidReviewError for %s", async (_name, overrides, mention) => {
    const result = answer(request(overrides));
    await expect(result).rejects.toBeInstanceOf(InvalidReviewError);
    await expect(result).rejects.toThrow(mention);
  });
});
