/** Set this annotation on a VMI (value = reason) and the simulator fails it, as if the guest crashed. */
export const INJECT_FAILURE_ANNOTATION = "simulator.kubevirt.maroonedpods.io/inject-failure";
export const SIMULATOR_COMPONENT = "kubevirt-simulator";
/**
 * Faults planned before a VMI exists: ConfigMap default/kubevirt-simulator-faults,
 * key failFirstVmiMatching, one `labelKey=value` per line. The first VMI carrying
 * that label fails while booting (before its guest joins); later ones boot.
 */
export const FAULTS_CONFIGMAP = { namespace: "default", name: "kubevirt-simulator-faults", key: "failFirstVmiMatching" } as const;
export const SIMULATED_HOST_NODE = "simulated-virt-host";

export const SIMULATOR_EVENT_REASONS = {
  GuestJoined: "GuestJoined",
  GuestJoinFailed: "GuestJoinFailed",
  InjectedFailure: "InjectedFailure",
} as const;
