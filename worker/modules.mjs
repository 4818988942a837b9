// Loading the project's modules for calls: `./modules/x` (as written after `$import(`, with or
// without extension) resolves against the project root; each module is imported once and a
// failure to load is kept with its message (a worker restart loads again).

import { statSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

let projectRoot = process.cwd();
const loaded = new Map();

export function setProjectRoot(root) {
  if (typeof root === "string" && root) projectRoot = root;
}

function isFile(file) {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

function resolveModuleFile(specifier) {
  if (typeof specifier !== "string" || !specifier) throw new TypeError("call has no module");
  const base = path.resolve(projectRoot, specifier);
  const tries = [base, `${base}.ts`, `${base}.mts`, `${base}.js`, `${base}.mjs`,
    path.join(base, "index.ts"), path.join(base, "index.js")];
  const file = tries.find(isFile);
  if (!file) throw new Error(`module ${specifier} not found under ${projectRoot}`);
  return file;
}

function loadFailure(specifier, error) {
  const failure = error instanceof Error ? error : new Error(String(error));
  const missing = /does not provide an export named '([^']+)'/.exec(failure.message);
  const hint = missing && /@zuplo\//.test(failure.message)
    ? ` (not available in mcpgw dev: ${missing[1]})`
    : "";
  failure.message = `loading ${specifier} failed: ${failure.message}${hint}`;
  return failure;
}

/** The module namespace of `specifier`; the same promise (or failure) for every call. */
export function loadModule(specifier) {
  let entry = loaded.get(specifier);
  if (!entry) {
    entry = (async () => {
      try {
        return await import(pathToFileURL(resolveModuleFile(specifier)).href);
      } catch (error) {
        throw loadFailure(specifier, error);
      }
    })();
    // Each caller awaits it; this keeps an unawaited failure from being "unhandled".
    entry.catch(() => {});
    loaded.set(specifier, entry);
  }
  return entry;
}

/** The exported function `name` of `specifier`. */
export async function loadExport(specifier, name) {
  const namespace = await loadModule(specifier);
  const exportName = name || "default";
  const value = namespace[exportName];
  if (value === undefined) {
    throw new TypeError(`module ${specifier} has no export '${exportName}'`);
  }
  if (typeof value !== "function") {
    throw new TypeError(`export '${exportName}' of ${specifier} is a ${typeof value}, not a function`);
  }
  return value;
}
