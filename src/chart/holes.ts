/**
 * Holes: placeholders put into the install bundle's objects where the chart
 * takes a value, and filled with Helm template text once the objects are YAML.
 * A hole's token is a plain YAML word, so the YAML library writes it verbatim.
 */
export type Hole =
  /** `{{ expr }}` in place of the token, wherever it stands (a whole scalar or part of one). */
  | { readonly kind: "inline"; readonly expr: string }
  /** `key: TOKEN` becomes `key:` followed by `toYaml expr`, indented under the key. */
  | { readonly kind: "yaml"; readonly expr: string }
  /** A whole line (`TOKEN: null` as a map key, or `- TOKEN` as a list item) becomes the text `render` returns for its indentation. */
  | { readonly kind: "block"; readonly render: (indent: string) => string };

export interface HoleSet {
  /** A fresh token standing for `hole`. */
  add(hole: Hole): string;
  /** Fills every hole in `yaml`; throws on a token it does not know, and on a hole's token found in the wrong form. */
  fill(yaml: string): string;
  /** Tokens added but not (yet) seen by fill. */
  unused(): string[];
}

const TOKEN = /zzhole(\d+)zz/g;

export function createHoleSet(): HoleSet {
  const holes: Hole[] = [];
  const seen = new Set<number>();
  const fillLine = (line: string): string => {
    const tokens = [...line.matchAll(TOKEN)];
    if (tokens.length === 0) return line;
    const holeOf = (match: RegExpMatchArray): Hole => {
      const index = Number(match[1]);
      const hole = holes[index];
      if (!hole) throw new Error(`unknown hole ${match[0]} in: ${line}`);
      seen.add(index);
      return hole;
    };
    const first = tokens[0] as RegExpMatchArray;
    const hole = holeOf(first);
    if (hole.kind === "block") {
      const whole = /^(\s*)(?:- )?zzhole\d+zz(?:: null)?$/.exec(line);
      if (!whole || tokens.length > 1) throw new Error(`a block hole must be a line of its own: ${line}`);
      return hole.render(whole[1] ?? "");
    }
    if (hole.kind === "yaml") {
      const keyed = /^(\s*)((?:- )?)([^\s:][^:]*): zzhole\d+zz$/.exec(line);
      if (!keyed || tokens.length > 1) throw new Error(`a yaml hole must be the whole value of a key: ${line}`);
      const indent = (keyed[1] ?? "").length + (keyed[2] ?? "").length;
      return `${keyed[1] ?? ""}${keyed[2] ?? ""}${keyed[3] ?? ""}: {{- toYaml ${hole.expr} | nindent ${String(indent + 2)} }}`;
    }
    return line.replace(TOKEN, (token) => {
      const inline = holeOf(token.match(/zzhole(\d+)zz/) as RegExpMatchArray);
      if (inline.kind !== "inline") throw new Error(`hole ${token} cannot share a line: ${line}`);
      return `{{ ${inline.expr} }}`;
    });
  };
  return {
    add(hole) {
      holes.push(hole);
      return `zzhole${String(holes.length - 1)}zz`;
    },
    fill: (yaml) => yaml.split("\n").map(fillLine).join("\n"),
    unused: () => holes.flatMap((_, i) => (seen.has(i) ? [] : [`zzhole${String(i)}zz`])),
  };
}

/** Static text that Helm must pass through untouched: every `{{` becomes a template printing `{{`. */
export const escapeHelm = (text: string): string => text.replaceAll("{{", '{{ "{{" }}');
