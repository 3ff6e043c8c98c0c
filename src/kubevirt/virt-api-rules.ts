import type { V1VirtualMachineInstance, V1CloudInitNoCloudSource, V1Probe } from "@kubevirt-ui-ext/kubevirt-api/kubevirt";

/** virt-api's limit for inline cloud-init data; larger data belongs in a Secret. */
export const CLOUD_INIT_INLINE_LIMIT_BYTES = 2048;

type CloudInitSource = Pick<V1CloudInitNoCloudSource, "userData" | "userDataBase64" | "networkData" | "networkDataBase64">;

function inlineLength(plain: string | undefined, base64: string | undefined): number {
  if (plain !== undefined && plain !== "") return Buffer.byteLength(plain, "utf8");
  if (base64 !== undefined && base64 !== "") return Buffer.from(base64, "base64").length;
  return 0;
}

function cloudInitErrors(field: string, source: CloudInitSource): string[] {
  const errors: string[] = [];
  if (inlineLength(source.userData, source.userDataBase64) > CLOUD_INIT_INLINE_LIMIT_BYTES) {
    errors.push(`${field} userdata exceeds ${CLOUD_INIT_INLINE_LIMIT_BYTES} byte limit. Should use UserDataSecretRef for larger data.`);
  }
  if (inlineLength(source.networkData, source.networkDataBase64) > CLOUD_INIT_INLINE_LIMIT_BYTES) {
    errors.push(`${field} networkdata exceeds ${CLOUD_INIT_INLINE_LIMIT_BYTES} byte limit. Should use NetworkDataSecretRef for larger data.`);
  }
  return errors;
}

function probeErrors(field: string, probe: V1Probe | undefined): string[] {
  if (!probe) return [];
  const handlers = [probe.exec, probe.httpGet, probe.tcpSocket, probe.guestAgentPing].filter((h) => h !== undefined);
  if (handlers.length === 0) return [`either ${field}.tcpSocket, ${field}.exec or ${field}.httpGet must be set if a ${field} is specified`];
  if (handlers.length > 1) return [`${field} must have exactly one probe type set`];
  return [];
}

/**
 * The VMI create rules that KubeVirt's virt-api enforces in its admission
 * webhook and the CRD schema cannot (KubeVirt v1.9.0). Each message names its field.
 */
export function validateVmiCreate(vmi: V1VirtualMachineInstance): string[] {
  const spec = vmi.spec;
  const errors: string[] = [];
  const volumes = spec.volumes ?? [];
  const volumeNames = new Set(volumes.map((v) => v.name));

  (spec.domain.devices.disks ?? []).forEach((disk, index) => {
    if (!volumeNames.has(disk.name)) {
      errors.push(`spec.domain.devices.disks[${index}].Name '${disk.name}' not found.`);
    }
  });

  let cloudInitVolumes = 0;
  volumes.forEach((volume, index) => {
    const field = `spec.volumes[${index}]`;
    if (volume.cloudInitNoCloud) {
      cloudInitVolumes++;
      errors.push(...cloudInitErrors(`${field}.cloudInitNoCloud`, volume.cloudInitNoCloud));
    }
    if (volume.cloudInitConfigDrive) {
      cloudInitVolumes++;
      errors.push(...cloudInitErrors(`${field}.cloudInitConfigDrive`, volume.cloudInitConfigDrive));
    }
  });
  if (cloudInitVolumes > 1) errors.push(`spec.volumes must have only one cloudInitNoCloud or cloudInitConfigDrive volume, found ${cloudInitVolumes}.`);

  const kernelBoot = spec.domain.firmware?.kernelBoot;
  if (kernelBoot) {
    const field = "spec.domain.firmware.kernelBoot";
    const container = kernelBoot.container;
    if (!container) {
      if (kernelBoot.kernelArgs) errors.push(`${field}.kernelArgs: kernel arguments cannot be provided without an external kernel`);
    } else {
      if (!container.image) errors.push(`${field}.container must be defined with an image`);
      if (!container.kernelPath && !container.initrdPath) errors.push(`${field}.container must be defined with at least one of the following: kernelPath, initrdPath`);
    }
  }

  errors.push(...probeErrors("spec.readinessProbe", spec.readinessProbe), ...probeErrors("spec.livenessProbe", spec.livenessProbe));
  return errors;
}
