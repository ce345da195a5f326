/**
 * Loading golden cases for a run. `loadSuites` reads the manifest, rebuilds stale or missing cache
 * files of the built-in suites, checks each file's SHA-256, and streams cases file by file. Every
 * problem becomes a LoadFailure naming the file, the case and the field; loading goes on with the rest.
 */
import { join, resolve } from "node:path";
import { QmmError, specIssue } from "../spec/errors.ts";
import type { GoldenCase, LoadFailure } from "./case.ts";
import { DEFAULT_LIMITS } from "./store/codec.ts";
import type { SizeLimits } from "./store/codec.ts";
import { readVectorFile } from "./store/file.ts";
import { ensureCached } from "./store/generate.ts";
import { MANIFEST_NAME, VECTORS_DIR, hashSources, readManifest } from "./store/manifest.ts";

/** Options of {@link loadSuites}. */
export interface LoadSuitesOptions {
  /** Vectors folder with manifest.json. Defaults to the repository's vectors/. */
  readonly dir?: string;
  /** Suites to load (`generated`, `exact`, `errors`, `real`). Defaults to all in the manifest. */
  readonly suites?: readonly string[];
  /** Keeps only the cases whose ID passes, and skips decoding the others. */
  readonly filter?: (id: string) => boolean;
  /**
   * Rebuilds cache files that are missing or were produced by other generator sources. Defaults to
   * true for the repository's vectors folder (whether or not `dir` names it) and false otherwise.
   */
  readonly regenerate?: boolean;
  /**
   * Checks each file against the manifest's SHA-256 (default true). Of a file that differs, only
   * the cases whose manifest digests still match are loaded.
   */
  readonly verifyHashes?: boolean;
  readonly limits?: SizeLimits;
  /** Called after a cache file was rebuilt, with its path and the build time in seconds. */
  readonly onRegenerate?: (file: string, seconds: number) => void;
}

/** Streams the cases of the selected suites, with a LoadFailure for each file or case that cannot be loaded. */
export async function* loadSuites(options: LoadSuitesOptions = {}): AsyncIterable<GoldenCase | LoadFailure> {
  const dir = options.dir ?? VECTORS_DIR;
  const regenerate = options.regenerate ?? resolve(dir) === resolve(VECTORS_DIR);
  const manifestPath = join(dir, MANIFEST_NAME);

  let manifest;
  try {
    manifest = await readManifest(dir);
  } catch (error) {
    if (!(error instanceof QmmError)) throw error;
    yield { kind: "load-failure", file: manifestPath, issue: error.issue };
    return;
  }

  const known = new Set(manifest.files.map((entry) => entry.suite));
  for (const suite of options.suites ?? []) {
    if (known.has(suite)) continue;
    yield {
      kind: "load-failure",
      file: manifestPath,
      issue: specIssue("E_PARAM_INVALID", `no vector file of suite '${suite}' is listed in ${manifestPath}; known suites: ${[...known].join(", ")}`, { suite, known: [...known] }, ["suites"]),
    };
  }

  const generatorSha256 = regenerate ? hashSources().sha256 : "";
  for (const entry of manifest.files) {
    if (options.suites !== undefined && !options.suites.includes(entry.suite)) continue;
    const path = join(dir, entry.path);

    if (regenerate) {
      try {
        const seconds = await ensureCached(dir, entry, generatorSha256);
        if (seconds > 0) options.onRegenerate?.(path, seconds);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        yield { kind: "load-failure", file: path, issue: specIssue("E_FILE_FORMAT", `cannot regenerate ${entry.name}: ${message}`, { file: entry.name }, ["file"]) };
        continue;
      }
    }

    yield* readVectorFile(path, {
      ...(options.verifyHashes === false ? {} : { sha256: entry.sha256, ...(entry.caseDigests === undefined ? {} : { caseDigests: entry.caseDigests }) }),
      ...(options.filter === undefined ? {} : { filter: options.filter }),
      limits: options.limits ?? DEFAULT_LIMITS,
    });
  }
}

/** Returns true when a loaded item is a LoadFailure. */
export function isLoadFailure(item: GoldenCase | LoadFailure): item is LoadFailure {
  return (item as LoadFailure).kind === "load-failure";
}
