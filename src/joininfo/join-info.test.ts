import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { parseJoinInfo } from "./join-info.ts";

const valid = {
  version: 1,
  join_method: "k3s",
  server_url: "https://127.0.0.1:6443",
  token: "abcdef.0123456789abcdef",
  ca_cert_hash: `sha256:${"a".repeat(64)}`,
  node_name: "marooned-0f1e2d3c",
  pod_uid: "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
  taint_key: "maroonedpods.io",
  labels: { "maroonedpods.io/pod-uid": "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", "maroonedpods.io/vm": "marooned-0f1e2d3c" },
  taints: [{ key: "maroonedpods.io/dedicated", value: "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", effect: "NoSchedule" }],
};

describe("parseJoinInfo", () => {
  it("accepts a complete document", () => {
    const result = parseJoinInfo(stringify(valid));
    expect(result).toEqual({ ok: true, joinInfo: valid });
  });

  it.each([
    ["server_url", "http://127.0.0.1:6443", "server_url: invalid value"],
    ["server_url", "https://x;rm -rf /", "server_url: invalid value"],
    ["token", "abcdef.0123456789abcde$", "token: invalid value"],
    ["node_name", "Marooned_1", "node_name: invalid value"],
    ["ca_cert_hash", "sha1:abc", "ca_cert_hash: invalid value"],
    ["join_method", "ssh", "join_method: must be one of k3s, kubeadm"],
    ["version", 2, "version: must be 1"],
    ["labels", { "bad key!": "x" }, 'labels: invalid key "bad key!"'],
    ["labels", { ok: "$(reboot)" }, "labels.ok: invalid value"],
    ["taints", [{ key: "k", value: "v", effect: "Sometimes" }], "taints[0].effect: must be one of NoSchedule, PreferNoSchedule, NoExecute"],
  ])("rejects a bad %s", (field, value, message) => {
    const result = parseJoinInfo(stringify({ ...valid, [field]: value }));
    expect(result).toEqual({ ok: false, errors: [message] });
  });

  it("names a missing field and an unknown one", () => {
    const result = parseJoinInfo(stringify({ ...valid, token: undefined, extra: 1 }));
    expect(result).toEqual({ ok: false, errors: ["token: required", "extra: unknown field"] });
  });

  it("rejects text that is not YAML or not a map", () => {
    expect(parseJoinInfo("a: [").ok).toBe(false);
    expect(parseJoinInfo("- 1")).toEqual({ ok: false, errors: ["join info: must be a map"] });
    expect(parseJoinInfo("")).toEqual({ ok: false, errors: ["join info: must be a map"] });
  });
});
