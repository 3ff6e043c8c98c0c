import { access, constants } from "node:fs/promises";
import { delimiter, join } from "node:path";
import { PREREQUISITES_FIX, REQUIRED_COMMANDS } from "./constants.ts";
import { PrerequisiteError } from "../devcluster/prerequisites.ts";
import type { NodeVmImage } from "./types.ts";

async function onPath(command: string, path: string): Promise<boolean> {
  for (const dir of path.split(delimiter).filter(Boolean)) {
    if (await access(join(dir, command), constants.X_OK).then(() => true, () => false)) return true;
  }
  return false;
}

async function missingToolsProblem(path: string): Promise<string | undefined> {
  const missing: string[] = [];
  for (const command of REQUIRED_COMMANDS) if (!(await onPath(command, path))) missing.push(command);
  return missing.length > 0 ? `missing ${missing.join(", ")}; install: ${PREREQUISITES_FIX}` : undefined;
}

/** Fails with one line naming every tool the runtime needs that is not on PATH, and the fix. */
export async function checkRuntimeTools(path = process.env.PATH ?? ""): Promise<void> {
  const problem = await missingToolsProblem(path);
  if (problem !== undefined) throw new PrerequisiteError(`the QEMU VM runtime cannot start: ${problem}`);
}

/** Fails before anything is set up, naming every missing tool and image file, with the fix. */
export async function checkPrerequisites(image: NodeVmImage, path = process.env.PATH ?? ""): Promise<void> {
  const problems: string[] = [];
  const tools = await missingToolsProblem(path);
  if (tools !== undefined) problems.push(tools);
  for (const [part, file] of Object.entries(image) as [string, string][]) {
    if (!(await access(file, constants.R_OK).then(() => true, () => false))) problems.push(`node VM image ${part} ${file} is not readable`);
  }
  if (problems.length > 0) throw new Error(`the QEMU VM runtime cannot start: ${problems.join("; ")}`);
}
