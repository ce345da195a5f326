/**
 * Per-case digests for the manifest: three short hashes per case, of its inputs, its expected y
 * (or error code), and its exact value and condition data. With them `vectors verify` names the
 * cases a change affected and reports whether y itself changed or only the float64 side data.
 */
import { Encoder } from "@msgpack/msgpack";
import type { GoldenCase } from "../case.ts";
import { encodeCase } from "./codec.ts";
import { sha256Hex } from "./file.ts";

/** Hex digits kept of each SHA-256: 64 bits, plenty to tell changed cases apart. */
const DIGEST_LENGTH = 16;

/** The three digests of one case: inputs and parameters, expected y or code, exact and condition data. */
export type CaseDigest = readonly [inputs: string, y: string, exactAndCondition: string];

/** Computes the digests of one case from its encoded record. */
export function digestCase(golden: GoldenCase): CaseDigest {
  const encoder = new Encoder({ sortKeys: true, ignoreUndefined: true });
  const record = encodeCase(golden);
  const short = (value: unknown) => sha256Hex(encoder.encode(value)).slice(0, DIGEST_LENGTH);

  const inputs = short({ params: record.params, inputs: record.inputs, exactTier: record.exactTier });
  if (record.expected.kind === "error") return [inputs, short(record.expected.code), short(null)];
  return [inputs, short(record.expected.y), short({ exact: record.expected.exact, condition: record.expected.condition })];
}

/** One case whose digests differ between the manifest and regenerated data. */
export interface CaseChange {
  readonly id: string;
  /** The changed parts: `added`, `removed`, or any of `inputs`, `y`, `exact/condition`. */
  readonly parts: readonly string[];
}

/** Compares two digest maps and lists every added, removed or changed case. */
export function compareDigests(recorded: Readonly<Record<string, CaseDigest>>, current: Readonly<Record<string, CaseDigest>>): CaseChange[] {
  const changes: CaseChange[] = [];
  const names = ["inputs", "y", "exact/condition"];

  for (const [id, digest] of Object.entries(current)) {
    const before = recorded[id];
    if (before === undefined) {
      changes.push({ id, parts: ["added"] });
      continue;
    }
    const parts = names.filter((_, index) => before[index] !== digest[index]);
    if (parts.length > 0) changes.push({ id, parts });
  }
  for (const id of Object.keys(recorded)) {
    if (current[id] === undefined) changes.push({ id, parts: ["removed"] });
  }
  return changes;
}
