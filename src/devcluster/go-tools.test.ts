import { describe, expect, it } from "vitest";
import { GO_TOOLS, goToolPath, prometheusRelease } from "./go-tools.ts";
import { GO_TOOL_VERSIONS } from "./versions.ts";

describe("the Go-built tools", () => {
  it("reads Prometheus's release from its Go module version", () => {
    expect(prometheusRelease("v0.316.0")).toBe("3.16.0");
    expect(prometheusRelease("v0.305.2")).toBe("3.5.2");
    expect(() => prometheusRelease("v3.16.0")).toThrow(/not a Prometheus module version/);
  });

  it("keys the cache by tool and version, so a new pin builds anew", () => {
    expect(goToolPath("/cache", GO_TOOLS.helm)).toBe(`/cache/tools/helm-${GO_TOOL_VERSIONS.helm}/helm`);
    expect(goToolPath("/cache", GO_TOOLS.promtool)).toBe(`/cache/tools/promtool-${GO_TOOL_VERSIONS.prometheus}/promtool`);
  });

  it("stamps each binary with the version it was built from", () => {
    expect(GO_TOOLS.helm.ldflags).toContain(`internal/version.version=${GO_TOOL_VERSIONS.helm}`);
    expect(GO_TOOLS.promtool.ldflags).toContain("common/version.Version=3.16.0");
  });
});
