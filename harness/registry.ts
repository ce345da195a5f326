/**
 * The backend registry: resolves a backend name to a Backend record and its known divergences.
 * Backend modules are imported lazily, so a missing or broken backend becomes an unavailable
 * backend that carries the import error, and never stops the run.
 */
import type { Backend } from "./backend.ts";
import type { KnownDivergence } from "./run/runner.ts";

/** A resolved backend and the cases it is known to fail. */
export interface RegisteredBackend {
  readonly backend: Backend;
  readonly knownDivergences: readonly KnownDivergence[];
}

/** Options that some backends take. */
export interface RegistryOptions {
  /** The maximum time one call may take, in seconds (worker backends kill a worker that exceeds it). */
  readonly timeoutSeconds: number;
}

/** A built-in backend: the module to import and the export that contains the Backend record. */
interface BuiltinBackend {
  readonly module: string;
  readonly exportName: string;
  readonly fix: string;
}

const BUILTIN: Readonly<Record<string, BuiltinBackend>> = {
  reference: { module: "./reference-backend.ts", exportName: "referenceBackend", fix: "the reference ships with qmm-conformance; reinstall the package" },
  js: { module: "../backends/js/index.ts", exportName: "jsBackend", fix: "the JS backend ships with qmm-conformance; reinstall the package" },
  native: { module: "../backends/native/index.ts", exportName: "nativeBackend", fix: "build the addon: npx node-gyp rebuild --directory backends/native" },
  mlx: { module: "../backends/mlx/index.ts", exportName: "mlxBackend", fix: "set up MLX: node backends/mlx/setup.mjs" },
};

/** Backends a run uses when none is named: every one of these that probes available. */
export const DEFAULT_BACKENDS: readonly string[] = ["js", "native", "mlx"];

/** Names the registry resolves, besides `cmd:PATH [ARGS]`. */
export const BUILTIN_BACKEND_NAMES: readonly string[] = Object.keys(BUILTIN);

/**
 * Resolves a backend name: `reference`, `js`, `native`, `mlx`, or `cmd:PATH [ARGS]` for any
 * worker program (spec/PROTOCOL.md). An unknown name or a module that fails to import resolves to
 * a backend that probes unavailable with the reason.
 */
export async function resolveBackend(name: string, options: RegistryOptions): Promise<RegisteredBackend> {
  if (name.startsWith("cmd:")) return resolveCommand(name, options);

  const builtin = Object.hasOwn(BUILTIN, name) ? BUILTIN[name] : undefined;
  if (builtin === undefined) {
    const known = [...BUILTIN_BACKEND_NAMES, "cmd:PATH [ARGS]"].join(", ");
    return { backend: unavailableBackend(name, `unknown backend '${name}'`, `use one of: ${known}`), knownDivergences: [] };
  }

  let exports: Record<string, unknown>;
  try {
    exports = (await import(builtin.module)) as Record<string, unknown>;
  } catch (error) {
    return { backend: unavailableBackend(name, `cannot load ${builtin.module}: ${errorText(error)}`, builtin.fix), knownDivergences: [] };
  }

  const backend = exports[builtin.exportName];
  if (!isBackend(backend)) {
    return { backend: unavailableBackend(name, `${builtin.module} does not export a Backend named ${builtin.exportName}`, builtin.fix), knownDivergences: [] };
  }
  return { backend, knownDivergences: knownDivergencesOf(exports.knownDivergences) };
}

async function resolveCommand(name: string, options: RegistryOptions): Promise<RegisteredBackend> {
  const words = splitCommandLine(name.slice("cmd:".length));
  if (words.length === 0) {
    return { backend: unavailableBackend(name, "the cmd: backend names no program", "write cmd:PATH [ARGS], for example cmd:python3 backends/example-python/worker.py"), knownDivergences: [] };
  }

  try {
    const worker = (await import("./worker/index.ts")) as { createWorkerBackend: (command: string, args: string[], options: { timeoutSeconds: number; name?: string }) => Backend };
    const backend = worker.createWorkerBackend(words[0], words.slice(1), { timeoutSeconds: options.timeoutSeconds, name });
    return { backend, knownDivergences: [] };
  } catch (error) {
    return { backend: unavailableBackend(name, `cannot start the worker backend: ${errorText(error)}`, "check the command and spec/PROTOCOL.md"), knownDivergences: [] };
  }
}

/**
 * Splits a command line into words: whitespace separates words, and single or double quotes
 * group a word that contains spaces. No escapes or variable expansion.
 */
export function splitCommandLine(text: string): string[] {
  const words: string[] = [];
  const pattern = /"([^"]*)"|'([^']*)'|(\S+)/g;
  let current = "";
  let lastEnd = -1;

  for (const match of text.matchAll(pattern)) {
    const word = match[1] ?? match[2] ?? match[3];
    const start = match.index;
    if (start === lastEnd) current += word;
    else {
      if (lastEnd !== -1) words.push(current);
      current = word;
    }
    lastEnd = start + match[0].length;
  }
  if (lastEnd !== -1) words.push(current);
  return words;
}

/** Creates a backend that always probes unavailable with the given reason and fix. */
export function unavailableBackend(name: string, reason: string, fix?: string): Backend {
  return {
    name,
    async probe() {
      return { kind: "unavailable", reason, ...(fix === undefined ? {} : { fix }) };
    },
    async run(calls) {
      return calls.map(() => ({ kind: "unsupported", reason }));
    },
  };
}

function isBackend(value: unknown): value is Backend {
  if (value === null || typeof value !== "object") return false;
  const candidate = value as Partial<Backend>;
  return typeof candidate.name === "string" && typeof candidate.probe === "function" && typeof candidate.run === "function";
}

function knownDivergencesOf(value: unknown): KnownDivergence[] {
  if (!Array.isArray(value)) return [];
  return value.filter(
    (entry): entry is KnownDivergence => entry !== null && typeof entry === "object" && typeof entry.pattern === "string" && typeof entry.reason === "string",
  );
}

function errorText(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
