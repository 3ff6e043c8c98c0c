import { describe, expect, it } from "vitest";
import { UsageError } from "./command.ts";
import { WEBHOOK_CERTIFICATE_OPTIONS, webhookCertificateSettings } from "./webhook-certificate-flags.ts";

const defaults = Object.fromEntries(Object.entries(WEBHOOK_CERTIFICATE_OPTIONS).map(([flag, spec]) => [flag, spec.default as string]));
const settings = (flags: Record<string, string>) => webhookCertificateSettings({ ...defaults, "manage-webhook-certificate": "true", ...flags }, "sys");

describe("webhookCertificateSettings", () => {
  it("is off unless asked for", () => {
    expect(webhookCertificateSettings(defaults, "sys")).toBeUndefined();
  });

  it("defaults to the project's names, a 10-year CA, 1-year serving certificates checked every minute", () => {
    expect(settings({})).toEqual({
      namespace: "sys",
      serviceName: "maroonedpods-webhook",
      configurationName: "maroonedpods-webhook",
      ipAddresses: [],
      caValidityMs: 87_600 * 3_600_000,
      certValidityMs: 8_760 * 3_600_000,
      checkIntervalMs: 60_000,
    });
  });

  it("takes IP SANs and short lifetimes", () => {
    expect(settings({ "webhook-cert-ip-sans": "127.0.0.1,::1", "webhook-ca-validity": "60s", "webhook-cert-validity": "20s", "webhook-cert-check-interval": "2s" }))
      .toMatchObject({ ipAddresses: ["127.0.0.1", "::1"], caValidityMs: 60_000, certValidityMs: 20_000, checkIntervalMs: 2_000 });
  });

  it.each([
    [{ "manage-webhook-certificate": "yes" }, "--manage-webhook-certificate: must be true or false"],
    [{ "webhook-service": "Bad_Name" }, '--webhook-service: "Bad_Name" is not a Service name'],
    [{ "webhook-configuration": "-x" }, '--webhook-configuration: "-x" is not an object name'],
    [{ "webhook-cert-ip-sans": "127.0.0.1,localhost" }, '--webhook-cert-ip-sans: "localhost" is not an IP address'],
    [{ "webhook-cert-ip-sans": "127.0.0.1," }, '--webhook-cert-ip-sans: "" is not an IP address'],
    [{ "webhook-ca-validity": "10y" }, '--webhook-ca-validity: "10y" is not a duration'],
    [{ "webhook-cert-validity": "100000h" }, "--webhook-cert-validity: must not exceed --webhook-ca-validity"],
    [{ "webhook-cert-validity": "2m", "webhook-cert-check-interval": "1m" }, "--webhook-cert-check-interval: must be above zero and at most a third of --webhook-cert-validity"],
    [{ "webhook-cert-check-interval": "0s" }, "--webhook-cert-check-interval: must be above zero"],
  ])("rejects %j", (flags, message) => {
    const call = () => settings(flags);
    expect(call).toThrow(UsageError);
    expect(call).toThrow(message);
  });
});
