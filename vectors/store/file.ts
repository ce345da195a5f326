/**
 * Writing and reading vector files (spec/FILES.md §14.1). A file is a MessagePack stream: a header
 * object, then one object per case. Reading goes case by case, so a damaged record costs only that
 * case, and a truncated file still yields every case before the damage. That holds for a file whose
 * SHA-256 differs from the manifest too, as long as the manifest has per-case digests to check each
 * case against (./salvage.ts).
 */
import { createHash } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { Encoder, decodeMulti } from "@msgpack/msgpack";
import { QmmError, escapeControlCharacters, hasControlCharacters, specIssue } from "../../spec/errors.ts";
import type { ErrorCode, SpecIssue } from "../../spec/errors.ts";
import { specIssueFromZod } from "../../spec/schema.ts";
import type { GoldenCase, LoadFailure } from "../case.ts";
import { DEFAULT_LIMITS, decodeCase, encodeCase } from "./codec.ts";
import type { SizeLimits } from "./codec.ts";
import type { CaseDigest } from "./digest.ts";
import { canCheckCases, keepMatchingCases } from "./salvage.ts";
import { VECTOR_FILE_FORMAT, VECTOR_FILE_VERSION, caseRecordSchema, headerRecordSchema } from "./schema.ts";

/** Returns the lowercase hex SHA-256 of `bytes`. */
export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Serializes a suite file: the header, then the cases in the given order. Map keys are sorted, so equal cases give equal bytes. */
export function encodeVectorFile(suite: string, name: string, cases: readonly GoldenCase[]): Uint8Array {
  const encoder = new Encoder({ sortKeys: true, ignoreUndefined: true });
  const header = { format: VECTOR_FILE_FORMAT, version: VECTOR_FILE_VERSION, suite, name, caseCount: cases.length };
  const parts = [encoder.encode(header), ...cases.map((golden) => encoder.encode(encodeCase(golden)))];

  const total = parts.reduce((sum, part) => sum + part.length, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Options of {@link readVectorFile}. */
export interface ReadOptions {
  /**
   * The SHA-256 the manifest records. On a mismatch only the cases that match `caseDigests` are
   * loaded, and without complete case digests the whole file is rejected with E_HASH_MISMATCH.
   */
  readonly sha256?: string;
  /** The manifest's per-case digests, to keep the intact cases of a file whose SHA-256 differs. */
  readonly caseDigests?: Readonly<Record<string, CaseDigest>>;
  /** Keeps only the cases whose ID passes, and skips decoding the others. */
  readonly filter?: (id: string) => boolean;
  readonly limits?: SizeLimits;
}

/**
 * Reads one vector file and yields its cases, and a LoadFailure for each problem: a missing or
 * oversized file, a hash mismatch, a damaged header or record, a case that differs from its
 * manifest digests, or a case count that differs from the header. Bad file content never throws.
 */
export async function* readVectorFile(path: string, options: ReadOptions = {}): AsyncGenerator<GoldenCase | LoadFailure> {
  const limits = options.limits ?? DEFAULT_LIMITS;

  const loaded = await readWholeFile(path, limits);
  if ("issue" in loaded) {
    yield loaded;
    return;
  }
  const bytes = loaded.bytes;

  const actual = options.sha256 === undefined ? undefined : sha256Hex(bytes);
  if (options.sha256 === undefined || actual === options.sha256) {
    yield* decodeRecords(path, bytes, options.filter, limits);
    return;
  }

  if (options.caseDigests === undefined || !canCheckCases(options.caseDigests)) {
    const message = `SHA-256 of ${path} is ${actual} but the manifest records ${options.sha256}, and the manifest has no case digests for all four parts, so no case can be checked on its own and the whole file is rejected. Run 'qmm-conformance vectors generate' to rebuild it`;
    yield failure(path, undefined, "E_HASH_MISMATCH", message, { expected: options.sha256, actual: actual! }, ["file"]);
    return;
  }

  const mismatch = { path, expected: options.sha256, actual: actual! };
  yield* keepMatchingCases(decodeRecords(path, bytes, options.filter, limits), mismatch, options.caseDigests, options.filter);
}

async function readWholeFile(path: string, limits: SizeLimits): Promise<{ bytes: Uint8Array } | LoadFailure> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === "ENOENT";
    const message = missing ? `${path} is missing; run 'qmm-conformance vectors generate' (with --dir for another folder) to build it` : `cannot read ${path}: ${(error as Error).message}`;
    return failure(path, undefined, "E_FILE_FORMAT", message, {}, ["file"]);
  }

  if (size > limits.maxFileBytes) {
    return failure(path, undefined, "E_TOO_LARGE", `${path} has ${size} bytes, above the limit of ${limits.maxFileBytes}`, { size, limit: limits.maxFileBytes }, ["file"]);
  }

  try {
    return { bytes: await readFile(path) };
  } catch (error) {
    return failure(path, undefined, "E_FILE_FORMAT", `cannot read ${path}: ${(error as Error).message}`, {}, ["file"]);
  }
}

function* decodeRecords(path: string, bytes: Uint8Array, filter: ((id: string) => boolean) | undefined, limits: SizeLimits): Generator<GoldenCase | LoadFailure> {
  const stream = decodeMulti(bytes, {
    maxBinLength: limits.maxTensorBytes,
    maxStrLength: 1 << 20,
    maxArrayLength: 1 << 20,
    maxMapLength: 1 << 10,
    maxExtLength: 0,
  });

  let header: { caseCount: number } | undefined;
  let index = 0;
  try {
    for (const value of stream) {
      if (header === undefined) {
        const parsed = headerRecordSchema.safeParse(value);
        if (!parsed.success) {
          yield { kind: "load-failure", file: path, issue: specIssueFromZod(parsed.error, "E_FILE_FORMAT", ["header"]) };
          return;
        }
        header = parsed.data;
        continue;
      }

      const result = decodeOne(path, value, index, filter, limits);
      index++;
      if (result !== undefined) yield result;
    }
  } catch (error) {
    yield decoderFailure(path, error, index);
    return;
  }

  if (header === undefined) {
    yield failure(path, undefined, "E_FILE_FORMAT", `${path} is empty; a vector file starts with a header record`, {}, ["header"]);
  } else if (index !== header.caseCount) {
    yield failure(path, undefined, "E_FILE_FORMAT", `${path} holds ${index} case records but its header declares ${header.caseCount}; the file is truncated or was edited`, { expected: header.caseCount, actual: index }, ["header", "caseCount"]);
  }
}

function decodeOne(path: string, value: unknown, index: number, filter: ((id: string) => boolean) | undefined, limits: SizeLimits): GoldenCase | LoadFailure | undefined {
  const id = readableId(value);

  // Checked before the filter, so an altered ID is reported whatever the selection. The failure
  // carries the ID escaped, because reports print it.
  if (id !== undefined && hasControlCharacters(id)) {
    const shown = escapeControlCharacters(id);
    const message = `case record ${index} in ${path} has the ID "${shown}" (control characters shown escaped), which no generated file contains. Regenerate the file with 'qmm-conformance vectors generate'`;
    return failure(path, shown, "E_FILE_FORMAT", message, { id: shown }, ["cases", index, "id"]);
  }

  if (id !== undefined && filter !== undefined && !filter(id)) return undefined;

  const parsed = caseRecordSchema.safeParse(value);
  if (!parsed.success) {
    return { kind: "load-failure", file: path, ...(id === undefined ? {} : { caseId: id }), issue: specIssueFromZod(parsed.error, "E_FILE_FORMAT", ["cases", id ?? index]) };
  }

  try {
    return decodeCase(parsed.data, limits);
  } catch (error) {
    if (error instanceof QmmError) {
      return { kind: "load-failure", file: path, caseId: parsed.data.id, issue: { ...error.issue, path: ["cases", parsed.data.id, ...error.issue.path] } };
    }
    const message = error instanceof Error ? error.message : String(error);
    return failure(path, parsed.data.id, "E_FILE_FORMAT", `case ${parsed.data.id} in ${path} cannot be decoded: ${message}`, {}, ["cases", parsed.data.id]);
  }
}

function readableId(value: unknown): string | undefined {
  if (value === null || typeof value !== "object") return undefined;
  const id = (value as { id?: unknown }).id;
  return typeof id === "string" ? id : undefined;
}

function decoderFailure(path: string, error: unknown, index: number): LoadFailure {
  const message = error instanceof Error ? error.message : String(error);

  // @msgpack/msgpack reports a length over its limits as "Max length exceeded" before it allocates.
  if (/max length exceeded/i.test(message)) {
    return failure(path, undefined, "E_TOO_LARGE", `${path}: record ${index} declares a length above the limits (${message})`, { record: index }, ["cases", index]);
  }
  return failure(path, undefined, "E_FILE_FORMAT", `${path} is truncated or corrupted after ${index} case records (${message}); regenerate it with 'qmm-conformance vectors generate'`, { record: index }, ["cases", index]);
}

function failure(file: string, caseId: string | undefined, code: ErrorCode, message: string, values: SpecIssue["values"], path: readonly (string | number)[]): LoadFailure {
  const issue = specIssue(code, message, { ...values }, path);
  return caseId === undefined ? { kind: "load-failure", file, issue } : { kind: "load-failure", file, caseId, issue };
}
