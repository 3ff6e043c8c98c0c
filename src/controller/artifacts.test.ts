import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { NODE_POD_UID_LABEL, NODE_VM_LABEL } from "../api/names.ts";
import type { JoinInfo } from "../joininfo/join-info.ts";
import {
  joinInfoFor,
  mintToken,
  renderCloudConfig,
  tokenSecret,
  tokenString,
  USER_DATA_SECRET_KEY,
  userDataSecret,
  virtualMachineInstance,
  vmNameFor,
} from "./artifacts.ts";
import { actionsOf, countingBytes, defaultConfig, makeObserved, makePod, NOW, POD_UID, writeFilesOf, writtenJoinInfo } from "./fixtures.test-support.ts";
import { decideLaunch } from "./launch.ts";

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const fill = (byte: number) => (n: number) => new Uint8Array(n).fill(byte);

describe("mintToken", () => {
  it.each<[string, (n: number) => Uint8Array, { id: string; secret: string }]>([
    ["zero bytes", fill(0), { id: "aaaaaa", secret: "aaaaaaaaaaaaaaaa" }],
    ["0xff bytes wrap around the alphabet", fill(255), { id: "dddddd", secret: "dddddddddddddddd" }],
    ["byte 35 is the last character", fill(35), { id: "999999", secret: "9999999999999999" }],
    ["counting bytes", countingBytes(), { id: "abcdef", secret: "ghijklmnopqrstuv" }],
    ["counting bytes past the alphabet", countingBytes(30), { id: "456789", secret: "abcdefghijklmnop" }],
  ])("%s", (_, bytes, token) => {
    expect(mintToken(bytes)).toEqual(token);
  });

  it("draws 6 then 16 bytes", () => {
    const sizes: number[] = [];
    mintToken((n) => {
      sizes.push(n);
      return new Uint8Array(n);
    });
    expect(sizes).toEqual([6, 16]);
  });

  it("matches the bootstrap token format with real randomness", () => {
    for (let i = 0; i < 50; i++) {
      const token = mintToken((n) => randomBytes(n));
      expect(token.id).toMatch(/^[a-z0-9]{6}$/);
      expect(token.secret).toMatch(/^[a-z0-9]{16}$/);
      expect(tokenString(token)).toMatch(/^[a-z0-9]{6}\.[a-z0-9]{16}$/);
    }
  });
});

describe("vmNameFor", () => {
  it.each<[string, string, string]>([
    ["the default prefix", "marooned-", POD_UID],
    ["a prefix without a dash", "mp", POD_UID],
    ["the longest prefix config allows", `${"p".repeat(26)}-`, POD_UID],
    ["an upper-case UID", "marooned-", POD_UID.toUpperCase()],
  ])("%s: a DNS label of at most 63 characters", (_, nodeNamePrefix, uid) => {
    const name = vmNameFor(defaultConfig({ nodeNamePrefix }), uid);
    expect(name).toBe(`${nodeNamePrefix}${uid.toLowerCase()}`);
    expect(name.length).toBeLessThanOrEqual(63);
    expect(name).toMatch(DNS_LABEL);
  });

  it("differs for different pods", () => {
    const config = defaultConfig();
    expect(vmNameFor(config, POD_UID)).not.toBe(vmNameFor(config, "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4e"));
  });
});

describe("renderCloudConfig", () => {
  const pod = { uid: POD_UID, namespace: "tenant-a", name: "web" };
  const joinInfo = joinInfoFor(pod, `marooned-${POD_UID}`, { id: "abcdef", secret: "0123456789abcdef" }, defaultConfig(), `sha256:${"0".repeat(64)}`);

  it("is a #cloud-config that only writes the join info, which round-trips", () => {
    const text = renderCloudConfig(joinInfo);
    expect(text.startsWith("#cloud-config\n")).toBe(true);
    expect(Object.keys(parse(text) as object)).toEqual(["write_files"]);
    expect(writeFilesOf(text)).toEqual([{ path: "/etc/marooned/join-info.yaml", permissions: "0600", owner: "root:root", content: expect.any(String) as unknown }]);
    expect(writtenJoinInfo(text)).toEqual({ ok: true, joinInfo });
  });

  it("puts the labels and taint the node registers with into the join info", () => {
    expect(joinInfo.labels).toEqual({ [NODE_POD_UID_LABEL]: POD_UID, [NODE_VM_LABEL]: `marooned-${POD_UID}` });
    expect(joinInfo.taints).toEqual([{ key: "maroonedpods.io/dedicated", value: POD_UID, effect: "NoSchedule" }]);
  });

  it.each([
    ["$(reboot)"],
    ["`reboot`"],
    ["${IFS}reboot"],
    ["'; reboot; echo '"],
    ['"; reboot; echo "'],
    ["x\nruncmd: [reboot]"],
    ["x\n  - path: /etc/cron.d/evil\n    content: '* * * * * root reboot'"],
    ["#!/bin/sh\nreboot"],
    ["--- \nruncmd: [reboot]"],
  ])("keeps %j as YAML data, never as commands", (value) => {
    const hostile: JoinInfo = { ...joinInfo, server_url: value, node_name: value, labels: { [NODE_POD_UID_LABEL]: value }, taints: [{ key: "k", value, effect: "NoSchedule" }] };
    const text = renderCloudConfig(hostile);
    const doc = parse(text) as Record<string, unknown>;
    expect(Object.keys(doc)).toEqual(["write_files"]);
    const files = writeFilesOf(text);
    expect(files.map((f) => f.path)).toEqual(["/etc/marooned/join-info.yaml"]);
    expect(parse(files[0]?.content ?? "")).toEqual(hostile);
  });

  it("for a pod named $(reboot): the name never reaches the guest, and stays data where it is kept", () => {
    const o = makeObserved({ pod: makePod({ name: "$(reboot)", namespace: "`reboot`" }) });
    const result = decideLaunch(o, countingBytes());
    const secrets = actionsOf(result, "createSecret").map((a) => a.secret);
    const userData = secrets.find((s) => s.type === "Opaque")?.stringData?.[USER_DATA_SECRET_KEY] ?? "";
    expect(userData).not.toContain("reboot");
    expect(writtenJoinInfo(userData).ok).toBe(true);
    expect(secrets.find((s) => s.type === "bootstrap.kubernetes.io/token")?.stringData?.description).toBe("MaroonedPods node join for pod `reboot`/$(reboot)");
  });
});

describe("the Secrets and the VMI", () => {
  const pod = { uid: POD_UID, namespace: "tenant-a", name: "web" };
  const token = { id: "abcdef", secret: "0123456789abcdef" };

  it("token Secret: expiration is now + TTL in RFC 3339 without fractions, groups joined", () => {
    const config = defaultConfig({ bootstrapTokenTtlMs: 90_000, bootstrapTokenGroups: ["system:bootstrappers:a", "system:bootstrappers:b"] });
    const secret = tokenSecret(pod, token, config, NOW + 123);
    expect(secret.stringData).toMatchObject({ expiration: "2025-06-01T12:01:30Z", "auth-extra-groups": "system:bootstrappers:a,system:bootstrappers:b" });
    expect(secret.metadata?.name).toBe("bootstrap-token-abcdef");
  });

  it("user-data Secret: in the configured VM namespace, keyed userdata", () => {
    const secret = userDataSecret(pod, "marooned-x", defaultConfig({ vmNamespace: "vms" }), "#cloud-config\n");
    expect(secret.metadata).toMatchObject({ name: "marooned-x-cloud-init", namespace: "vms" });
    expect(secret.stringData).toEqual({ userdata: "#cloud-config\n" });
  });

  it("joinInfoFor: follows joinMethod, endpoint and taint key prefix", () => {
    const config = defaultConfig({ joinMethod: "kubeadm", taintKeyPrefix: "example.com", apiServerEndpoint: "https://api.example.com:6443" });
    const info = joinInfoFor(pod, "vm", token, config, "sha256:x");
    expect(info).toMatchObject({ join_method: "kubeadm", server_url: "https://api.example.com:6443", taint_key: "example.com", token: "abcdef.0123456789abcdef", ca_cert_hash: "sha256:x" });
    expect(info.taints).toEqual([{ key: "example.com/dedicated", value: POD_UID, effect: "NoSchedule" }]);
  });

  it("VMI: sized as asked plus the guest reserve, whole vCPUs, no kernelBoot by default", () => {
    const vmi = virtualMachineInstance(pod, "vm", defaultConfig(), { cpuMillis: 2_250, memoryBytes: 3_328 * 1024 ** 2, guestCpus: 3 });
    expect(vmi.spec.domain).toMatchObject({ cpu: { cores: 3, sockets: 1, threads: 1 }, memory: { guest: "3584Mi" }, resources: { requests: { cpu: "2250m", memory: "3584Mi" } } });
    expect(vmi.spec.domain.firmware).toBeUndefined();
    expect(vmi.spec.terminationGracePeriodSeconds).toBe(0);
  });
});
