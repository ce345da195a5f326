/**
 * The records a conformance run produces, as zod schemas of the JSON report. The in-memory types
 * are the schemas' outputs. JSON has no NaN or infinities, so the file stores those numbers as the
 * strings "NaN", "Infinity" and "-Infinity" and parsing turns them back into numbers.
 */
import { z } from "zod";

/** A float64 number as the JSON report stores it. */
export const jsonFloatSchema = z.union([z.number(), z.enum(["NaN", "Infinity", "-Infinity"]).transform(Number)]);

/** The verdict on one case for one backend. */
export const CASE_STATUSES = ["passed", "failed", "unsupported", "known-divergence", "unexpected-pass", "inconclusive", "crashed", "timeout"] as const;

/** A case status. */
export type CaseStatus = (typeof CASE_STATUSES)[number];

/** One output element with its position and the numbers it was judged by. */
export const elementRowSchema = z.object({
  index: z.number().int(),
  /** The multi-dimensional index into the output. */
  position: z.array(z.number().int()),
  got: jsonFloatSchema,
  exact: jsonFloatSchema,
  expected: jsonFloatSchema,
  bound: jsonFloatSchema,
  errorUlps: jsonFloatSchema,
  ratio: jsonFloatSchema,
  mayOverflow: z.boolean(),
  failure: z.string().nullable(),
});

/** An element row. */
export type ElementRow = z.output<typeof elementRowSchema>;

/** A named pattern of failing elements, a hint at the kind of bug. */
export const failurePatternSchema = z.object({
  name: z.string(),
  description: z.string(),
});

/** A failure pattern. */
export type FailurePattern = z.output<typeof failurePatternSchema>;

/** The reason a case failed, with the facts that locate the problem. */
export const failureSchema = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("values"),
    variant: z.string(),
    elementCount: z.number().int(),
    failedCount: z.number().int(),
    mayOverflowCount: z.number().int(),
    /** The worst element and its neighbours along the last axis. */
    window: z.array(elementRowSchema),
    /** The first failed elements in index order. */
    firstFailures: z.array(elementRowSchema),
    outShape: z.array(z.number().int()),
    pattern: failurePatternSchema.nullable(),
  }),
  z.object({ kind: z.literal("mismatch"), what: z.enum(["dtype", "shape"]), expected: z.string(), actual: z.string() }),
  z.object({ kind: z.literal("wrong-error"), expected: z.string(), actual: z.string(), message: z.string() }),
  z.object({ kind: z.literal("unexpected-error"), actual: z.string(), message: z.string() }),
  z.object({ kind: z.literal("missing-error"), expected: z.string() }),
  z.object({ kind: z.literal("crashed"), message: z.string(), stderrTail: z.string() }),
  z.object({ kind: z.literal("timeout"), seconds: z.number(), stderrTail: z.string() }),
  z.object({ kind: z.literal("unmodelled-variant"), reason: z.string() }),
]);

/** A case failure. */
export type CaseFailure = z.output<typeof failureSchema>;

/** The record of one case on one backend. */
export const caseRecordSchema = z.object({
  backend: z.string(),
  suite: z.string(),
  caseId: z.string(),
  status: z.enum(CASE_STATUSES),
  /** The unsupported reason, or the known-divergence reason. */
  reason: z.string().optional(),
  /** Seconds the backend reported for the call, if it did. */
  seconds: z.number().optional(),
  /** error/budget of the worst element of a value case that produced values. */
  worstRatio: jsonFloatSchema.optional(),
  /** The element with the largest error/budget, with its error in ulps of the output dtype. */
  worst: elementRowSchema.optional(),
  /** Elements whose non-finite result was accepted because the computation may overflow (tag `may-overflow`). */
  mayOverflowAccepted: z.number().int().optional(),
  /**
   * Status `inconclusive`: elements within a budget of at least Σ|x·ŵ|, where an output of zero
   * would pass too. The declared variant is too loose to judge them.
   */
  vacuousElements: z.number().int().optional(),
  failure: failureSchema.optional(),
  /** The located diff and hints, rendered for people. */
  text: z.string().optional(),
  rerun: z.string().optional(),
});

/** A case record. */
export type CaseRecord = z.output<typeof caseRecordSchema>;

/** The probe result of one backend. */
export const backendRecordSchema = z.discriminatedUnion("status", [
  z.object({
    name: z.string(),
    status: z.literal("available"),
    version: z.string(),
    variant: z.string(),
    details: z.record(z.string(), z.string()).optional(),
    knownDivergences: z.number().int(),
  }),
  z.object({
    name: z.string(),
    status: z.literal("unavailable"),
    reason: z.string(),
    fix: z.string().optional(),
    /** True when the caller required this backend, so its absence fails the run. */
    required: z.boolean(),
  }),
]);

/** A backend record. */
export type BackendRecord = z.output<typeof backendRecordSchema>;

/** A vector file or case the run could not load. */
export const loadFailureRecordSchema = z.object({
  file: z.string(),
  caseId: z.string().optional(),
  code: z.string(),
  section: z.string(),
  /** The issue rendered with its code, section and offending values. */
  message: z.string(),
});

/** A load-failure record. */
export type LoadFailureRecord = z.output<typeof loadFailureRecordSchema>;

/** Counts for one backend and suite. */
export const summaryRowSchema = z.object({
  backend: z.string(),
  suite: z.string(),
  passed: z.number().int(),
  failed: z.number().int(),
  unsupported: z.number().int(),
  known: z.number().int(),
  unexpectedPass: z.number().int(),
  /** Cases that passed only within budgets too loose to judge (status `inconclusive`). */
  inconclusive: z.number().int().default(0),
  crashed: z.number().int(),
  timeout: z.number().int(),
  /** The largest error/budget ratio over the suite's value cases (≤ 1 passes), or null if none ran. */
  worstRatio: jsonFloatSchema.nullable(),
  /**
   * The median over the suite's value cases of each case's worst error/budget, or null if none
   * ran: how much of its budget a backend typically uses, to spot budgets that are far too loose.
   */
  medianRatio: jsonFloatSchema.nullable(),
});

/** A summary row. */
export type SummaryRow = z.output<typeof summaryRowSchema>;

/** The JSON report of a run: every case record, the backends, load failures and the summary. */
export const runReportSchema = z.object({
  format: z.literal("qmm-conformance-report/1"),
  startedAt: z.string(),
  seconds: z.number(),
  selection: z.object({
    filter: z.string().nullable(),
    shard: z.string().nullable(),
    suites: z.array(z.string()),
    /** Cases the selection matched; a run that matched none is not ok. Absent in older reports. */
    cases: z.int().nonnegative().optional(),
  }),
  backends: z.array(backendRecordSchema),
  loadFailures: z.array(loadFailureRecordSchema),
  summary: z.array(summaryRowSchema),
  records: z.array(caseRecordSchema),
  /** True when nothing failed: no failed, crashed or timed-out case, no load failure, no required backend missing. */
  ok: z.boolean(),
});

/** A run report. */
export type RunReport = z.output<typeof runReportSchema>;

/** Returns true for the statuses that fail a run. */
export function isFailingStatus(status: CaseStatus): boolean {
  return status === "failed" || status === "crashed" || status === "timeout";
}
