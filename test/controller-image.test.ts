import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
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
const runtimeStage = instructions.slice(instructions.findLastIndex((i) => i.getKeyword() === "FROM"));
/** The runtime stage's COPY sources taken from the build context (not from another stage). */
const contextCopies = runtimeStage
  .filter((i) => i.getKeyword() === "COPY" && !i.getTextContent().includes("--from="))
  .map((i) => (i.getArgumentsContent() ?? "").split(/\s+/));
const ignored = readFileSync(join(ROOT, ".dockerignore"), "utf8").split("\n").filter((line) => line && !line.startsWith("#"));
const isIgnored = (path: string): boolean =>
  ignored.some((pattern) => (pattern.startsWith("**/*") ? path.endsWith(pattern.slice(4)) : path === pattern || path.startsWith(`${pattern}/`)));

/**
 * The image's file system without a container engine: the context files the
 * runtime stage copies (minus .dockerignore) and only the production
 * dependencies, so a runtime import of a dev dependency or of an uncopied file fails here.
 */
function stageImage(): string {
  const app = mkdtempSync(join(tmpdir(), "maroonedpods-image-"));
  for (const [...parts] of contextCopies) {
    const destination = parts.pop() ?? "";
    for (const source of parts) {
      // Destinations are relative to WORKDIR /app; a directory destination ends in "/".
      cpSync(join(ROOT, source), join(app, destination.endsWith("/") ? join(destination, basename(source)) : destination), {
        recursive: true,
        filter: (path) => !isIgnored(relative(ROOT, path)),
      });
    }
  }
  const production = execFileSync("npm", ["ls", "--omit=dev", "--all", "--parseable"], { cwd: ROOT, encoding: "utf8" })
    .split("\n")
    .filter((path) => path.includes("node_modules"));
  for (const path of production) cpSync(path, join(app, relative(ROOT, path)), { recursive: true, dereference: true });
  return app;
}

describe("the controller image (images/controller/Containerfile)", () => {
  let app = "";
  beforeAll(() => {
    app = stageImage();
  });
  afterAll(() => {
    rmSync(app, { recursive: true, force: true });
  });

  it("lints clean and runs as the non-root user the Deployments expect", () => {
    expect(validate(CONTAINERFILE)).toEqual([]);
    expect(runtimeStage.filter((i) => i.getKeyword() === "USER").map((i) => i.getArgumentsContent())).toEqual(["65532:65532"]);
    expect(CONTAINERFILE).toMatch(/npm ci --omit=dev --ignore-scripts/);
    expect(CONTAINERFILE).toMatch(/^ARG RUNTIME_IMAGE=gcr\.io\/distroless\/nodejs24-debian12:nonroot$/m);
  });

  it("copies sources that exist and leaves tests out", () => {
    for (const [...sources] of contextCopies.map((parts) => parts.slice(0, -1))) for (const source of sources) expect(existsSync(join(ROOT, source)), source).toBe(true);
    expect(existsSync(join(app, "src/controller/runtime.ts"))).toBe(true);
    expect(existsSync(join(app, "images/node/join-info.schema.json"))).toBe(true);
    expect(existsSync(join(app, "src/controller/launch.test.ts"))).toBe(false);
    expect(existsSync(join(app, "node_modules/vitest"))).toBe(false);
  });

  it("`make image` tags the image the deploy/ manifests run, at the package version", () => {
    const version = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;
    expect(PROJECT_VERSION).toBe(version);
    const result = spawnSync("make", ["--no-print-directory", "-n", "image", "ENGINE=podman"], { cwd: ROOT, encoding: "utf8" });
    expect(result.stdout.trim()).toBe(`podman build -f images/controller/Containerfile -t ${DEFAULT_IMAGE} .`);
  });

  it("the staged image serves the webhook", async () => {
    const tls = await writeLoopbackServingCertificate(app);
    const webhook = await startComponent("webhook", [`--tls-cert-file=${tls.certFile}`, `--tls-key-file=${tls.keyFile}`, "--bind-address=127.0.0.1", "--port=0", "--ops-bind-address=127.0.0.1", "--ops-port=0"], { cli: join(app, "bin/maroonedpods.js") });
    expect(await webhook.stop()).toBe(0);
  });

  it("the staged image loads every controller module (it stops only at the unreachable API server)", async () => {
    const closedPort = await freeLoopbackPort();
    const kubeconfig = join(app, "unreachable.kubeconfig");
    writeFileSync(kubeconfig, `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:${String(closedPort)}'}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\n`);
    const result = spawnSync(process.execPath, [join(app, "bin/maroonedpods.js"), "controller", `--kubeconfig=${kubeconfig}`, "--ops-port=0"], { encoding: "utf8", timeout: 30_000 });
    expect(result.stderr).not.toMatch(/ERR_MODULE_NOT_FOUND|Cannot find (module|package)/);
    expect(result.stderr).toMatch(/ECONNREFUSED/);
    expect(result.status).toBe(1);
  });
});
