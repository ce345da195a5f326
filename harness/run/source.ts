/**
 * Opens the golden-case source of a run: the vector store's `loadSuites`, imported lazily so that
 * a missing or broken store becomes a load failure in the report instead of a crash.
 */
import { specIssue } from "../../spec/errors.ts";
import type { GoldenCase, LoadFailure } from "../../vectors/case.ts";

/** Options passed to the vector store's loader. */
export interface SourceOptions {
  /** The vector folder; undefined means the store's default. */
  readonly vectorsDir?: string;
  /** Suites to load; empty means all. */
  readonly suites: readonly string[];
}

/** The loader module of the vector store. */
const LOADER_MODULE = "../../vectors/load.ts";

type LoadSuites = (options: { dir?: string; suites?: readonly string[] }) => AsyncIterable<GoldenCase | LoadFailure>;

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

  yield* loadSuites({ ...(options.vectorsDir === undefined ? {} : { dir: options.vectorsDir }), ...(options.suites.length > 0 ? { suites: options.suites } : {}) });
}
