import { join } from "node:path";
import { GO_TOOL_VERSIONS } from "./versions.ts";

/** How one tool is built from its Go module: `go build` of `pkg` at `version`, with these ldflags and tags. */
export interface GoTool {
  readonly name: string;
  readonly module: string;
  readonly version: string;
  readonly pkg: string;
  readonly ldflags: string;
  readonly tags: readonly string[];
}

/** Prometheus 3.16.0 from module version v0.316.0. */
export const prometheusRelease = (moduleVersion: string): string => {
  const [, minorPatch = "", patch = ""] = /^v0\.(\d+)\.(\d+)$/.exec(moduleVersion) ?? [];
  if (minorPatch.length < 3) throw new Error(`not a Prometheus module version: ${moduleVersion}`);
  return `${minorPatch.slice(0, -2)}.${String(Number(minorPatch.slice(-2)))}.${patch}`;
};

export const GO_TOOLS = {
  helm: {
    name: "helm",
    module: "helm.sh/helm/v3",
    version: GO_TOOL_VERSIONS.helm,
    pkg: "helm.sh/helm/v3/cmd/helm",
    // As helm's own Makefile: its version, and the Kubernetes version of its client-go (v0.37.0 in v3.22.0),
    // which `helm template` and `helm lint` assume for .Capabilities.KubeVersion.
    ldflags: [
      `-X helm.sh/helm/v3/internal/version.version=${GO_TOOL_VERSIONS.helm}`,
      "-X helm.sh/helm/v3/internal/version.gitTreeState=clean",
      ...["pkg/lint/rules", "pkg/chartutil"].flatMap((p) => [`-X helm.sh/helm/v3/${p}.k8sVersionMajor=1`, `-X helm.sh/helm/v3/${p}.k8sVersionMinor=37`]),
    ].join(" "),
    tags: [],
  },
  promtool: {
    name: "promtool",
    module: "github.com/prometheus/prometheus",
    version: GO_TOOL_VERSIONS.prometheus,
    pkg: "github.com/prometheus/prometheus/cmd/promtool",
    ldflags: `-X github.com/prometheus/common/version.Version=${prometheusRelease(GO_TOOL_VERSIONS.prometheus)}`,
    // No service-discovery plugins: promtool's rule checks and tests need none, and they are most of its build.
    tags: ["remove_all_sd"],
  },
} as const satisfies Record<string, GoTool>;

export type GoToolName = keyof typeof GO_TOOLS;

/** Each tool and version in a directory of its own under the control plane's cache root. */
export function goToolPath(cacheRoot: string, tool: GoTool): string {
  return join(cacheRoot, "tools", `${tool.name}-${tool.version}`, tool.name);
}
