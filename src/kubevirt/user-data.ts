import type { V1VirtualMachineInstance } from "@kubevirt-ui-ext/kubevirt-api/kubevirt";

/** Where a VMI's cloud-init user data lives: inline, or in a Secret of the VMI's namespace. */
export type UserDataSource = { kind: "inline"; userData: string } | { kind: "secret"; secretName: string } | { kind: "none" };

export function userDataSourceOf(vmi: V1VirtualMachineInstance): UserDataSource {
  for (const volume of vmi.spec.volumes ?? []) {
    const source = volume.cloudInitNoCloud ?? volume.cloudInitConfigDrive;
    if (!source) continue;
    const secretName = source.secretRef?.name;
    if (secretName) return { kind: "secret", secretName };
    if (source.userData) return { kind: "inline", userData: source.userData };
    if (source.userDataBase64) return { kind: "inline", userData: Buffer.from(source.userDataBase64, "base64").toString("utf8") };
  }
  return { kind: "none" };
}

/** KubeVirt reads the user data from these Secret keys, in this order. */
export const USER_DATA_SECRET_KEYS = ["userdata", "userData"] as const;

export function userDataFromSecret(data: Readonly<Record<string, string>> | undefined): string | undefined {
  for (const key of USER_DATA_SECRET_KEYS) {
    const encoded = data?.[key];
    if (encoded !== undefined) return Buffer.from(encoded, "base64").toString("utf8");
  }
  return undefined;
}
