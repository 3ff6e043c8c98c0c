import type { V1Volume, V1VirtualMachineInstance } from "@kubevirt-ui-ext/kubevirt-api/kubevirt";
import { describe, expect, it } from "vitest";
import { userDataFromSecret, userDataSourceOf, type UserDataSource } from "./user-data.ts";

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
