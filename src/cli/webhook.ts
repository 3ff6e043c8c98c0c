import { DEFAULT_ADMISSION_SETTINGS, validateAdmissionSettings, type AdmissionSettings } from "../../webhook/settings.ts";
import { parseDurationMs, UsageError, type Command } from "./command.ts";
import { createCliLogger, LOGGING_OPTIONS } from "./logger.ts";
import { announceReadyUntilSignal } from "../util/signals.ts";

function parsePort(flag: string, text: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--${flag}: ${JSON.stringify(text)} is not a port number`);
  return port;
}

function settingsFrom(values: Readonly<Record<string, string | boolean | undefined>>): AdmissionSettings {
  const label = String(values["trigger-label"]);
  const separator = label.indexOf("=");
  if (separator <= 0) throw new UsageError(`--trigger-label: ${JSON.stringify(label)} is not KEY=VALUE`);
  const settings: AdmissionSettings = {
    ...DEFAULT_ADMISSION_SETTINGS,
    triggerLabel: { key: label.slice(0, separator), value: label.slice(separator + 1) },
    runtimeClassName: String(values["runtime-class"]),
  };
  const errors = validateAdmissionSettings(settings);
  if (errors.length > 0) throw new UsageError(errors.join("; "));
  return settings;
}

function required(values: Readonly<Record<string, string | boolean | undefined>>, flag: string): string {
  const value = values[flag];
  if (typeof value !== "string" || value === "") throw new UsageError(`--${flag} is required`);
  return value;
}

export const webhookCommand: Command = {
  name: "webhook",
  summary: "serve the mutating admission webhook that gates selected pods",
  description:
    "Serve the mutating admission webhook: on CREATE of a selected pod (trigger label or RuntimeClass) it adds the " +
    "scheduling gate, the cleanup finalizer and the managed label, nothing else. HTTPS for the API server, with the " +
    "certificate reloaded from disk when it changes; plain HTTP for /healthz, /readyz and /metrics.",
  options: {
    "tls-cert-file": { type: "string", valueName: "PATH", description: "serving certificate (PEM); required" },
    "tls-key-file": { type: "string", valueName: "PATH", description: "serving key (PEM); required" },
    "bind-address": { type: "string", default: "0.0.0.0", valueName: "ADDRESS", description: "address for the HTTPS admission endpoint" },
    port: { type: "string", default: "9443", valueName: "PORT", description: "HTTPS port (0 picks a free one)" },
    "ops-bind-address": { type: "string", default: "0.0.0.0", valueName: "ADDRESS", description: "address for /healthz, /readyz and /metrics" },
    "ops-port": { type: "string", default: "8080", valueName: "PORT", description: "port for /healthz, /readyz and /metrics" },
    "cert-reload-interval": { type: "string", default: "10s", valueName: "DURATION", description: "how often to look for a rotated certificate" },
    "trigger-label": { type: "string", default: "maroonedpods.io/maroon=true", valueName: "KEY=VALUE", description: "label that selects a pod" },
    "runtime-class": { type: "string", default: "marooned", valueName: "NAME", description: "RuntimeClass that selects a pod" },
    ...LOGGING_OPTIONS,
  },
  async run(values) {
    const settings = settingsFrom(values);
    const options = {
      settings,
      tls: { certFile: required(values, "tls-cert-file"), keyFile: required(values, "tls-key-file") },
      host: String(values["bind-address"]),
      port: parsePort("port", String(values.port)),
      opsHost: String(values["ops-bind-address"]),
      opsPort: parsePort("ops-port", String(values["ops-port"])),
      certReloadIntervalMs: parseDurationMs("cert-reload-interval", String(values["cert-reload-interval"])),
    };
    const logger = createCliLogger(String(values["log-format"]), String(values["log-level"])).child({ component: "webhook" });
    // Imported here, not above: the controller, which shares this program, never loads the admission server.
    const { startWebhook } = await import("../../webhook/server.ts");
    const webhook = await startWebhook({ ...options, logger });
    // One machine-readable line, so a supervisor or test knows the ports when it asked for free ones.
    await announceReadyUntilSignal(logger, JSON.stringify({ ready: true, port: webhook.port, opsPort: webhook.opsPort }));
    await webhook.stop();
    return 0;
  },
};
