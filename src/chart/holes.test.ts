import { stringify } from "yaml";
import { describe, expect, it } from "vitest";
import { createHoleSet, escapeHelm } from "./holes.ts";

describe("holes in generated YAML", () => {
  it("fills an inline hole as a whole scalar or inside one", () => {
    const holes = createHoleSet();
    const yaml = stringify({ replicas: holes.add({ kind: "inline", expr: ".Values.replicas" }), args: [`--log-level=${holes.add({ kind: "inline", expr: ".Values.logLevel" })}`] });
    expect(holes.fill(yaml)).toBe("replicas: {{ .Values.replicas }}\nargs:\n  - --log-level={{ .Values.logLevel }}\n");
    expect(holes.unused()).toEqual([]);
  });

  it("indents a yaml hole under its key, also inside a list item", () => {
    const holes = createHoleSet();
    const yaml = stringify({ spec: { containers: [{ resources: holes.add({ kind: "yaml", expr: ".Values.resources" }) }] } });
    expect(holes.fill(yaml)).toBe("spec:\n  containers:\n    - resources: {{- toYaml .Values.resources | nindent 8 }}\n");
  });

  it("replaces a block hole's whole line, as a map key or a list item, with its indentation", () => {
    const holes = createHoleSet();
    const key = holes.add({ kind: "block", render: (indent) => `${indent}{{- with .Values.a }}\n${indent}a: {{ . }}\n${indent}{{- end }}` });
    const item = holes.add({ kind: "block", render: (indent) => `${indent}{{- range .Values.extra }}\n${indent}- {{ . | quote }}\n${indent}{{- end }}` });
    const yaml = stringify({ metadata: { name: "x", [key]: null }, values: ["kube-system", item] });
    expect(holes.fill(yaml)).toBe(
      'metadata:\n  name: x\n  {{- with .Values.a }}\n  a: {{ . }}\n  {{- end }}\nvalues:\n  - kube-system\n  {{- range .Values.extra }}\n  - {{ . | quote }}\n  {{- end }}\n',
    );
  });

  it("refuses a hole in a form it cannot fill, and reports holes never filled", () => {
    const holes = createHoleSet();
    const block = holes.add({ kind: "block", render: () => "" });
    expect(() => holes.fill(`name: prefix-${block}`)).toThrow(/line of its own/);
    const yamlHole = holes.add({ kind: "yaml", expr: ".Values.x" });
    expect(() => holes.fill(`- ${yamlHole}`)).toThrow(/whole value of a key/);
    expect(() => holes.fill("a: zzhole99zz")).toThrow(/unknown hole/);
    holes.add({ kind: "inline", expr: ".Values.never" });
    expect(holes.unused()).toEqual(["zzhole2zz"]);
  });

  it("escapes static template braces so Helm prints them", () => {
    expect(escapeHelm("{{ $value }} and {{phase}}")).toBe('{{ "{{" }} $value }} and {{ "{{" }}phase}}');
  });
});
