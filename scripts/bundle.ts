// `npm run build`: the image's program (src/cli/in-cluster.ts) bundled with every dependency into dist/ (its entry
// maroonedpods.mjs, and chunks/ for what it imports lazily), so the image needs no node_modules. The benchmark runs it too.
import { build } from "esbuild";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ENTRY = fileURLToPath(new URL("../src/cli/in-cluster.ts", import.meta.url));
const DIST = fileURLToPath(new URL("../dist", import.meta.url));

/**
 * Whitespace and syntax minified but names kept, so stack traces still read; split, so that a dynamic import stays
 * lazy (the webhook never loads client-node). Measured at start, controller / webhook: 131 / 103 MiB under type
 * stripping, 94 / 91 as one file, 92 / 66 split. Bundled CommonJS dependencies need a `require`. Returns the entry.
 */
export async function bundleInCluster(outdir: string = DIST): Promise<string> {
  await build({
    entryPoints: { maroonedpods: ENTRY },
    outdir,
    splitting: true,
    chunkNames: "chunks/[name]-[hash]",
    outExtension: { ".js": ".mjs" },
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node24",
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: "none",
    logLevel: "warning",
    banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
  });
  return join(outdir, "maroonedpods.mjs");
}

if (import.meta.main) process.stdout.write(`wrote ${await bundleInCluster()}\n`);
