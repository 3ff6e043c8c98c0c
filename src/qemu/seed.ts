import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { V1VirtualMachineInstance } from "@kubevirt-ui-ext/kubevirt-api/kubevirt";
import { stringify } from "yaml";
import { userDataFromSecret, userDataSourceOf } from "../kubevirt/user-data.ts";
import { run } from "./exec.ts";
import { guestHostname } from "./network-plan.ts";

/** What a NoCloud seed holds, as KubeVirt's virt-launcher writes it for a cloudInitNoCloud volume. */
export interface SeedFiles {
  readonly userData: string;
  readonly metaData: string;
}

/** meta-data: the VMI's UID as instance-id (a new VMI is a new instance to cloud-init) and its hostname. */
export function metaDataFor(vmi: V1VirtualMachineInstance): string {
  return stringify({ "instance-id": vmi.metadata?.uid ?? vmi.metadata?.name ?? "", "local-hostname": guestHostname(vmi) });
}

/** The VMI's user data: inline, or from its Secret (keys userdata, then userData); empty without a cloud-init volume. */
export async function userDataFor(vmi: V1VirtualMachineInstance, readSecretData: (namespace: string, name: string) => Promise<Record<string, string> | undefined>): Promise<string> {
  const source = userDataSourceOf(vmi);
  if (source.kind === "inline") return source.userData;
  if (source.kind === "none") return "";
  const namespace = vmi.metadata?.namespace ?? "";
  const userData = userDataFromSecret(await readSecretData(namespace, source.secretName));
  if (userData === undefined) throw new Error(`Secret ${namespace}/${source.secretName} has no userdata or userData key`);
  return userData;
}

/** Writes user-data and meta-data into `dir` and makes the seed ISO of them (volume label cidata, as NoCloud looks for). */
export async function writeSeedIso(dir: string, files: SeedFiles): Promise<string> {
  const userData = join(dir, "user-data");
  const metaData = join(dir, "meta-data");
  const iso = join(dir, "seed.iso");
  await writeFile(userData, files.userData, { mode: 0o600 });
  await writeFile(metaData, files.metaData);
  await run("genisoimage", ["-quiet", "-output", iso, "-volid", "cidata", "-joliet", "-rock", userData, metaData]);
  return iso;
}
