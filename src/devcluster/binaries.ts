import { spawn } from "node:child_process";
import { access, constants, mkdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import type { Logger } from "pino";
import { goToolPath, type GoTool } from "./go-tools.ts";
import { requireGo } from "./prerequisites.ts";
import { CONTROL_PLANE_BINARIES, MINIMUM_GO_VERSIONS, binaryDirectory, type ControlPlaneBinary, type ControlPlaneVersions } from "./versions.ts";

const BUILD_SCRIPT = fileURLToPath(new URL("../../scripts/build-control-plane.sh", import.meta.url));
const TOOL_SCRIPT = fileURLToPath(new URL("../../scripts/build-go-tool.sh", import.meta.url));

export type BinaryPaths = Readonly<Record<ControlPlaneBinary, string>>;

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export async function missingBinaries(directory: string): Promise<ControlPlaneBinary[]> {
  const missing: ControlPlaneBinary[] = [];
  for (const name of CONTROL_PLANE_BINARIES) {
    if (!(await isExecutable(join(directory, name)))) missing.push(name);
  }
  return missing;
}

/**
 * Returns the control-plane binaries, building the missing ones from their Go
 * modules first (after checking Go, so a missing or old one fails on one line
 * with the fix). A cold build takes tens of minutes on two cores; the output
 * is cached per version outside the repository.
 */
export async function ensureControlPlaneBinaries(options: {
  cacheRoot: string;
  versions: ControlPlaneVersions;
  logger: Logger;
}): Promise<BinaryPaths> {
  const directory = binaryDirectory(options.cacheRoot, options.versions);
  const missing = await missingBinaries(directory);
  if (missing.length > 0) {
    // Go is the one prerequisite of the build no registry ships: say so before a build fails half-way.
    await requireGo(MINIMUM_GO_VERSIONS.controlPlane);
    options.logger.info({ directory, missing }, "building control-plane binaries from their Go modules (first run only)");
    await runBuildScript(directory, options.versions, options.logger);
    const stillMissing = await missingBinaries(directory);
    if (stillMissing.length > 0) throw new Error(`control-plane build finished but ${stillMissing.join(", ")} is missing in ${directory}`);
  }
  return Object.fromEntries(CONTROL_PLANE_BINARIES.map((name) => [name, join(directory, name)])) as BinaryPaths;
}

function runBuildScript(directory: string, versions: ControlPlaneVersions, logger: Logger): Promise<void> {
  const env = { KUBERNETES_VERSION: versions.kubernetes, ETCD_VERSION: versions.etcd, KWOK_VERSION: versions.kwok, OUT_DIR: directory };
  return runScript(BUILD_SCRIPT, env, "the control-plane binaries", "It needs Go >= 1.25 on PATH and access to the Go module proxy.").then(() => {
    logger.info({ directory }, "control-plane binaries built");
  });
}

/** Runs a build script with its output on ours; rejects with `fix` when it fails. */
function runScript(script: string, env: Record<string, string>, what: string, fix: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", [script], { stdio: ["ignore", "inherit", "inherit"], env: { ...process.env, ...env } });
    child.on("error", (error) => {
      reject(new Error(`cannot run ${script}: ${error.message} (is bash installed?)`));
    });
    child.on("exit", (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`building ${what} failed (${signal ?? `exit ${String(code)}`}); see the output above. ${fix}`));
    });
  });
}

/**
 * Returns the path of a Go-built tool (helm, promtool), building it from its
 * module first when the cache has none of that version (a few minutes, once).
 */
export async function ensureGoTool(tool: GoTool, options: { cacheRoot: string; logger: Logger }): Promise<string> {
  const path = goToolPath(options.cacheRoot, tool);
  if (await isExecutable(path)) return path;
  await requireGo(MINIMUM_GO_VERSIONS.goTools);
  options.logger.info({ path }, `building ${tool.name} ${tool.version} from its Go module (first run only)`);
  await mkdir(dirname(path), { recursive: true });
  const env = { TOOL_MODULE: tool.module, TOOL_VERSION: tool.version, TOOL_PACKAGE: tool.pkg, TOOL_LDFLAGS: tool.ldflags, TOOL_TAGS: tool.tags.join(","), OUT_FILE: path };
  await runScript(TOOL_SCRIPT, env, `${tool.name} ${tool.version}`, `It needs Go >= ${MINIMUM_GO_VERSIONS.goTools.major}.${MINIMUM_GO_VERSIONS.goTools.minor} on PATH and access to the Go module proxy.`);
  if (!(await isExecutable(path))) throw new Error(`the ${tool.name} build finished but ${path} is missing`);
  return path;
}
