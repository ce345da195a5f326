/**
 * Per-case digests for the manifest: four short hashes per case, of its inputs, its expected y
 * (or error code), its exact value and condition data, and its ID, suite and tags. With them
 * `vectors verify` names the cases a change affected and reports whether y itself changed or only
 * the float64 side data, and the loader keeps the intact cases of a damaged file.
 */
import { createHash } from "node:crypto";
import { Encoder } from "@msgpack/msgpack";
import type { GoldenCase } from "../case.ts";
import { encodeCase } from "./codec.ts";

/** Hex digits kept of each SHA-256: 64 bits, plenty to tell changed cases apart. */
const DIGEST_LENGTH = 16;

/**
 * The digests of one case: inputs and parameters, expected y or code, exact and condition data,
 * and the labels (ID, suite and tags). Together they cover every field of the case record.
 * Manifests written before the labels digest existed have only the first three.
 */
export type CaseDigest = readonly [inputs: string, y: string, exactAndCondition: string, labels?: string];

/** The names of the digest parts, in the order of {@link CaseDigest}. */
export const DIGEST_PARTS = ["inputs", "y", "exact/condition", "id/suite/tags"] as const;

/** Computes the digests of one case from its encoded record. */
export function digestCase(golden: GoldenCase): CaseDigest {
  const encoder = new Encoder({ sortKeys: true, ignoreUndefined: true });
  const record = encodeCase(golden);
  const short = (value: unknown) => createHash("sha256").update(encoder.encode(value)).digest("hex").slice(0, DIGEST_LENGTH);

  const inputs = short({ params: record.params, inputs: record.inputs, exactTier: record.exactTier });
  const labels = short({ id: record.id, suite: record.suite, tags: record.tags });
  if (record.expected.kind === "error") return [inputs, short(record.expected.code), short(null), labels];
  return [inputs, short(record.expected.y), short({ exact: record.expected.exact, condition: record.expected.condition }), labels];
}

/**
 * Names the parts whose digests differ. A part that either side lacks (a manifest without the
 * labels digest) is not compared.
 */
export function differingParts(recorded: CaseDigest, current: CaseDigest): string[] {
  return DIGEST_PARTS.filter((_, index) => recorded[index] !== undefined && current[index] !== undefined && recorded[index] !== current[index]);
}

/** One case whose digests differ between the manifest and regenerated data. */
export interface CaseChange {
  readonly id: string;
  /** The changed parts: `added`, `removed`, or any of {@link DIGEST_PARTS}. */
  readonly parts: readonly string[];
}

/** Compares two digest maps and lists every added, removed or changed case. */
export function compareDigests(recorded: Readonly<Record<string, CaseDigest>>, current: Readonly<Record<string, CaseDigest>>): CaseChange[] {
  const changes: CaseChange[] = [];

  for (const [id, digest] of Object.entries(current)) {
    const before = recorded[id];
    if (before === undefined) {
      changes.push({ id, parts: ["added"] });
      continue;
    }
    const parts = differingParts(before, digest);
    if (parts.length > 0) changes.push({ id, parts });
  }
  for (const id of Object.keys(recorded)) {
    if (current[id] === undefined) changes.push({ id, parts: ["removed"] });
  }
  return changes;
}
