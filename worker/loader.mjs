// Module resolution hooks (registered by main.mjs with module.register), as Zuplo's esbuild
// bundling resolves: `@zuplo/runtime`, `@zuplo/runtime/mcp-gateway` and `@zuplo/otel` → the
// stand-in in ./runtime/; a relative import without extension → `.ts`, then `/index.ts`
// (and `./x.js` → `./x.ts` when only the .ts exists); everything else as Node resolves it.

import { statSync } from "node:fs";
import { fileURLToPath } from "node:url";

const STAND_IN = {
  "@zuplo/runtime": new URL("./runtime/index.mjs", import.meta.url).href,
  "@zuplo/runtime/mcp-gateway": new URL("./runtime/mcp-gateway.mjs", import.meta.url).href,
  "@zuplo/otel": new URL("./runtime/otel.mjs", import.meta.url).href,
};

function isFile(url) {
  try {
    return statSync(fileURLToPath(url)).isFile();
  } catch {
    return false;
  }
}

function candidates(specifier) {
  if (/\.(ts|mts|js|mjs|cjs|json)$/.test(specifier)) {
    return specifier.endsWith(".js") ? [specifier.slice(0, -3) + ".ts"] : [];
  }
  return [`${specifier}.ts`, `${specifier}.mts`, `${specifier}/index.ts`];
}

export async function resolve(specifier, context, nextResolve) {
  const standIn = STAND_IN[specifier];
  if (standIn) return { url: standIn, shortCircuit: true };

  const parent = context.parentURL;
  const relative = specifier.startsWith("./") || specifier.startsWith("../");
  if (relative && parent?.startsWith("file:") && !parent.includes("/node_modules/")) {
    const exact = new URL(specifier, parent);
    if (!isFile(exact)) {
      for (const candidate of candidates(specifier)) {
        const url = new URL(candidate, parent);
        if (isFile(url)) return { url: url.href, shortCircuit: true };
      }
    }
  }
  return nextResolve(specifier, context);
}

