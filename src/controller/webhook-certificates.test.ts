import { generateKeyPairSync, X509Certificate } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { createCertificateAuthority, issueCertificate, type IssuedCertificate } from "../pki/certificates.ts";
import { nextWebhookCertificateStep, SECRET_KEYS, serviceDnsNames, splitPemCertificates, type SecretData, type WebhookCertificateState } from "./webhook-certificates.ts";

const DAY = 86_400_000;
const dnsNames = serviceDnsNames("maroonedpods-webhook", "maroonedpods-system");
const ipAddresses = ["127.0.0.1", "::1"];

/** The certificate as bundles hold it: newline-terminated. */
const pem = (issued: IssuedCertificate): string => `${issued.certPem.trim()}\n`;
const caSecret = (ca: IssuedCertificate, ...older: IssuedCertificate[]): SecretData => ({
  [SECRET_KEYS.cert]: pem(ca),
  [SECRET_KEYS.key]: ca.keyPem,
  [SECRET_KEYS.caBundle]: [ca, ...older].map(pem).join(""),
});
const servingSecret = (serving: IssuedCertificate): SecretData => ({ [SECRET_KEYS.cert]: serving.certPem, [SECRET_KEYS.key]: serving.keyPem });
const serve = (ca: IssuedCertificate, names: { dnsNames?: string[]; ipAddresses?: string[] } = {}, days = 30) =>
  issueCertificate(ca, { commonName: "maroonedpods-webhook", dnsNames: names.dnsNames ?? dnsNames, ipAddresses: names.ipAddresses ?? ipAddresses, usage: "server", validForDays: days });

let ca: IssuedCertificate;
let serving: IssuedCertificate;
let now: number;
const state = (overrides: Partial<WebhookCertificateState>): WebhookCertificateState => ({
  now, caSecret: caSecret(ca), servingSecret: servingSecret(serving), caBundles: [pem(ca)], dnsNames, ipAddresses, ...overrides,
});

beforeAll(async () => {
  now = Date.now();
  ca = await createCertificateAuthority("test-webhook-ca", 90);
  serving = await serve(ca);
});

describe("nextWebhookCertificateStep", () => {
  it("makes a CA first when there is none, keeping nothing", () => {
    expect(nextWebhookCertificateStep(state({ caSecret: undefined, servingSecret: undefined, caBundles: undefined }))).toEqual({
      kind: "rotateCa", reason: "CA Secret missing", keep: "",
    });
  });

  it("puts a new CA into every webhook's caBundle before issuing from it", () => {
    const step = nextWebhookCertificateStep(state({ servingSecret: undefined, caBundles: [pem(ca), ""] }));
    expect(step).toEqual({ kind: "patchCaBundle", bundle: pem(ca) });
  });

  it("issues the serving pair once the caBundle holds the CA, or when no configuration exists yet", () => {
    for (const caBundles of [[pem(ca), pem(ca)], undefined]) {
      expect(nextWebhookCertificateStep(state({ servingSecret: undefined, caBundles }))).toEqual({
        kind: "issueServing", reason: "serving Secret missing", caCertPem: pem(ca), caKeyPem: ca.keyPem,
      });
    }
  });

  it("is up to date with a fresh CA, matching bundle and serving pair, and reports both expiries", () => {
    expect(nextWebhookCertificateStep(state({}))).toEqual({
      kind: "upToDate",
      caNotAfter: new X509Certificate(pem(ca)).validToDate.getTime(),
      servingNotAfter: new X509Certificate(serving.certPem).validToDate.getTime(),
    });
  });

  it("rotates the CA past two thirds of its life and keeps trusting the old one until it expires", async () => {
    const aged = now + 61 * DAY;
    const step = nextWebhookCertificateStep(state({ now: aged }));
    expect(step).toEqual({ kind: "rotateCa", reason: "CA past two thirds of its lifetime", keep: pem(ca) });

    // Made "at" the aged moment: its life is long enough that it is fresh then.
    const next = await createCertificateAuthority("test-webhook-ca", 365);
    const rotated = { caSecret: caSecret(next, ca), now: aged };
    expect(nextWebhookCertificateStep(state(rotated))).toEqual({ kind: "patchCaBundle", bundle: pem(next) + pem(ca) });
    expect(nextWebhookCertificateStep(state({ ...rotated, caBundles: [pem(next) + pem(ca)] }))).toMatchObject({
      kind: "issueServing", reason: "serving certificate past two thirds of its lifetime",
    });
    const fresh = { ...rotated, now, caBundles: [pem(next) + pem(ca)] };
    expect(nextWebhookCertificateStep(state(fresh))).toMatchObject({ kind: "issueServing", reason: "serving certificate not signed by the newest CA", caCertPem: pem(next) });

    const oldExpired = { caSecret: caSecret(next, ca), now: now + 91 * DAY, caBundles: [pem(next) + pem(ca)] };
    expect(nextWebhookCertificateStep(state(oldExpired))).toEqual({ kind: "patchCaBundle", bundle: pem(next) });
  });

  it("replaces an expired CA without keeping it", () => {
    expect(nextWebhookCertificateStep(state({ now: now + 91 * DAY }))).toEqual({ kind: "rotateCa", reason: "CA past two thirds of its lifetime", keep: "" });
  });

  it("replaces a CA Secret it cannot use, keeping its CA certificates that are still valid", async () => {
    const other = await createCertificateAuthority("other", 90);
    const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    const cases: [SecretData, string, string][] = [
      [{ [SECRET_KEYS.cert]: "garbage", [SECRET_KEYS.key]: "garbage" }, "CA certificate missing or unparseable", ""],
      [{ [SECRET_KEYS.cert]: pem(ca) }, "CA key missing", pem(ca)],
      [{ [SECRET_KEYS.cert]: pem(ca), [SECRET_KEYS.key]: "garbage" }, "CA key unparseable", pem(ca)],
      [{ [SECRET_KEYS.cert]: pem(ca), [SECRET_KEYS.key]: other.keyPem }, "CA key does not match the certificate", pem(ca)],
      [{ [SECRET_KEYS.cert]: pem(ca), [SECRET_KEYS.key]: rsa }, "CA key is not ECDSA P-256", pem(ca)],
      [{ [SECRET_KEYS.cert]: serving.certPem, [SECRET_KEYS.key]: serving.keyPem }, "CA certificate is not a CA", ""],
    ];
    for (const [data, reason, keep] of cases) {
      expect(nextWebhookCertificateStep(state({ caSecret: data })), reason).toEqual({ kind: "rotateCa", reason, keep });
    }
  });

  it("reissues a serving pair that is broken, aging, for other names or from another CA", async () => {
    const other = await createCertificateAuthority("other", 90);
    const cases: [SecretData, string][] = [
      [{ [SECRET_KEYS.cert]: "garbage", [SECRET_KEYS.key]: serving.keyPem }, "serving certificate missing or unparseable"],
      [{ [SECRET_KEYS.cert]: serving.certPem }, "serving key missing"],
      [{ [SECRET_KEYS.cert]: serving.certPem, [SECRET_KEYS.key]: other.keyPem }, "serving key does not match the certificate"],
      [servingSecret(await serve(ca, { ipAddresses: ["127.0.0.1"] })), "serving certificate names differ from the wanted ones"],
      [servingSecret(await serve(ca, { dnsNames: [...dnsNames, "extra.example"] })), "serving certificate names differ from the wanted ones"],
      [servingSecret(await serve(other)), "serving certificate not signed by the newest CA"],
      [servingSecret(await serve(ca, {}, 3)), "serving certificate past two thirds of its lifetime"],
    ];
    for (const [data, reason] of cases) {
      const step = nextWebhookCertificateStep(state({ servingSecret: data, now: now + 2 * DAY + 60_000 }));
      expect(step, reason).toMatchObject({ kind: "issueServing", reason });
    }
  });

  it("compares IPv6 SANs by address, not spelling", () => {
    expect(nextWebhookCertificateStep(state({ ipAddresses: ["127.0.0.1", "0:0::1"] })).kind).toBe("upToDate");
  });
});

describe("serviceDnsNames", () => {
  it("lists every name the API server may resolve the Service by", () => {
    expect(serviceDnsNames("hook", "sys")).toEqual(["hook", "hook.sys", "hook.sys.svc", "hook.sys.svc.cluster.local"]);
  });
});

describe("splitPemCertificates", () => {
  it("returns each certificate once newline-terminated, ignoring text around them", () => {
    const body = ca.certPem.trim();
    expect(splitPemCertificates(`junk\n${body}\nmore junk${body}`)).toEqual([`${body}\n`, `${body}\n`]);
    expect(splitPemCertificates("garbage")).toEqual([]);
  });
});
