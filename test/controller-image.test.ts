import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { DockerfileParser } from "dockerfile-ast";
import { validate } from "dockerfile-utils";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeLoopbackServingCertificate } from "../src/devcluster/admission.ts";
import { freeLoopbackPort } from "../src/devcluster/ports.ts";
import { DEFAULT_IMAGE, PROJECT_VERSION } from "../src/install/workloads.ts";
import { startComponent } from "./support/stack.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const CONTAINERFILE = readFileSync(join(ROOT, "images/controller/Containerfile"), "utf8");
const instructions = DockerfileParser.parse(CONTAINERFILE).getInstructions();
const runtimeFrom = instructions.findLastIndex((i) => i.getKeyword() === "FROM");
const buildStage = instructions.slice(0, runtimeFrom);
const runtimeStage = instructions.slice(runtimeFrom);
const copies = (stage: typeof instructions, fromBuild: boolean) =>
  stage
    .filter((i) => i.getKeyword() === "COPY" && i.getTextContent().includes("--from=build") === fromBuild)
    .map((i) => (i.getArgumentsContent() ?? "").split(/\s+/).filter((part) => !part.startsWith("--")));
const ignored = readFileSync(join(ROOT, ".dockerignore"), "utf8").split("\n").filter((line) => line && !line.startsWith("#"));
const isIgnored = (path: string): boolean =>
  ignored.some((pattern) => (pattern.startsWith("**/*") ? path.endsWith(pattern.slice(4)) : path === pattern || path.startsWith(`${pattern}/`)));

/**
 * COPY `sources... destination` (relative to WORKDIR /app) from one tree into another, as a container engine does: a
 * directory's contents go to the destination, a file into it when it ends in "/".
 */
function copyInto(from: string, to: string, parts: readonly string[], filter: (path: string) => boolean = () => true): void {
  const destination = parts.at(-1) ?? "";
  for (const source of parts.slice(0, -1)) {
    const intoDirectory = destination.endsWith("/") && !statSync(join(from, source)).isDirectory();
    cpSync(join(from, source), join(to, intoDirectory ? join(destination, basename(source)) : destination), { recursive: true, filter });
  }
}

/**
 * The image's file system without a container engine: the build stage's context files (minus .dockerignore, with
 * the repository's installed dependencies) bundled by the stage's own command, then only what the runtime stage
 * copies from it. A bundle that needs an uncopied source, or a runtime that needs anything but the bundle, fails here.
 */
function stageImage(): { build: string; app: string } {
  const build = mkdtempSync(join(tmpdir(), "maroonedpods-build-"));
  for (const parts of copies(buildStage, false)) copyInto(ROOT, build, parts, (path) => !isIgnored(relative(ROOT, path)));
  symlinkSync(join(ROOT, "node_modules"), join(build, "node_modules"));
  const bundling = spawnSync(process.execPath, [join(build, "scripts/bundle.ts")], { cwd: build, encoding: "utf8" });
  expect(bundling.status, bundling.stderr).toBe(0);
  const app = mkdtempSync(join(tmpdir(), "maroonedpods-image-"));
  for (const parts of copies(runtimeStage, true)) copyInto(build, app, parts.map((part, i) => (i < parts.length - 1 ? relative("/app", part) : part)));
  return { build, app };
}

describe("the controller image (images/controller/Containerfile)", () => {
  let staged = { build: "", app: "" };
  let app = "";
  beforeAll(() => {
    staged = stageImage();
    app = staged.app;
  });
  afterAll(() => {
    rmSync(staged.build, { recursive: true, force: true });
    rmSync(staged.app, { recursive: true, force: true });
  });

  it("lints clean and runs as the non-root user the Deployments expect", () => {
    expect(validate(CONTAINERFILE)).toEqual([]);
    expect(runtimeStage.filter((i) => i.getKeyword() === "USER").map((i) => i.getArgumentsContent())).toEqual(["65532:65532"]);
    expect(CONTAINERFILE).toMatch(/npm ci --ignore-scripts/);
    expect(CONTAINERFILE).toMatch(/^ARG RUNTIME_IMAGE=gcr\.io\/distroless\/nodejs24-debian12:nonroot$/m);
  });

  it("bundles from sources that exist, tests left out, and ships the bundle alone", () => {
    for (const parts of copies(buildStage, false)) for (const source of parts.slice(0, -1)) expect(existsSync(join(ROOT, source)), source).toBe(true);
    expect(existsSync(join(staged.build, "src/controller/runtime.ts"))).toBe(true);
    expect(existsSync(join(staged.build, "src/controller/launch.test.ts"))).toBe(false);
    expect(readdirSync(app).sort()).toEqual(["chunks", "maroonedpods.mjs"]);
    expect(runtimeStage.find((i) => i.getKeyword() === "ENTRYPOINT")?.getArgumentsContent()).toBe('["/nodejs/bin/node", "/app/maroonedpods.mjs"]');
  });

  it("`make image` tags the image the deploy/ manifests run, at the package version", () => {
    const version = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;
    expect(PROJECT_VERSION).toBe(version);
    const result = spawnSync("make", ["--no-print-directory", "-n", "image", "ENGINE=podman"], { cwd: ROOT, encoding: "utf8" });
    expect(result.stdout.trim()).toBe(`podman build -f images/controller/Containerfile -t ${DEFAULT_IMAGE} .`);
  });

  it("the staged image serves the webhook", async () => {
    const tls = await writeLoopbackServingCertificate(app);
    const webhook = await startComponent("webhook", [`--tls-cert-file=${tls.certFile}`, `--tls-key-file=${tls.keyFile}`, "--bind-address=127.0.0.1", "--port=0", "--ops-bind-address=127.0.0.1", "--ops-port=0"], { cli: join(app, "maroonedpods.mjs") });
    expect(await webhook.stop()).toBe(0);
  });

  it("the staged image loads every controller module (it stops only at the unreachable API server)", async () => {
    const closedPort = await freeLoopbackPort();
    const kubeconfig = join(app, "unreachable.kubeconfig");
    writeFileSync(kubeconfig, `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:${String(closedPort)}'}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\n`);
    const result = spawnSync(process.execPath, [join(app, "maroonedpods.mjs"), "controller", `--kubeconfig=${kubeconfig}`, "--ops-port=0"], { encoding: "utf8", timeout: 30_000 });
    expect(result.stderr).not.toMatch(/ERR_MODULE_NOT_FOUND|Cannot find (module|package)/);
    expect(result.stderr).toMatch(/ECONNREFUSED/);
    expect(result.status).toBe(1);
  });
});
