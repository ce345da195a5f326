/**
 * Regenerating vector files into the cache, recording the manifest, and verifying data against it
 * (spec/FILES.md §14.3). Data files live in the git-ignored `.cache/` folder next to manifest.json.
 * Only the manifest is committed.
 */
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { VECTOR_FILES, vectorFileByName } from "../generate/files.ts";
import type { VectorFileSpec } from "../generate/files.ts";
import { compareDigests, digestCase } from "./digest.ts";
import type { CaseChange } from "./digest.ts";
import { encodeVectorFile, sha256Hex } from "./file.ts";
import { CACHE_FOLDER, MANIFEST_NAME, VECTORS_DIR, changedSources, formatManifest, hashSources, readManifest } from "./manifest.ts";
import type { Manifest, ManifestFile } from "./manifest.ts";

/** Name of the cache stamp: which generator hash produced each cached file. */
const STAMP_NAME = "stamp.json";

/** The result of regenerating one file: its manifest entry, bytes and build time. */
export interface GeneratedFile {
  readonly entry: ManifestFile;
  readonly bytes: Uint8Array;
  readonly seconds: number;
}

/** Builds one vector file in memory. */
export function generateFile(spec: VectorFileSpec): GeneratedFile {
  const started = performance.now();
  const cases = spec.build();
  const ids = new Set<string>();
  for (const golden of cases) {
    if (ids.has(golden.id)) throw new Error(`${spec.name}: duplicate case ID ${golden.id}`);
    ids.add(golden.id);
  }

  const bytes = encodeVectorFile(spec.suite, spec.name, cases);
  const caseDigests = Object.fromEntries(cases.map((golden) => [golden.id, [...digestCase(golden)] as [string, string, string, string]]));
  const entry: ManifestFile = { name: spec.name, suite: spec.suite, path: `${CACHE_FOLDER}/${spec.name}`, cases: cases.length, bytes: bytes.length, sha256: sha256Hex(bytes), caseDigests };
  return { entry, bytes, seconds: (performance.now() - started) / 1000 };
}

async function writeAtomically(path: string, bytes: Uint8Array | string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, bytes);
  await rename(temporary, path);
}

async function readStamp(dir: string): Promise<Record<string, string>> {
  try {
    return JSON.parse(await readFile(join(dir, CACHE_FOLDER, STAMP_NAME), "utf8")) as Record<string, string>;
  } catch {
    return {};
  }
}

async function writeStamp(dir: string, stamp: Record<string, string>): Promise<void> {
  await writeAtomically(join(dir, CACHE_FOLDER, STAMP_NAME), `${JSON.stringify(stamp, null, 2)}\n`);
}

/** Options of {@link generateVectors}. */
export interface GenerateOptions {
  /** Vectors folder with manifest.json and `.cache/`. Defaults to the repository's vectors/. */
  readonly dir?: string;
  /** File names to generate. Defaults to every built-in file. */
  readonly files?: readonly string[];
  /** Called after each file is written. */
  readonly onFile?: (file: GeneratedFile) => void;
}

function selectFiles(names: readonly string[] | undefined): VectorFileSpec[] {
  if (names === undefined) return [...VECTOR_FILES];
  return names.map((name) => {
    const spec = vectorFileByName(name);
    if (spec === undefined) throw new Error(`unknown vector file '${name}'; known files: ${VECTOR_FILES.map((file) => file.name).join(", ")}`);
    return spec;
  });
}

/**
 * Regenerates the selected files into the cache and writes the manifest. With `files`, the other
 * entries of an existing manifest are kept, so one file can be rebuilt without dropping the rest.
 */
export async function generateVectors(options: GenerateOptions = {}): Promise<Manifest> {
  const dir = options.dir ?? VECTORS_DIR;
  const generator = hashSources();
  const stamp = await readStamp(dir);
  const files: ManifestFile[] = [];

  for (const spec of selectFiles(options.files)) {
    const generated = generateFile(spec);
    await writeAtomically(join(dir, generated.entry.path), generated.bytes);
    stamp[spec.name] = generator.sha256;
    files.push(generated.entry);
    options.onFile?.(generated);
  }

  // With an explicit file list, entries of the other files in an existing manifest are kept, in file order.
  if (options.files !== undefined) {
    const previous = await readManifest(dir).catch(() => undefined);
    const kept = (previous?.files ?? []).filter((entry) => !files.some((file) => file.name === entry.name));
    const order = (name: string) => VECTOR_FILES.findIndex((file) => file.name === name);
    files.push(...kept);
    files.sort((a, b) => order(a.name) - order(b.name));
  }

  const manifest: Manifest = { format: "qmm-conformance-manifest", version: 1, generator, files };
  await writeStamp(dir, stamp);
  await writeAtomically(join(dir, MANIFEST_NAME), formatManifest(manifest));
  return manifest;
}

/**
 * Makes sure the cached copy of `entry` exists and was produced by the current generator sources,
 * and regenerates it otherwise. Returns the regeneration time in seconds, or 0 when the cache was fresh.
 */
export async function ensureCached(dir: string, entry: ManifestFile, generatorSha256: string): Promise<number> {
  const stamp = await readStamp(dir);
  const path = join(dir, entry.path);
  const present = await readFile(path).then(() => true, () => false);
  if (present && stamp[entry.name] === generatorSha256) return 0;

  const spec = vectorFileByName(entry.name);
  if (spec === undefined) throw new Error(`the manifest names '${entry.name}', which is not a built-in vector file`);

  const generated = generateFile(spec);
  await writeAtomically(path, generated.bytes);
  const latest = await readStamp(dir);
  latest[entry.name] = generatorSha256;
  await writeStamp(dir, latest);
  return generated.seconds;
}

/** One problem `vectors verify` found. */
export interface VerifyProblem {
  readonly kind: "stale-sources" | "changed-data" | "altered-cache" | "unlisted-file";
  readonly file: string;
  readonly expected?: string;
  readonly actual?: string;
  readonly detail: string;
  /** For changed data: the cases that differ and which of their parts, when the manifest has case digests. */
  readonly cases?: readonly CaseChange[];
}

/**
 * Regenerates every file the manifest lists and compares: the generator source hashes, each
 * regenerated file's SHA-256, and each cached file's SHA-256. Writes nothing.
 */
export async function verifyVectors(options: { dir?: string; onFile?: (name: string, seconds: number) => void } = {}): Promise<VerifyProblem[]> {
  const dir = options.dir ?? VECTORS_DIR;
  const manifest = await readManifest(dir);
  const problems: VerifyProblem[] = [];

  const current = hashSources();
  for (const source of changedSources(manifest.generator.sources, current.sources)) {
    problems.push({
      kind: "stale-sources",
      file: source,
      ...(manifest.generator.sources[source] === undefined ? {} : { expected: manifest.generator.sources[source] }),
      ...(current.sources[source] === undefined ? {} : { actual: current.sources[source] }),
      detail: `generator source ${source} changed since the manifest was written`,
    });
  }

  for (const entry of manifest.files) {
    const spec = vectorFileByName(entry.name);
    if (spec === undefined) {
      problems.push({ kind: "unlisted-file", file: entry.name, detail: `the manifest names '${entry.name}', which is not a built-in vector file` });
      continue;
    }

    const generated = generateFile(spec);
    options.onFile?.(entry.name, generated.seconds);
    if (generated.entry.sha256 !== entry.sha256) {
      const cases = entry.caseDigests === undefined ? undefined : compareDigests(entry.caseDigests, generated.entry.caseDigests ?? {});
      problems.push({
        kind: "changed-data",
        file: entry.name,
        expected: entry.sha256,
        actual: generated.entry.sha256,
        detail: `regenerated ${entry.name} (${generated.entry.cases} cases) differs from the manifest${cases === undefined ? "" : `, with ${cases.length} case(s) changed`}`,
        ...(cases === undefined ? {} : { cases }),
      });
    }

    const cached = await readFile(join(dir, entry.path)).catch(() => undefined);
    if (cached === undefined) continue;
    const cachedHash = sha256Hex(cached);
    if (cachedHash !== entry.sha256 && cachedHash !== generated.entry.sha256) {
      problems.push({ kind: "altered-cache", file: entry.path, expected: entry.sha256, actual: cachedHash, detail: `cached ${entry.path} matches neither the manifest nor the regenerated data` });
    }
  }
  return problems;
}
