/**
 * The manifest of the vector files (spec/FILES.md §14.3): the SHA-256 of every generated file and
 * of every source the generator reads, so that `vectors verify` detects stale or altered data and
 * the loader can tell when its cache must be rebuilt.
 */
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { fail } from "../../spec/errors.ts";
import { specIssueFromZod } from "../../spec/schema.ts";
import { QmmError } from "../../spec/errors.ts";
import { sha256Hex } from "./file.ts";

/** Root of the repository, for source paths relative to it. */
export const REPOSITORY_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** The default vectors folder, which contains manifest.json and the git-ignored cache `.cache/`. */
export const VECTORS_DIR = fileURLToPath(new URL("../", import.meta.url));

/** File name of the manifest inside a vectors folder. */
export const MANIFEST_NAME = "manifest.json";

/** Folder, relative to the vectors folder, that regenerated data files go to. */
export const CACHE_FOLDER = ".cache";

/**
 * Entry points of the generator. The sources are these files and every file they import,
 * transitively, so an edit elsewhere in the repository never marks the vectors stale.
 */
const SOURCE_ENTRIES = ["vectors/generate/files.ts", "vectors/store/file.ts", "vectors/store/digest.ts"];

/** Data files the generator reads at run time, which no import statement names. */
const SOURCE_DATA = ["vectors/real/minilm-l6-slices.safetensors"];

/** Relative module specifiers of static imports, re-exports and dynamic imports. */
const IMPORT_PATTERN = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)"(\.{1,2}\/[^"]+\.ts)"/g;

const sha256Schema = z.string().regex(/^[0-9a-f]{64}$/, "a lowercase hex SHA-256");

/** zod schema of manifest.json. */
export const manifestSchema = z.strictObject({
  format: z.literal("qmm-conformance-manifest"),
  version: z.literal(1),
  generator: z.strictObject({
    /** SHA-256 over the sorted `path sha256` lines of the sources. */
    sha256: sha256Schema,
    sources: z.record(z.string(), sha256Schema),
  }),
  files: z.array(
    z.strictObject({
      name: z.string().min(1),
      suite: z.string().min(1),
      /** Path relative to the vectors folder. */
      path: z.string().min(1),
      cases: z.int().nonnegative(),
      bytes: z.int().nonnegative(),
      sha256: sha256Schema,
      /**
       * Per case: short hashes of the inputs, the expected y or code, the exact and condition data,
       * and the ID, suite and tags. Manifests written before the fourth hash existed lack it.
       */
      caseDigests: z.record(z.string(), z.tuple([z.string(), z.string(), z.string(), z.string().optional()])).optional(),
    }),
  ),
});

/** A parsed manifest. */
export type Manifest = z.infer<typeof manifestSchema>;

/** One file entry of a manifest. */
export type ManifestFile = Manifest["files"][number];

/** Lists the generator's sources: the import closure of the entry points, plus its data files. */
export function generatorSourcePaths(root = REPOSITORY_ROOT): string[] {
  const seen = new Set<string>();
  const pending = SOURCE_ENTRIES.map((entry) => join(root, entry));

  while (pending.length > 0) {
    const path = pending.pop()!;
    if (seen.has(path)) continue;
    seen.add(path);

    for (const match of readFileSync(path, "utf8").matchAll(IMPORT_PATTERN)) {
      pending.push(resolve(dirname(path), match[1]));
    }
  }
  return [...seen, ...SOURCE_DATA.map((data) => join(root, data))].sort();
}

/** Hashes every generator source and returns the per-file hashes with their combined hash. */
export function hashSources(root = REPOSITORY_ROOT): Manifest["generator"] {
  const sources: Record<string, string> = {};

  for (const path of generatorSourcePaths(root)) {
    sources[relative(root, path).split(sep).join("/")] = sha256Hex(readFileSync(path));
  }
  const lines = Object.entries(sources).map(([path, hash]) => `${path} ${hash}\n`);
  return { sha256: sha256Hex(lines.join("")), sources };
}

/** Reads and validates `dir/manifest.json`. Throws a QmmError with E_FILE_FORMAT when it is missing or malformed. */
export async function readManifest(dir: string): Promise<Manifest> {
  const path = join(dir, MANIFEST_NAME);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    fail("E_FILE_FORMAT", `cannot read the manifest ${path}: ${(error as Error).message}; run 'qmm-conformance vectors generate'`, { file: path }, ["file", path]);
  }

  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    fail("E_FILE_FORMAT", `the manifest ${path} is not valid JSON: ${(error as Error).message}`, { file: path }, ["file", path]);
  }

  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) throw new QmmError(specIssueFromZod(parsed.error, "E_FILE_FORMAT", ["file", path]));
  return parsed.data;
}

/** Renders a manifest as stable JSON: two-space indentation and a final newline. */
export function formatManifest(manifest: Manifest): string {
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

/** Names the sources whose hashes differ between two source maps, including added and removed ones. */
export function changedSources(recorded: Record<string, string>, current: Record<string, string>): string[] {
  const names = new Set([...Object.keys(recorded), ...Object.keys(current)]);
  return [...names].filter((name) => recorded[name] !== current[name]).sort();
}
