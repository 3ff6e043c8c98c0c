import { describe, expect, it } from "vitest";
import { REASONS } from "../api/conditions.ts";
import { CONFIG_CONDITIONS, configConditions } from "./config-controller.ts";

const defaults = { apiServerEndpoint: "https://10.0.0.1:6443", vmNamespace: "maroonedpods-vms" };
const byType = (spec: Parameters<typeof configConditions>[0], d = defaults) => Object.fromEntries(configConditions(spec, d).map((c) => [c.type, c]));

describe("configConditions: what the MaroonedPodsConfig's status says", () => {
  it("a valid spec is Valid and Applied", () => {
    expect(byType({ maxAttempts: 5 })).toMatchObject({ [CONFIG_CONDITIONS.valid]: { status: "True" }, [CONFIG_CONDITIONS.applied]: { status: "True" } });
  });

  it("an invalid spec is not Valid, and says which field", () => {
    expect(byType({ maxAttempts: 0 })[CONFIG_CONDITIONS.valid]).toMatchObject({ status: "False", reason: REASONS.InvalidConfig, message: expect.stringContaining("maxAttempts") as unknown });
  });

  it.each([
    ["no vmNamespace", undefined, "True"],
    ["the flag's vmNamespace", "maroonedpods-vms", "True"],
    ["another vmNamespace", "elsewhere", "False"],
  ])("%s: Applied %s", (_, vmNamespace, status) => {
    const applied = byType({ vmNamespace })[CONFIG_CONDITIONS.applied];
    expect(applied?.status).toBe(status);
    if (status === "False") {
      expect(applied).toMatchObject({ reason: REASONS.NotApplied });
      expect(applied?.message).toBe("spec.vmNamespace elsewhere is not applied: the controller runs with --vm-namespace=maroonedpods-vms, read once at start");
    }
  });
});
