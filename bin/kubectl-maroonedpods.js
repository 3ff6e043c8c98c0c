#!/usr/bin/env node
// The kubectl plugin: `kubectl maroonedpods status|doctor|install|uninstall`.
// Node.js 24 runs the TypeScript sources directly (type stripping).
await import("../src/cli/kubectl-plugin.ts");
