/**
 * Loading the trustworthy part of a vector file whose SHA-256 differs from the manifest
 * (spec/FILES.md §14.3). A decoded case is kept only when all four of its digests equal the
 * manifest's. The four cover every field of a case record, so a truncated or partly altered file
 * loses only its damaged cases and an altered case never reaches a run.
 */
import { specIssue } from "../../spec/errors.ts";
import type { GoldenCase, LoadFailure } from "../case.ts";
import { DIGEST_PARTS, differingParts, digestCase } from "./digest.ts";
import type { CaseDigest } from "./digest.ts";

/** A file whose SHA-256 differs from the one the manifest records. */
export interface HashMismatch {
  readonly path: string;
  readonly expected: string;
  readonly actual: string;
}

/** Returns true when every case digest has all parts, so that every field of a case can be checked. */
export function canCheckCases(caseDigests: Readonly<Record<string, CaseDigest>>): boolean {
  return Object.values(caseDigests).every((digest) => digest.length === DIGEST_PARTS.length && digest.every((part) => part !== undefined));
}

/**
 * Passes on the cases of `items` whose digests match `caseDigests` and the load failures as they
 * come, and turns every other case into an E_HASH_MISMATCH failure. Ends with one E_HASH_MISMATCH
 * for the file that carries both hashes and the counts of kept, rejected and missing cases.
 * `filter` is the selection the reader applied, so that unselected cases are not called missing.
 */
export function* keepMatchingCases(
  items: Iterable<GoldenCase | LoadFailure>,
  mismatch: HashMismatch,
  caseDigests: Readonly<Record<string, CaseDigest>>,
  filter: ((id: string) => boolean) | undefined,
): Generator<GoldenCase | LoadFailure> {
  const { path } = mismatch;
  const present = new Set<string>();
  let kept = 0;
  let rejected = 0;

  for (const item of items) {
    if ("kind" in item && item.kind === "load-failure") {
      if (item.caseId !== undefined) {
        present.add(item.caseId);
        rejected++;
      }
      yield item;
      continue;
    }

    const golden = item as GoldenCase;
    present.add(golden.id);
    const failure = checkCase(golden, path, caseDigests);
    if (failure === undefined) {
      kept++;
      yield golden;
    } else {
      rejected++;
      yield failure;
    }
  }

  const missing = Object.keys(caseDigests).filter((id) => !present.has(id) && (filter === undefined || filter(id))).length;
  const message =
    `SHA-256 of ${path} is ${mismatch.actual} but the manifest records ${mismatch.expected}: the file is truncated, altered or stale. ` +
    `${kept} case(s) match their manifest digests and were loaded, ${rejected} were rejected and ${missing} are missing. ` +
    "Run 'qmm-conformance vectors generate' to rebuild it";
  yield { kind: "load-failure", file: path, issue: specIssue("E_HASH_MISMATCH", message, { expected: mismatch.expected, actual: mismatch.actual, kept, rejected, missing }, ["file"]) };
}

function checkCase(golden: GoldenCase, path: string, caseDigests: Readonly<Record<string, CaseDigest>>): LoadFailure | undefined {
  // Object.hasOwn keeps an ID such as "constructor" from matching an inherited property.
  if (!Object.hasOwn(caseDigests, golden.id)) {
    const message = `case ${golden.id} in ${path} is not listed in the manifest, so it is skipped. Run 'qmm-conformance vectors generate' to rebuild the file`;
    return { kind: "load-failure", file: path, caseId: golden.id, issue: specIssue("E_HASH_MISMATCH", message, { listed: false }, ["cases", golden.id]) };
  }

  const recorded = caseDigests[golden.id];
  const actual = digestCase(golden);
  const parts = differingParts(recorded, actual);
  if (parts.length === 0) return undefined;

  const message = `case ${golden.id} in ${path} differs from the manifest in ${parts.join(", ")}, so it is skipped. Run 'qmm-conformance vectors generate' to rebuild the file`;
  const values = { parts, expected: recorded.filter((part) => part !== undefined), actual: actual.filter((part) => part !== undefined) };
  return { kind: "load-failure", file: path, caseId: golden.id, issue: specIssue("E_HASH_MISMATCH", message, values, ["cases", golden.id]) };
}
