import { describe, expect, it } from "vitest";
import { writtenFileContent } from "./cloud-init.ts";

const b64 = (text: string): string => Buffer.from(text, "utf8").toString("base64");

describe("writtenFileContent", () => {
  const path = "/etc/maroonedpods/join.yaml";
  const cloudConfig = (entries: string): string => `#cloud-config\nwrite_files:\n${entries}`;

  it.each<[string, string, ReturnType<typeof writtenFileContent>]>([
    ["plain content", cloudConfig(`  - path: ${path}\n    content: "hello\\n"\n`), { ok: true, content: "hello\n" }],
    ["a text/plain encoding", cloudConfig(`  - path: ${path}\n    encoding: text/plain\n    content: hi\n`), { ok: true, content: "hi" }],
    ["a b64 encoding", cloudConfig(`  - path: ${path}\n    encoding: b64\n    content: ${b64("token: abc\n")}\n`), { ok: true, content: "token: abc\n" }],
    ["a base64 encoding", cloudConfig(`  - path: ${path}\n    encoding: base64\n    content: ${b64("x=1")}\n`), { ok: true, content: "x=1" }],
    [
      "the entry for the path among others",
      cloudConfig(`  - path: /etc/other\n    content: other\n  - path: ${path}\n    content: mine\n`),
      { ok: true, content: "mine" },
    ],
    [
      "an unsupported encoding",
      cloudConfig(`  - path: ${path}\n    encoding: gzip\n    content: abc\n`),
      { ok: false, error: `write_files entry for ${path} has unsupported encoding "gzip"` },
    ],
    ["no entry for the path", cloudConfig(`  - path: /etc/other\n    content: other\n`), { ok: false, error: `write_files has no entry for ${path}` }],
    ["an entry without content", cloudConfig(`  - path: ${path}\n    permissions: "0600"\n`), { ok: false, error: `write_files entry for ${path} has no content` }],
    ["a shell script", "#!/bin/sh\necho hi\n", { ok: false, error: "user data is not #cloud-config" }],
    ["cloud-config not on the first line", `\n#cloud-config\nwrite_files: []\n`, { ok: false, error: "user data is not #cloud-config" }],
    ["no write_files", "#cloud-config\nruncmd: [true]\n", { ok: false, error: "user data has no write_files" }],
    ["an empty document", "#cloud-config\n", { ok: false, error: "user data has no write_files" }],
    ["write_files that is not a list", "#cloud-config\nwrite_files: {}\n", { ok: false, error: "user data has no write_files" }],
  ])("%s", (_name, userData, expected) => {
    expect(writtenFileContent(userData, path)).toEqual(expected);
  });

  it.each([
    ["an unclosed flow sequence", "#cloud-config\nwrite_files: [\n"],
    ["a duplicate key", "#cloud-config\nwrite_files: []\nwrite_files: []\n"],
  ])("reports invalid YAML (%s) on one line", (_name, userData) => {
    const result = writtenFileContent(userData, path);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error).toMatch(/^user data is not valid YAML: \S/);
    expect(result.error).not.toContain("\n");
  });
});
