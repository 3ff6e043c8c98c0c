// `npm ci`'s postinstall: the test tools PyPI ships (shellcheck, PyYAML), pinned, under the cache root outside the repo.
import { ensurePythonTools } from "../src/devcluster/python-tools.ts";
import { defaultCacheRoot, PYTHON_TOOL_VERSIONS } from "../src/devcluster/versions.ts";

try {
  const { tools, installed } = await ensurePythonTools({ cacheRoot: defaultCacheRoot(process.env), versions: PYTHON_TOOL_VERSIONS });
  process.stdout.write(`test tools ${installed ? "installed in" : "reused from"} ${tools.pythonPath}\n`);
} catch (error) {
  process.stderr.write(`install-test-tools: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
