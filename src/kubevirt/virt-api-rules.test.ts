import type { V1VirtualMachineInstance, V1VirtualMachineInstanceSpec } from "@kubevirt-ui-ext/kubevirt-api/kubevirt";
import { describe, expect, it } from "vitest";
import { CLOUD_INIT_INLINE_LIMIT_BYTES, validateVmiCreate } from "./virt-api-rules.ts";

const LIMIT = CLOUD_INIT_INLINE_LIMIT_BYTES;
const b64 = (text: string): string => Buffer.from(text, "utf8").toString("base64");

/** A VMI virt-api accepts: a container disk and a cloud-init disk, each backed by a volume. */
function validVmi(): V1VirtualMachineInstance {
  return {
    apiVersion: "kubevirt.io/v1",
    kind: "VirtualMachineInstance",
    metadata: { name: "vm", namespace: "default" },
    spec: {
      domain: {
        devices: { disks: [{ name: "root", disk: { bus: "virtio" } }, { name: "cloudinit", disk: { bus: "virtio" } }] },
        resources: { requests: { memory: "1Gi" } },
      },
      volumes: [
        { name: "root", containerDisk: { image: "quay.io/containerdisks/fedora:latest" } },
        { name: "cloudinit", cloudInitNoCloud: { userData: "#cloud-config\n" } },
      ],
    },
  };
}

function withSpec(mutate: (spec: V1VirtualMachineInstanceSpec) => void): V1VirtualMachineInstance {
  const vmi = validVmi();
  mutate(vmi.spec);
  return vmi;
}

/** Replaces the cloud-init volume (index 1) with another source. */
function withCloudInit(volume: Omit<NonNullable<V1VirtualMachineInstanceSpec["volumes"]>[number], "name">): V1VirtualMachineInstance {
  return withSpec((spec) => {
    spec.volumes = [spec.volumes?.[0] ?? { name: "root" }, { name: "cloudinit", ...volume }];
  });
}

const userDataTooLarge = (kind: string) => `spec.volumes[1].${kind} userdata exceeds ${LIMIT} byte limit. Should use UserDataSecretRef for larger data.`;
const networkDataTooLarge = (kind: string) => `spec.volumes[1].${kind} networkdata exceeds ${LIMIT} byte limit. Should use NetworkDataSecretRef for larger data.`;

describe("validateVmiCreate", () => {
  it("accepts a valid VMI", () => {
    expect(validateVmiCreate(validVmi())).toEqual([]);
  });

  describe.each(["cloudInitNoCloud", "cloudInitConfigDrive"] as const)("%s inline data", (kind) => {
    it.each([
      ["userData exactly at the limit", { userData: "x".repeat(LIMIT) }, []],
      ["userData one byte over", { userData: "x".repeat(LIMIT + 1) }, [userDataTooLarge(kind)]],
      ["userData measured in UTF-8 bytes, not characters", { userData: "é".repeat(LIMIT / 2 + 1) }, [userDataTooLarge(kind)]],
      ["userDataBase64 decoding to exactly the limit", { userDataBase64: b64("x".repeat(LIMIT)) }, []],
      ["userDataBase64 decoding to one byte over", { userDataBase64: b64("x".repeat(LIMIT + 1)) }, [userDataTooLarge(kind)]],
      ["networkData exactly at the limit", { networkData: "x".repeat(LIMIT) }, []],
      ["networkData one byte over", { networkData: "x".repeat(LIMIT + 1) }, [networkDataTooLarge(kind)]],
      ["networkDataBase64 decoding to one byte over", { networkDataBase64: b64("x".repeat(LIMIT + 1)) }, [networkDataTooLarge(kind)]],
      [
        "both userData and networkData over",
        { userData: "x".repeat(LIMIT + 1), networkData: "x".repeat(LIMIT + 1) },
        [userDataTooLarge(kind), networkDataTooLarge(kind)],
      ],
      ["a secretRef, never size-checked", { secretRef: { name: "big-user-data" } }, []],
      ["a secretRef and networkDataSecretRef", { secretRef: { name: "u" }, networkDataSecretRef: { name: "n" } }, []],
    ])("%s", (_name, source, expected) => {
      expect(validateVmiCreate(withCloudInit({ [kind]: source }))).toEqual(expected);
    });

    it("measures userDataBase64 by its decoded length, not its encoded length", () => {
      const encoded = b64("x".repeat(LIMIT));
      expect(encoded.length).toBeGreaterThan(LIMIT);
      expect(validateVmiCreate(withCloudInit({ [kind]: { userDataBase64: encoded } }))).toEqual([]);
    });
  });

  it.each<[string, (spec: V1VirtualMachineInstanceSpec) => void, string[]]>([
    [
      "a disk whose name matches no volume",
      (spec) => spec.domain.devices.disks?.push({ name: "ghost" }),
      ["spec.domain.devices.disks[2].Name 'ghost' not found."],
    ],
    [
      "two cloud-init volumes",
      (spec) => {
        spec.domain.devices.disks?.push({ name: "second" });
        spec.volumes?.push({ name: "second", cloudInitConfigDrive: { userData: "#cloud-config\n" } });
      },
      ["spec.volumes must have only one cloudInitNoCloud or cloudInitConfigDrive volume, found 2."],
    ],
    [
      "kernelBoot.kernelArgs without a container",
      (spec) => {
        spec.domain.firmware = { kernelBoot: { kernelArgs: "console=ttyS0" } };
      },
      ["spec.domain.firmware.kernelBoot.kernelArgs: kernel arguments cannot be provided without an external kernel"],
    ],
    [
      "a kernelBoot container without an image",
      (spec) => {
        spec.domain.firmware = { kernelBoot: { container: { image: "", kernelPath: "/boot/vmlinuz" } } };
      },
      ["spec.domain.firmware.kernelBoot.container must be defined with an image"],
    ],
    [
      "a kernelBoot container with neither kernelPath nor initrdPath",
      (spec) => {
        spec.domain.firmware = { kernelBoot: { container: { image: "quay.io/kernel:latest" } } };
      },
      ["spec.domain.firmware.kernelBoot.container must be defined with at least one of the following: kernelPath, initrdPath"],
    ],
    [
      "a kernelBoot container with no image and no paths",
      (spec) => {
        spec.domain.firmware = { kernelBoot: { container: { image: "" }, kernelArgs: "console=ttyS0" } };
      },
      [
        "spec.domain.firmware.kernelBoot.container must be defined with an image",
        "spec.domain.firmware.kernelBoot.container must be defined with at least one of the following: kernelPath, initrdPath",
      ],
    ],
    [
      "a readinessProbe with two handlers",
      (spec) => {
        spec.readinessProbe = { exec: { command: ["true"] }, tcpSocket: { host: "localhost" } };
      },
      ["spec.readinessProbe must have exactly one probe type set"],
    ],
    [
      "a livenessProbe with no handler",
      (spec) => {
        spec.livenessProbe = { periodSeconds: 10 };
      },
      ["either spec.livenessProbe.tcpSocket, spec.livenessProbe.exec or spec.livenessProbe.httpGet must be set if a spec.livenessProbe is specified"],
    ],
  ])("rejects %s", (_name, mutate, expected) => {
    const errors = validateVmiCreate(withSpec(mutate));
    expect(errors).toEqual(expected);
  });

  it.each<[string, (spec: V1VirtualMachineInstanceSpec) => void]>([
    ["kernelBoot with kernelPath only", (spec) => (spec.domain.firmware = { kernelBoot: { container: { image: "k:1", kernelPath: "/vmlinuz" }, kernelArgs: "quiet" } })],
    ["kernelBoot with initrdPath only", (spec) => (spec.domain.firmware = { kernelBoot: { container: { image: "k:1", initrdPath: "/initrd" } } })],
    ["an empty kernelBoot", (spec) => (spec.domain.firmware = { kernelBoot: {} })],
    ["a readinessProbe with one exec handler", (spec) => (spec.readinessProbe = { exec: { command: ["true"] } })],
    ["a livenessProbe with one guestAgentPing handler", (spec) => (spec.livenessProbe = { guestAgentPing: {} })],
    [
      "no volumes and no disks",
      (spec) => {
        spec.domain.devices.disks = [];
        delete spec.volumes;
      },
    ],
  ])("accepts %s", (_name, mutate) => {
    expect(validateVmiCreate(withSpec(mutate))).toEqual([]);
  });

  it("reports every problem, each naming its field", () => {
    const vmi = withSpec((spec) => {
      spec.domain.devices.disks?.push({ name: "ghost" });
      spec.volumes = [spec.volumes?.[0] ?? { name: "root" }, { name: "cloudinit", cloudInitConfigDrive: { userData: "x".repeat(LIMIT + 1) } }];
      spec.readinessProbe = {};
    });
    const errors = validateVmiCreate(vmi);
    expect(errors).toHaveLength(3);
    expect(errors[0]).toMatch(/^spec\.domain\.devices\.disks\[2\]\.Name /);
    expect(errors[1]).toMatch(/^spec\.volumes\[1\]\.cloudInitConfigDrive /);
    expect(errors[2]).toContain("spec.readinessProbe");
  });
});
