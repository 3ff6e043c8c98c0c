import type { V1Volume, V1VirtualMachineInstance } from "@kubevirt-ui-ext/kubevirt-api/kubevirt";
import { describe, expect, it } from "vitest";
import { userDataFromSecret, userDataSourceOf, writtenFileContent, type UserDataSource } from "./cloud-init.ts";

const b64 = (text: string): string => Buffer.from(text, "utf8").toString("base64");

function vmiWith(volumes: V1Volume[] | undefined): V1VirtualMachineInstance {
  return { metadata: { name: "vm" }, spec: { domain: { devices: {} }, volumes } };
}

const rootDisk: V1Volume = { name: "root", containerDisk: { image: "quay.io/containerdisks/fedora:latest" } };

describe("userDataSourceOf", () => {
  it.each<[string, V1Volume[] | undefined, UserDataSource]>([
    ["inline noCloud userData", [rootDisk, { name: "ci", cloudInitNoCloud: { userData: "#cloud-config\na: 1\n" } }], { kind: "inline", userData: "#cloud-config\na: 1\n" }],
    ["inline noCloud userDataBase64, decoded", [{ name: "ci", cloudInitNoCloud: { userDataBase64: b64("#cloud-config\né: 1\n") } }], { kind: "inline", userData: "#cloud-config\né: 1\n" }],
    ["a noCloud secretRef", [{ name: "ci", cloudInitNoCloud: { secretRef: { name: "user-data" } } }], { kind: "secret", secretName: "user-data" }],
    ["inline configDrive userData", [{ name: "ci", cloudInitConfigDrive: { userData: "#cloud-config\n" } }], { kind: "inline", userData: "#cloud-config\n" }],
    ["inline configDrive userDataBase64", [{ name: "ci", cloudInitConfigDrive: { userDataBase64: b64("#!/bin/sh\n") } }], { kind: "inline", userData: "#!/bin/sh\n" }],
    ["a configDrive secretRef", [{ name: "ci", cloudInitConfigDrive: { secretRef: { name: "cd-data" } } }], { kind: "secret", secretName: "cd-data" }],
    ["no volumes at all", undefined, { kind: "none" }],
    ["no cloud-init volume", [rootDisk], { kind: "none" }],
    ["a cloud-init volume with network data only", [{ name: "ci", cloudInitNoCloud: { networkData: "version: 2\n" } }], { kind: "none" }],
    ["a secretRef with an empty name", [{ name: "ci", cloudInitNoCloud: { secretRef: { name: "" } } }], { kind: "none" }],
  ])("%s", (_name, volumes, expected) => {
    expect(userDataSourceOf(vmiWith(volumes))).toEqual(expected);
  });
});

describe("userDataFromSecret", () => {
  it.each<[string, Record<string, string> | undefined, string | undefined]>([
    ["key userdata", { userdata: b64("#cloud-config\nlower: 1\n") }, "#cloud-config\nlower: 1\n"],
    ["key userData", { userData: b64("#cloud-config\ncamel: 1\n") }, "#cloud-config\ncamel: 1\n"],
    ["userdata before userData", { userData: b64("camel"), userdata: b64("lower") }, "lower"],
    ["an empty userdata value over a userData one", { userdata: "", userData: b64("camel") }, ""],
    ["UTF-8 content", { userdata: b64("#cloud-config\n# héllo ✓\n") }, "#cloud-config\n# héllo ✓\n"],
    ["neither key", { networkdata: b64("version: 2\n") }, undefined],
    ["no data", undefined, undefined],
  ])("%s", (_name, data, expected) => {
    expect(userDataFromSecret(data)).toBe(expected);
  });
});

describe("writtenFileContent", () => {
  const path = "/etc/maroonedpods/join.yaml";
  const cloudConfig = (entries: string): string => `#cloud-config\nwrite_files:\n${entries}`;

  it.each<[string, string, ReturnType<typeof writtenFileContent>]>([
    ["plain content", cloudConfig(`  - path: ${path}\n    content: "hello\\n"\n`), { ok: true, content: "hello\n" }],
    ["a text/plain encoding", cloudConfig(`  - path: ${path}\n    encoding: text/plain\n    content: hi\n`), { ok: true, content: "hi" }],
    ["a b64 encoding", cloudConfig(`  - path: ${path}\n    encoding: b64\n    content: ${b64("token: abc\n")}\n`), { ok: true, content: "token: abc\n" }],
    ["a base64 encoding", cloudConfig(`  - path: ${path}\n    encoding: base64\n    content: ${b64("x=1")}\n`), { ok: true, content: "x=1" }],
    [
      "the entry for the path among others",
      cloudConfig(`  - path: /etc/other\n    content: other\n  - path: ${path}\n    content: mine\n`),
      { ok: true, content: "mine" },
    ],
    [
      "an unsupported encoding",
      cloudConfig(`  - path: ${path}\n    encoding: gzip\n    content: abc\n`),
      { ok: false, error: `write_files entry for ${path} has unsupported encoding "gzip"` },
    ],
    ["no entry for the path", cloudConfig(`  - path: /etc/other\n    content: other\n`), { ok: false, error: `write_files has no entry for ${path}` }],
    ["an entry without content", cloudConfig(`  - path: ${path}\n    permissions: "0600"\n`), { ok: false, error: `write_files entry for ${path} has no content` }],
    ["a shell script", "#!/bin/sh\necho hi\n", { ok: false, error: "user data is not #cloud-config" }],
    ["cloud-config not on the first line", `\n#cloud-config\nwrite_files: []\n`, { ok: false, error: "user data is not #cloud-config" }],
    ["no write_files", "#cloud-config\nruncmd: [true]\n", { ok: false, error: "user data has no write_files" }],
    ["an empty document", "#cloud-config\n", { ok: false, error: "user data has no write_files" }],
    ["write_files that is not a list", "#cloud-config\nwrite_files: {}\n", { ok: false, error: "user data has no write_files" }],
  ])("%s", (_name, userData, expected) => {
    expect(writtenFileContent(userData, path)).toEqual(expected);
  });

  it.each([
    ["an unclosed flow sequence", "#cloud-config\nwrite_files: [\n"],
    ["a duplicate key", "#cloud-config\nwrite_files: []\nwrite_files: []\n"],
  ])("reports invalid YAML (%s) on one line", (_name, userData) => {
    const result = writtenFileContent(userData, path);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error).toMatch(/^user data is not valid YAML: \S/);
    expect(result.error).not.toContain("\n");
  });
});
