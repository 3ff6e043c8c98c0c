import type { V1VirtualMachineInstance } from "@kubevirt-ui-ext/kubevirt-api/kubevirt";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { metaDataFor, userDataFor } from "./seed.ts";

const vmi = (spec: Partial<V1VirtualMachineInstance["spec"]>): V1VirtualMachineInstance => ({
  metadata: { name: "vm-a", namespace: "vms", uid: "1111-2222" },
  spec: { domain: { devices: {} }, ...spec },
});
const b64 = (text: string) => Buffer.from(text).toString("base64");

describe("metaDataFor", () => {
  it("carries the UID as instance-id and the hostname (spec.hostname, else the name)", () => {
    expect(parse(metaDataFor(vmi({})))).toEqual({ "instance-id": "1111-2222", "local-hostname": "vm-a" });
    expect(parse(metaDataFor(vmi({ hostname: "node-1" })))).toMatchObject({ "local-hostname": "node-1" });
  });
});

describe("userDataFor", () => {
  const noSecrets = () => Promise.resolve(undefined);

  it("takes inline user data", async () => {
    expect(await userDataFor(vmi({ volumes: [{ name: "ci", cloudInitNoCloud: { userData: "#cloud-config\n" } }] }), noSecrets)).toBe("#cloud-config\n");
  });

  it("reads the Secret a secretRef names, in the VMI's namespace", async () => {
    const read = (namespace: string, name: string) => Promise.resolve(namespace === "vms" && name === "ud" ? { userData: b64("#cloud-config\nx: 1\n") } : undefined);
    expect(await userDataFor(vmi({ volumes: [{ name: "ci", cloudInitNoCloud: { secretRef: { name: "ud" } } }] }), read)).toBe("#cloud-config\nx: 1\n");
  });

  it("says which Secret lacks the key", async () => {
    await expect(userDataFor(vmi({ volumes: [{ name: "ci", cloudInitNoCloud: { secretRef: { name: "ud" } } }] }), () => Promise.resolve({ other: "" }))).rejects.toThrow(
      "Secret vms/ud has no userdata or userData key",
    );
  });

  it("is empty without a cloud-init volume", async () => {
    expect(await userDataFor(vmi({}), noSecrets)).toBe("");
  });
});
