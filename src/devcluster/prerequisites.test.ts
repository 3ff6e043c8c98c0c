import { describe, expect, it } from "vitest";
import { goProblem, lastLine, parseGoVersion, runTool } from "./prerequisites.ts";

describe("parseGoVersion", () => {
  it.each([
    ["go1.26.8", { major: 1, minor: 26 }],
    ["go1.25\n", { major: 1, minor: 25 }],
    ["go1.25rc1", { major: 1, minor: 25 }],
    ["devel go1.27-abcdef", undefined],
    ["", undefined],
  ])("%j → %j", (text, expected) => {
    expect(parseGoVersion(text)).toEqual(expected);
  });
});

describe("goProblem", () => {
  const ok = (stdout: string) => ({ status: 0, stdout, stderr: "" });
  const minimum = { major: 1, minor: 25 };

  it("accepts the minimum and later", () => {
    expect(goProblem(ok("go1.25.0\n"), minimum)).toBeUndefined();
    expect(goProblem(ok("go1.26.8\n"), minimum)).toBeUndefined();
    expect(goProblem(ok("go2.0\n"), minimum)).toBeUndefined();
    expect(goProblem(ok("go1.25.9\n"), { major: 1, minor: 26 })).toContain("too old");
  });

  it.each([
    ["a missing go", { status: null, stdout: "", stderr: "spawn go ENOENT" }, "no Go toolchain on PATH (go env GOVERSION: spawn go ENOENT)"],
    ["Debian bookworm's go", ok("go1.19.8\n"), "Go go1.19.8 is too old"],
    ["an unreadable version", ok("devel\n"), 'cannot read the Go version from "devel"'],
  ])("names %s on one line with the fix", (_, run, message) => {
    const problem = goProblem(run, minimum) ?? "";
    expect(problem).toContain(message);
    expect(problem).toMatch(/: install Go >= 1\.25 from https:\/\/go\.dev\/dl\/ and put its bin\/ on PATH$/);
    expect(problem).not.toContain("\n");
  });
});

describe("runTool", () => {
  it("captures a command's output and status", async () => {
    expect(await runTool("sh", ["-c", "echo out; echo err >&2; exit 3"])).toEqual({ status: 3, stdout: "out\n", stderr: "err\n" });
  });

  it("kills a command that outlives its timeout, with status null", async () => {
    const started = Date.now();
    expect((await runTool("sleep", ["30"], process.env, 200)).status).toBeNull();
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("resolves with status null for a command that is not there", async () => {
    const run = await runTool("maroonedpods-no-such-command", []);
    expect(run.status).toBeNull();
    expect(run.stderr).toContain("ENOENT");
  });
});

it("lastLine keeps the last non-empty line", () => {
  expect(lastLine("warning\nERROR: no such version\n\n")).toBe("ERROR: no such version");
  expect(lastLine("")).toBe("");
});
