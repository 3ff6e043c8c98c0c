import { describe, expect, it } from "vitest";
import { controllerUsername, DEFAULT_ADMISSION_SETTINGS, validateAdmissionSettings, type AdmissionSettings } from "./settings.ts";

const defaults = DEFAULT_ADMISSION_SETTINGS;

/** Values that would break out of a quoted CEL string or a label selector. */
const CEL_BREAKERS = ["with space", "it's", 'say "hi"', "a)b", "a'||true||'", "a\nb", ""];

type Field = string;
const cases: [Field, (value: string) => AdmissionSettings][] = [
  ["triggerLabel.key", (v) => ({ ...defaults, triggerLabel: { ...defaults.triggerLabel, key: v } })],
  ["triggerLabel.value", (v) => ({ ...defaults, triggerLabel: { ...defaults.triggerLabel, value: v } })],
  ["runtimeClassName", (v) => ({ ...defaults, runtimeClassName: v })],
  ["taintKeyPrefix", (v) => ({ ...defaults, taintKeyPrefix: v })],
  ["nodeNamePrefix", (v) => ({ ...defaults, nodeNamePrefix: v })],
  ["exemptNamespaces[1]", (v) => ({ ...defaults, exemptNamespaces: ["kube-system", v] })],
  ["controllerServiceAccount.namespace", (v) => ({ ...defaults, controllerServiceAccount: { ...defaults.controllerServiceAccount, namespace: v } })],
  ["controllerServiceAccount.name", (v) => ({ ...defaults, controllerServiceAccount: { ...defaults.controllerServiceAccount, name: v } })],
];

/** Bad values specific to each field, beyond the CEL breakers every field rejects. */
const SPECIFIC: Record<Field, string[]> = {
  "triggerLabel.key": ["maroonedpods.io/", "/maroon", "Maroonedpods.io/maroon", "a/b/c", "-maroon", "x".repeat(64), `${"a".repeat(254)}/maroon`],
  "triggerLabel.value": ["-true", "true-", "x".repeat(64), "a/b"],
  runtimeClassName: ["Marooned", "marooned-", "-marooned", "a_b", "a..b", "a/b", "a".repeat(254)],
  taintKeyPrefix: ["Maroonedpods.io", "maroonedpods.io/", "maroonedpods_io", "a".repeat(254)],
  nodeNamePrefix: ["Marooned-", "-marooned", "marooned.", "x".repeat(32)],
  "exemptNamespaces[1]": ["Kube-system", "kube.system", "kube-system-", "x".repeat(64)],
  "controllerServiceAccount.namespace": ["Maroonedpods", "a.b", "x".repeat(64)],
  "controllerServiceAccount.name": ["Controller", "controller-", "a_b", "a".repeat(254)],
};

describe("validateAdmissionSettings", () => {
  it("accepts the defaults", () => {
    expect(validateAdmissionSettings(defaults)).toEqual([]);
  });

  it("accepts other valid names", () => {
    expect(
      validateAdmissionSettings({
        triggerLabel: { key: "sandbox", value: "Kata_VM.1" },
        runtimeClassName: "kata.vm-1",
        taintKeyPrefix: "isolation.example.com",
        nodeNamePrefix: "x".repeat(31),
        exemptNamespaces: [],
        controllerServiceAccount: { namespace: "ops", name: "isolation.controller" },
      }),
    ).toEqual([]);
    expect(validateAdmissionSettings({ ...defaults, triggerLabel: { key: `${"a".repeat(253)}/${"b".repeat(63)}`, value: "v".repeat(63) } })).toEqual([]);
    expect(validateAdmissionSettings({ ...defaults, runtimeClassName: `${"a".repeat(63)}.${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(61)}` })).toEqual([]);
  });

  const table = cases.flatMap(([field, build]) => [...CEL_BREAKERS, ...(SPECIFIC[field] ?? [])].map((value) => [field, value, build(value)] as const));
  it.each(table)("reports %s = %j, and only that field", (field, _value, settings) => {
    const errors = validateAdmissionSettings(settings);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.startsWith(`${field}: `)).toBe(true);
  });

  it("reports every bad field at once", () => {
    const errors = validateAdmissionSettings({
      triggerLabel: { key: "a b", value: "'" },
      runtimeClassName: '"',
      taintKeyPrefix: ")",
      nodeNamePrefix: "",
      exemptNamespaces: ["ok", "not ok", "also'bad"],
      controllerServiceAccount: { namespace: "", name: "x)" },
    });
    expect(errors.map((e) => e.split(":")[0])).toEqual([
      "triggerLabel.key",
      "triggerLabel.value",
      "runtimeClassName",
      "taintKeyPrefix",
      "nodeNamePrefix",
      "exemptNamespaces[1]",
      "exemptNamespaces[2]",
      "controllerServiceAccount.namespace",
      "controllerServiceAccount.name",
    ]);
  });
});

describe("controllerUsername", () => {
  it("is the controller ServiceAccount's username", () => {
    expect(controllerUsername(defaults)).toBe("system:serviceaccount:maroonedpods-system:maroonedpods-controller");
  });
});
