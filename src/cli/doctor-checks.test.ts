import { describe, expect, it } from "vitest";
import { clusterKindCheck, renderChecks, versionCheck, warmPoolCheck } from "./doctor-checks.ts";

describe("doctor checks decided on plain data", () => {
  it.each([
    ["v1.35.4", true],
    ["v1.30.0", true],
    ["v1.29.9", false],
    ["v1.31.2+k3s1", true],
    ["garbage", false],
  ])("Kubernetes %s passes: %s", (version, ok) => {
    expect(versionCheck(version).ok).toBe(ok);
  });

  it.each([
    ["v1.35.4+k3s1", "k3s", true],
    ["v1.35.4+rke2r1", "k3s", true],
    ["v1.35.4", "kubeadm", true],
    ["v1.35.4", "k3s", false],
    ["v1.35.4+k3s1", "kubeadm", false],
  ])("cluster %s with joinMethod %s passes: %s", (version, joinMethod, ok) => {
    const result = clusterKindCheck(version, joinMethod);
    expect(result.ok).toBe(ok);
    if (!ok) expect(result.detail).toMatch(/set spec\.joinMethod: (k3s|kubeadm)/);
  });

  it("renders a table with pass/FAIL", () => {
    const table = renderChecks([versionCheck("v1.35.4"), clusterKindCheck("v1.35.4", "k3s")]);
    expect(table.split("\n")[0]).toMatch(/^CHECK\s+RESULT\s+DETAIL$/);
    expect(table).toMatch(/Kubernetes >= 1\.30\s+pass\s+v1\.35\.4/);
    expect(table).toMatch(/cluster kind matches joinMethod\s+FAIL\s+/);
  });
});

describe("warmPoolCheck", () => {
  it.each<[string, number, Parameters<typeof warmPoolCheck>[1], boolean | undefined]>([
    ["the pool off: no check", 0, undefined, undefined],
    ["not reported yet", 2, undefined, false],
    ["some available", 2, { desired: 2, booting: 1, available: 1, claimed: 3 }, true],
    ["none available", 2, { desired: 2, booting: 2, available: 0, claimed: 0 }, false],
  ])("%s", (_, size, status, ok) => {
    expect(warmPoolCheck(size, status)?.ok).toBe(ok);
  });
});
