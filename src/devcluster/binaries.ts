import { spawn } from "node:child_process";
import { access, constants } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import type { Logger } from "pino";
import { requireGo } from "./prerequisites.ts";
import { CONTROL_PLANE_BINARIES, binaryDirectory, type ControlPlaneBinary, type ControlPlaneVersions } from "./versions.ts";

const BUILD_SCRIPT = fileURLToPath(new URL("../../scripts/build-control-plane.sh", import.meta.url));

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
    await requireGo();
    options.logger.info({ directory, missing }, "building control-plane binaries from their Go modules (first run only)");
    await runBuildScript(directory, options.versions, options.logger);
    const stillMissing = await missingBinaries(directory);
    if (stillMissing.length > 0) throw new Error(`control-plane build finished but ${stillMissing.join(", ")} is missing in ${directory}`);
  }
  return Object.fromEntries(CONTROL_PLANE_BINARIES.map((name) => [name, join(directory, name)])) as BinaryPaths;
}

function runBuildScript(directory: string, versions: ControlPlaneVersions, logger: Logger): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", [BUILD_SCRIPT], {
      stdio: ["ignore", "inherit", "inherit"],
      env: {
        ...process.env,
        KUBERNETES_VERSION: versions.kubernetes,
        ETCD_VERSION: versions.etcd,
        KWOK_VERSION: versions.kwok,
        OUT_DIR: directory,
      },
    });
    child.on("error", (error) => {
      reject(new Error(`cannot run ${BUILD_SCRIPT}: ${error.message} (is bash installed?)`));
    });
    child.on("exit", (code, signal) => {
      if (code === 0) {
        logger.info({ directory }, "control-plane binaries built");
        resolve();
      } else {
        reject(new Error(`building the control-plane binaries failed (${signal ?? `exit ${code}`}); see the output above. ` +
          "It needs Go >= 1.25 on PATH and access to the Go module proxy."));
      }
    });
  });
}
