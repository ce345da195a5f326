/**
 * Reading and writing safetensors files: an 8-byte little-endian header length N, N bytes of
 * JSON (`{"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}`), then
 * the tensor bytes, little-endian, with offsets relative to the end of the header.
 * The reader trusts no declared size: every length and offset is checked against the real file
 * size before any buffer is allocated from it.
 */
import { randomBytes } from "node:crypto";
import { open, readFile, rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { fail } from "../../spec/errors.ts";
import type { ErrorValue } from "../../spec/errors.ts";
import { elementCount, parseTensor } from "../../spec/schema.ts";
import { findDuplicateKey } from "./json-keys.ts";
import type { DuplicateKey } from "./json-keys.ts";
import { TENSOR_DATA_CONSTRUCTORS } from "../../spec/types.ts";
import type { DType, Tensor, TensorData } from "../../spec/types.ts";

/** The safetensors dtype names this project reads and writes, with the project's dtype for each. */
export const SAFETENSORS_DTYPES = {
  F32: "float32",
  F16: "float16",
  BF16: "bfloat16",
  U32: "uint32",
  U8: "uint8",
  F64: "float64",
  I32: "int32",
} as const satisfies Record<string, DType>;

/** A safetensors dtype name. */
export type SafetensorsDType = keyof typeof SAFETENSORS_DTYPES;

const ELEMENT_BYTES: Readonly<Record<DType, number>> = {
  float32: 4,
  float16: 2,
  bfloat16: 2,
  uint32: 4,
  uint8: 1,
  float64: 8,
  int32: 4,
};

const SAFETENSORS_NAME_OF: Readonly<Record<DType, SafetensorsDType>> = {
  float32: "F32",
  float16: "F16",
  bfloat16: "BF16",
  uint32: "U32",
  uint8: "U8",
  float64: "F64",
  int32: "I32",
};

/**
 * The largest header the reader accepts, in bytes. 100,000,000 is the limit of the reference
 * implementation (the `safetensors` Rust crate), so every file it writes is readable here.
 */
export const DEFAULT_MAX_HEADER_BYTES = 100_000_000;

const METADATA_KEY = "__metadata__";

/** Limits applied while reading. */
export interface SafetensorsLimits {
  /** Largest accepted header length in bytes; a larger declared length is E_TOO_LARGE. */
  readonly maxHeaderBytes?: number;
}

/** The contents of a safetensors file. */
export interface SafetensorsContent {
  /** Tensors by name, in the order of their data offsets. */
  readonly tensors: ReadonlyMap<string, Tensor>;
  /** The `__metadata__` map, empty when the file has none. */
  readonly metadata: Readonly<Record<string, string>>;
}

interface HeaderEntry {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly begin: number;
  readonly end: number;
}

/** Decodes a safetensors file held in memory. `fileName` appears in every error. */
export function decodeSafetensors(bytes: Uint8Array, fileName: string, limits: SafetensorsLimits = {}): SafetensorsContent {
  const maxHeaderBytes = limits.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES;

  if (bytes.length < 8) {
    formatError(fileName, ["header_length"], `the file has ${bytes.length} bytes, fewer than the 8-byte header length`, { fileBytes: bytes.length });
  }

  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const declaredLength = view.getBigUint64(0, true);
  if (declaredLength > BigInt(maxHeaderBytes)) {
    fail("E_TOO_LARGE", `the header length ${declaredLength} is larger than the limit of ${maxHeaderBytes} bytes`, { file: fileName, headerBytes: Number(declaredLength), maxHeaderBytes }, ["file", fileName, "header_length"]);
  }

  const headerLength = Number(declaredLength);
  if (8 + headerLength > bytes.length) {
    formatError(fileName, ["header_length"], `the header length ${headerLength} goes beyond the end of the file (${bytes.length} bytes); the file is truncated or not safetensors`, { headerBytes: headerLength, fileBytes: bytes.length });
  }

  const header = parseHeaderJson(bytes.subarray(8, 8 + headerLength), fileName);
  const dataBytes = bytes.subarray(8 + headerLength);
  const { entries, metadata } = readHeaderEntries(header, fileName);

  checkOffsetsCoverData(entries, dataBytes.length, fileName);

  const tensors = new Map<string, Tensor>();
  for (const entry of entries) {
    tensors.set(entry.name, { dtype: entry.dtype, shape: entry.shape, data: copyTensorData(dataBytes.subarray(entry.begin, entry.end), entry.dtype) });
  }
  return { tensors, metadata };
}

/** Encodes tensors and string metadata as a safetensors file. Throws E_DATA_LENGTH for a malformed tensor. */
export function encodeSafetensors(tensors: ReadonlyMap<string, Tensor> | Readonly<Record<string, Tensor>>, metadata: Readonly<Record<string, string>> = {}): Uint8Array {
  const named: [string, Tensor][] = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors as Readonly<Record<string, Tensor>>);
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header[METADATA_KEY] = { ...metadata };

  let offset = 0;
  for (const [name, tensor] of named) {
    if (name === METADATA_KEY || name.length === 0) {
      fail("E_PARAM_INVALID", `'${name}' cannot name a tensor in a safetensors file`, { tensor: name }, ["tensors", name]);
    }
    parseTensor(tensor, name);

    const byteLength = tensor.data.length * ELEMENT_BYTES[tensor.dtype];
    header[name] = { dtype: SAFETENSORS_NAME_OF[tensor.dtype], shape: [...tensor.shape], data_offsets: [offset, offset + byteLength] };
    offset += byteLength;
  }

  // Spaces pad the header so that the tensor bytes start at a multiple of 8 (JSON allows trailing whitespace).
  let json = JSON.stringify(header);
  const headerBytes = new TextEncoder().encode(json);
  const padding = (8 - ((8 + headerBytes.length) % 8)) % 8;
  json += " ".repeat(padding);

  const encodedHeader = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + encodedHeader.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(encodedHeader.length), true);
  out.set(encodedHeader, 8);

  let position = 8 + encodedHeader.length;
  for (const [, tensor] of named) {
    const raw = littleEndianBytes(tensor.data);
    out.set(raw, position);
    position += raw.length;
  }
  return out;
}

/** Reads and decodes a safetensors file. A missing or unreadable file is E_FILE_FORMAT naming the file. */
export async function readSafetensors(path: string, limits: SafetensorsLimits = {}): Promise<SafetensorsContent> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? String(error);
    formatError(path, [], `the file cannot be read (${reason}); check the path and its permissions`, { reason });
  }
  return decodeSafetensors(bytes, path, limits);
}

/**
 * Writes a safetensors file atomically: the bytes go to a temporary file in the same folder,
 * which is renamed over `path` only once it is complete, so no partial file is ever left at `path`.
 */
export async function writeSafetensors(path: string, tensors: ReadonlyMap<string, Tensor> | Readonly<Record<string, Tensor>>, metadata: Readonly<Record<string, string>> = {}): Promise<void> {
  const bytes = encodeSafetensors(tensors, metadata);
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);

  try {
    const handle = await open(temporary, "wx");
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, path);
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
}

function parseHeaderJson(headerBytes: Uint8Array, fileName: string): Record<string, unknown> {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(headerBytes);
  } catch {
    formatError(fileName, ["header"], "the header is not valid UTF-8", {});
  }

  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (error) {
    formatError(fileName, ["header"], `the header is not valid JSON (${(error as Error).message})`, { headerStart: JSON.stringify(text.slice(0, 40)) });
  }

  if (header === null || typeof header !== "object" || Array.isArray(header)) {
    formatError(fileName, ["header"], "the header must be a JSON object", {});
  }

  // JSON.parse keeps the last of two equal keys, and RFC 8259 §4 lets other readers fail or keep
  // every pair, so a repeated key makes the file ambiguous and is rejected.
  const duplicate = findDuplicateKey(text);
  if (duplicate !== undefined) rejectDuplicateKey(fileName, duplicate);
  return header as Record<string, unknown>;
}

function rejectDuplicateKey(fileName: string, duplicate: DuplicateKey): never {
  const { key, path } = duplicate;
  const field = ["header", ...path.map(String), key];
  const object = ["header", ...path].join(".");

  let message: string;
  if (path.length === 0 && key !== METADATA_KEY) {
    message = `the header names tensor ${key} twice, and JSON readers differ in which entry they keep. Write the file again with each tensor once`;
  } else {
    message = `the key ${key} appears twice in ${object}, and JSON readers differ in which value they keep. Write the file again with each key once`;
  }
  formatError(fileName, field, message, { key, object });
}

function readHeaderEntries(header: Record<string, unknown>, fileName: string): { entries: HeaderEntry[]; metadata: Record<string, string> } {
  const entries: HeaderEntry[] = [];
  let metadata: Record<string, string> = {};

  for (const [name, value] of Object.entries(header)) {
    if (name === METADATA_KEY) {
      metadata = readMetadata(value, fileName);
      continue;
    }
    entries.push(readHeaderEntry(name, value, fileName));
  }
  return { entries, metadata };
}

function readMetadata(value: unknown, fileName: string): Record<string, string> {
  // mx.save_safetensors writes `"__metadata__": null` when it is given no metadata.
  if (value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) {
    formatError(fileName, [METADATA_KEY], "__metadata__ must be an object of string values", {});
  }

  const metadata: Record<string, string> = {};
  for (const [key, entry] of Object.entries(value)) {
    if (typeof entry !== "string") {
      formatError(fileName, [METADATA_KEY, key], `__metadata__.${key} must be a string, got ${JSON.stringify(entry)}`, { key });
    }
    metadata[key] = entry;
  }
  return metadata;
}

function readHeaderEntry(name: string, value: unknown, fileName: string): HeaderEntry {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    formatError(fileName, [name], `tensor ${name} must be described by an object with dtype, shape and data_offsets`, { tensor: name });
  }
  const record = value as Record<string, unknown>;

  const dtypeName = record.dtype;
  if (typeof dtypeName !== "string" || !Object.hasOwn(SAFETENSORS_DTYPES, dtypeName)) {
    formatError(fileName, [name, "dtype"], `tensor ${name} has dtype ${JSON.stringify(dtypeName)}, which is not one of ${Object.keys(SAFETENSORS_DTYPES).join(", ")}`, { tensor: name, dtype: String(dtypeName) });
  }
  const dtype = SAFETENSORS_DTYPES[dtypeName as SafetensorsDType];

  const shape = record.shape;
  if (!Array.isArray(shape) || !shape.every((dimension) => Number.isSafeInteger(dimension) && dimension >= 0)) {
    formatError(fileName, [name, "shape"], `tensor ${name} must have a shape of non-negative integers, got ${JSON.stringify(shape)}`, { tensor: name });
  }

  const offsets = record.data_offsets;
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((offset) => Number.isSafeInteger(offset) && offset >= 0) || offsets[0] > offsets[1]) {
    formatError(fileName, [name, "data_offsets"], `tensor ${name} must have data_offsets [begin, end] with 0 ≤ begin ≤ end, got ${JSON.stringify(offsets)}`, { tensor: name });
  }
  const [begin, end] = offsets as [number, number];

  const expectedBytes = elementCount(shape) * ELEMENT_BYTES[dtype];
  if (end - begin !== expectedBytes) {
    fail(
      "E_DATA_LENGTH",
      `tensor ${name} has ${end - begin} data bytes but shape [${shape.join(",")}] of ${dtypeName} needs ${expectedBytes}`,
      { file: fileName, tensor: name, shape: shape as number[], dtype: dtypeName, dataBytes: end - begin, expectedBytes },
      ["file", fileName, name, "data_offsets"],
    );
  }
  return { name, dtype, shape: shape as number[], begin, end };
}

/** The tensors must tile the data buffer exactly: no offset past its end, no overlap, no hole. */
function checkOffsetsCoverData(entries: HeaderEntry[], dataLength: number, fileName: string): void {
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);

  let covered = 0;
  for (const entry of entries) {
    if (entry.end > dataLength) {
      formatError(fileName, [entry.name, "data_offsets"], `tensor ${entry.name} ends at byte ${entry.end} but the data buffer has ${dataLength} bytes; the file is truncated`, { tensor: entry.name, end: entry.end, dataBytes: dataLength });
    }
    if (entry.begin < covered) {
      formatError(fileName, [entry.name, "data_offsets"], `tensor ${entry.name} starts at byte ${entry.begin}, inside the bytes of another tensor that end at ${covered}`, { tensor: entry.name, begin: entry.begin, previousEnd: covered });
    }
    if (entry.begin > covered) {
      formatError(fileName, [entry.name, "data_offsets"], `bytes ${covered} to ${entry.begin} of the data buffer belong to no tensor`, { tensor: entry.name, begin: entry.begin, previousEnd: covered });
    }
    covered = entry.end;
  }

  if (covered !== dataLength) {
    formatError(fileName, ["data"], `the data buffer has ${dataLength} bytes but the tensors cover ${covered}; the file has trailing bytes`, { dataBytes: dataLength, coveredBytes: covered });
  }
}

const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Copies little-endian element bytes into a fresh, aligned typed array of the dtype. */
function copyTensorData(raw: Uint8Array, dtype: DType): TensorData {
  const copy = new Uint8Array(raw.length);
  copy.set(raw);
  if (!HOST_IS_LITTLE_ENDIAN) swapBytes(copy, ELEMENT_BYTES[dtype]);

  return new TENSOR_DATA_CONSTRUCTORS[dtype](copy.buffer);
}

function littleEndianBytes(data: TensorData): Uint8Array {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (HOST_IS_LITTLE_ENDIAN || data.BYTES_PER_ELEMENT === 1) return bytes;

  const copy = bytes.slice();
  swapBytes(copy, data.BYTES_PER_ELEMENT);
  return copy;
}

function swapBytes(bytes: Uint8Array, width: number): void {
  for (let start = 0; start < bytes.length; start += width) bytes.subarray(start, start + width).reverse();
}

function formatError(fileName: string, field: readonly string[], message: string, values: Record<string, ErrorValue>): never {
  fail("E_FILE_FORMAT", message, { file: fileName, ...values }, ["file", fileName, ...field]);
}
