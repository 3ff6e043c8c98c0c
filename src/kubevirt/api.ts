/** KubeVirt's VirtualMachineInstance API, as the controller, the install, doctor and the simulator address it. */
export const VMI_GROUP = "kubevirt.io";
export const VMI_VERSION = "v1";
export const VMI_PLURAL = "virtualmachineinstances";
export const VMI_CRD_NAME = `${VMI_PLURAL}.${VMI_GROUP}`;
