/**
 * Opens the golden-case source of a run: the vector store's `loadSuites`, imported lazily so that
 * a missing or broken store becomes a load failure in the report instead of a crash.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { specIssue } from "../../spec/errors.ts";
import type { GoldenCase, LoadFailure } from "../../vectors/case.ts";

/** Options passed to the vector store's loader. */
export interface SourceOptions {
  /** The vector folder; undefined means the store's default. */
  readonly vectorsDir?: string;
  /** Suites to load; empty means all. */
  readonly suites: readonly string[];
  /** Keeps only the case IDs that pass, before their tensors are decoded. */
  readonly filter?: (caseId: string) => boolean;
}

/** The loader module of the vector store. */
const LOADER_MODULE = "../../vectors/load.ts";

/** The default vector folder, for reading its manifest. */
const DEFAULT_VECTORS_DIR = fileURLToPath(new URL("../../vectors/", import.meta.url));

interface LoadSuitesOptions {
  readonly dir?: string;
  readonly suites?: readonly string[];
  readonly filter?: (id: string) => boolean;
}

type LoadSuites = (options: LoadSuitesOptions) => AsyncIterable<GoldenCase | LoadFailure>;

/** Yields the golden cases of the selected suites, or one load failure if the store cannot be opened. */
export async function* openCaseSource(options: SourceOptions): AsyncGenerator<GoldenCase | LoadFailure> {
  let loadSuites: LoadSuites;
  try {
    const module = (await import(LOADER_MODULE)) as { loadSuites?: unknown };
    if (typeof module.loadSuites !== "function") throw new Error(`${LOADER_MODULE} does not export loadSuites`);
    loadSuites = module.loadSuites as LoadSuites;
  } catch (error) {
    const message = `cannot open the vector store: ${error instanceof Error ? error.message : String(error)}`;
    yield { kind: "load-failure", file: options.vectorsDir ?? "vectors", issue: specIssue("E_FILE_FORMAT", message, {}, ["vectors"]) };
    return;
  }

  yield* loadSuites({
    ...(options.vectorsDir === undefined ? {} : { dir: options.vectorsDir }),
    ...(options.suites.length > 0 ? { suites: options.suites } : {}),
    ...(options.filter === undefined ? {} : { filter: options.filter }),
  });
}

/**
 * Returns the number of cases the manifest lists for the selected suites (before any filter), or
 * undefined when the manifest cannot be read. Only the progress bar uses it.
 */
export async function countManifestCases(vectorsDir: string | undefined, suites: readonly string[]): Promise<number | undefined> {
  try {
    const text = await readFile(join(vectorsDir ?? DEFAULT_VECTORS_DIR, "manifest.json"), "utf8");
    const manifest = JSON.parse(text) as { files?: { suite?: unknown; cases?: unknown }[] };
    let total = 0;
    for (const file of manifest.files ?? []) {
      if (suites.length > 0 && !suites.includes(String(file.suite))) continue;
      if (typeof file.cases === "number") total += file.cases;
    }
    return total;
  } catch {
    return undefined;
  }
}
