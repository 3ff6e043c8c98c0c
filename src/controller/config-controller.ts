import { CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { REASONS } from "../api/conditions.ts";
import { createListWatchCache, type CachedObject } from "../kube/list-watch-cache.ts";
import { CONFIG_GROUP, CONFIG_NAME, CONFIG_PLURAL, CONFIG_VERSION, resolveConfig, type ConfigDefaults, type ControllerConfig, type MaroonedPodsConfigSpec } from "./config.ts";

/** Condition types on the MaroonedPodsConfig's status. */
export const CONFIG_CONDITIONS = {
  /** The spec resolves to a configuration; False keeps the last good one. */
  valid: "Valid",
  /** Every field is in use; False names one the controller cannot apply live (vmNamespace, a start flag). */
  applied: "Applied",
} as const;

interface ConfigObject {
  metadata?: CachedObject["metadata"] & { generation?: number };
  spec?: MaroonedPodsConfigSpec;
  status?: { observedGeneration?: number; conditions?: StatusCondition[] };
}

interface StatusCondition {
  type: string;
  status: "True" | "False";
  reason: string;
  message: string;
  observedGeneration?: number;
  lastTransitionTime?: string;
}

/** The conditions the controller reports for a config spec: pure, so what `kubectl get mpc` says is tested beside it. */
export function configConditions(spec: MaroonedPodsConfigSpec | undefined, defaults: ConfigDefaults): Omit<StatusCondition, "lastTransitionTime" | "observedGeneration">[] {
  const result = resolveConfig(spec, defaults);
  const valid = result.ok
    ? { type: CONFIG_CONDITIONS.valid, status: "True" as const, reason: "Accepted", message: "configuration in use for new VMs" }
    : { type: CONFIG_CONDITIONS.valid, status: "False" as const, reason: REASONS.InvalidConfig, message: result.errors.join("; ") };
  const vmNamespace = spec?.vmNamespace;
  const applied = vmNamespace !== undefined && vmNamespace !== defaults.vmNamespace
    ? { type: CONFIG_CONDITIONS.applied, status: "False" as const, reason: REASONS.NotApplied, message: `spec.vmNamespace ${vmNamespace} is not applied: the controller runs with --vm-namespace=${defaults.vmNamespace}, read once at start` }
    : { type: CONFIG_CONDITIONS.applied, status: "True" as const, reason: "Applied", message: "every field is in use" };
  return [valid, applied];
}

/**
 * Watches the `default` MaroonedPodsConfig: each change is resolved and, when valid, becomes the configuration the
 * phases decide with (an invalid one keeps the last good); its status says whether it took.
 */
export async function startConfigController(options: { kubeConfig: KubeConfig; logger: Logger; signal: AbortSignal; defaults: ConfigDefaults; onChange?: () => void }): Promise<() => ControllerConfig> {
  const { kubeConfig, logger, defaults } = options;
  const customObjects = kubeConfig.makeApiClient(CustomObjectsApi);
  const initial = resolveConfig(undefined, defaults);
  if (!initial.ok) throw new Error(`invalid defaults: ${initial.errors.join("; ")}`);
  let config = initial.config;

  const reportStatus = async (object: ConfigObject): Promise<void> => {
    const generation = object.metadata?.generation;
    const current = object.status?.conditions ?? [];
    const desired = configConditions(object.spec, defaults).map((c) => {
      const was = current.find((x) => x.type === c.type);
      return { ...c, observedGeneration: generation, lastTransitionTime: was?.status === c.status && was.lastTransitionTime ? was.lastTransitionTime : new Date().toISOString() };
    });
    const same = object.status?.observedGeneration === generation && desired.every((d) => current.some((c) => c.type === d.type && c.status === d.status && c.message === d.message));
    if (same) return;
    try {
      await customObjects.patchClusterCustomObjectStatus(
        { group: CONFIG_GROUP, version: CONFIG_VERSION, plural: CONFIG_PLURAL, name: CONFIG_NAME, body: { status: { observedGeneration: generation, conditions: desired } } },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      );
    } catch (error) {
      logger.warn({ err: error }, "could not report the configuration's status");
    }
  };
  const apply = (object: ConfigObject | undefined) => {
    const result = resolveConfig(object?.spec, defaults);
    if (result.ok) {
      config = result.config;
      options.onChange?.();
      logger.info({ vmNamespace: config.vmNamespace, joinMethod: config.joinMethod }, "configuration loaded");
    } else {
      logger.error({ errors: result.errors }, "MaroonedPodsConfig is invalid; keeping the previous configuration");
    }
    if (object) void reportStatus(object);
  };
  const cache = createListWatchCache<ConfigObject>({
    kubeConfig, logger, signal: options.signal, path: `/apis/${CONFIG_GROUP}/${CONFIG_VERSION}/${CONFIG_PLURAL}`, fieldSelector: `metadata.name=${CONFIG_NAME}`,
  });
  await cache.start({ onAdd: apply, onUpdate: (c) => { apply(c); }, onDelete: () => { apply(undefined); } });
  return () => config;
}
