import { describe, expect, it } from "vitest";
import { isolatedPodExpression, mutatingWebhookConfiguration, POLICY_NAMES, selectedPodExpression, validatingAdmissionPolicies } from "./manifests.ts";
import { DEFAULT_ADMISSION_SETTINGS, type AdmissionSettings } from "./settings.ts";

const custom: AdmissionSettings = {
  ...DEFAULT_ADMISSION_SETTINGS,
  triggerLabel: { key: "example.com/isolate", value: "yes" },
  runtimeClassName: "sandboxed",
  taintKeyPrefix: "isolation.example.com",
  nodeNamePrefix: "vm-",
  exemptNamespaces: ["infra"],
  controllerServiceAccount: { namespace: "isolation", name: "isolator" },
};

type Webhook = { matchConditions: { expression: string }[]; namespaceSelector: unknown; failurePolicy: string; rules: { operations: string[]; resources: string[] }[] };

describe("admission manifests", () => {
  it("registers the webhook for CREATE of pods only, failing closed, for selected pods only", () => {
    const config = mutatingWebhookConfiguration(custom, { url: "https://127.0.0.1:9443/mutate-pods" });
    const [webhook] = config.webhooks as Webhook[];
    expect(webhook?.rules).toEqual([expect.objectContaining({ operations: ["CREATE"], resources: ["pods"] })]);
    expect(webhook?.failurePolicy).toBe("Fail");
    expect(webhook?.namespaceSelector).toEqual({ matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "NotIn", values: ["infra"] }] });
    expect(webhook?.matchConditions[0]?.expression).toBe(selectedPodExpression(custom));
    expect(selectedPodExpression(custom)).toContain('"example.com/isolate"');
    expect(selectedPodExpression(custom)).toContain('"sandboxed"');
  });

  it("skips the call for a pod already isolated (no reinvocation after the RuntimeClass plugin)", () => {
    const [webhook] = mutatingWebhookConfiguration(custom, { url: "https://127.0.0.1:9443/mutate-pods" }).webhooks as Webhook[];
    expect(webhook?.matchConditions[1]?.expression).toBe(`!(${isolatedPodExpression(custom)})`);
    for (const piece of ['"sandboxed"', '"maroonedpods.io/managed"', '"maroonedpods.io/vm-cleanup"', '"maroonedpods.io/vm-node"']) expect(isolatedPodExpression(custom)).toContain(piece);
  });

  it("builds every policy from the same settings as the webhook", () => {
    const objects = validatingAdmissionPolicies(custom);
    expect(objects.map((o) => `${String(o.kind)}/${(o.metadata as { name: string }).name}`)).toEqual(
      Object.values(POLICY_NAMES).flatMap((name) => [`ValidatingAdmissionPolicy/${name}`, `ValidatingAdmissionPolicyBinding/${name}`]),
    );
    const text = JSON.stringify(objects);
    expect(text).toContain("system:serviceaccount:isolation:isolator");
    expect(text).toContain("isolation.example.com/dedicated");
    // The warm pool taint, under the same prefix, which no pod may tolerate.
    expect(text).toContain("isolation.example.com/pool");
    expect(text).toContain('startsWith(\\"vm-\\")');
    expect(text).not.toContain("maroonedpods.io/maroon\\\"");
    for (const binding of objects.filter((o) => o.kind === "ValidatingAdmissionPolicyBinding")) {
      expect((binding.spec as { validationActions: string[] }).validationActions).toEqual(["Deny"]);
    }
  });

  it("refuses settings that would not be safe inside CEL", () => {
    const bad = { ...custom, runtimeClassName: 'x" || true || "' };
    expect(() => mutatingWebhookConfiguration(bad, { url: "https://127.0.0.1/x" })).toThrow(/runtimeClassName/);
    expect(() => validatingAdmissionPolicies(bad)).toThrow(/runtimeClassName/);
  });
});
