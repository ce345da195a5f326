/**
 * The conformance runner: probes backends, streams golden cases from a source, runs them in
 * batches on every available backend, judges each outcome and applies each backend's list of
 * known divergences. A crashing, hanging or broken backend is isolated: its cases are recorded as
 * crashed or timed out and the run goes on.
 */
import type { Backend, BackendCall, BackendProbe, CallOutcome } from "../backend.ts";
import { formatIssue, specIssue } from "../../spec/errors.ts";
import { numericsVariantSchema } from "../../spec/variants.ts";
import type { GoldenCase, LoadFailure } from "../../vectors/case.ts";
import { rerunCommand } from "../diagnose/rerun.ts";
import { evaluateOutcome, unsupportedReason } from "./evaluate.ts";
import { SILENT_PROGRESS } from "./progress.ts";
import type { ProgressSink } from "./progress.ts";
import { isFailingStatus } from "./records.ts";
import type { BackendRecord, CaseRecord, LoadFailureRecord, RunReport, SummaryRow } from "./records.ts";
import { compilePattern, inShard } from "./select.ts";
import type { CasePattern, Shard } from "./select.ts";
import { summarize } from "./summary.ts";

/** A case a backend is known to fail, with the reason. */
export interface KnownDivergence {
  /** A case-ID glob or `/regex/` (see compilePattern). */
  readonly pattern: string;
  readonly reason: string;
}

/** Options of a run. */
export interface RunOptions {
  /** Case-ID glob or `/regex/`; cases that do not match are skipped. */
  readonly filter?: string;
  readonly shard?: Shard;
  /** Suites to run; empty or missing means every suite of the source. */
  readonly suites?: readonly string[];
  /** Cases sent to a backend in one `run` call. Default 32. */
  readonly batchSize?: number;
  /**
   * The maximum time one call may take, in seconds. A batch gets this (or the backend's larger
   * `maxCallSeconds`) times its size, plus a margin. Default 120.
   */
  readonly timeoutSeconds?: number;
  /** Known divergences per backend name. */
  readonly knownDivergences?: Readonly<Record<string, readonly KnownDivergence[]>>;
  /** Backends whose unavailability fails the run. */
  readonly required?: readonly string[];
  /** The vector folder, when it is not the default, for the rerun lines. */
  readonly vectorsDir?: string;
  /** The number of cases the source will yield, if known, for the progress bar. */
  readonly expectedCases?: number;
  readonly progress?: ProgressSink;
  /** Called with each record as soon as it exists. */
  readonly onRecord?: (record: CaseRecord) => void;
}

const DEFAULT_BATCH_SIZE = 32;
const DEFAULT_TIMEOUT_SECONDS = 120;

interface ActiveBackend {
  readonly backend: Backend;
  readonly probe: Extract<BackendProbe, { kind: "available" }>;
  readonly known: readonly { pattern: CasePattern; reason: string }[];
}

/**
 * Probes a backend. A probe that throws or rejects, or that declares a numerics variant outside
 * the schema of spec/variants.ts, counts as unavailable with the reason.
 */
export async function probeBackend(backend: Backend): Promise<BackendProbe> {
  let probe: BackendProbe;
  try {
    probe = await backend.probe();
  } catch (error) {
    return { kind: "unavailable", reason: `probe failed: ${errorText(error)}` };
  }
  if (probe.kind !== "available") return probe;

  const variant = numericsVariantSchema.safeParse(probe.variant);
  if (!variant.success) {
    const issue = variant.error.issues[0];
    return {
      kind: "unavailable",
      reason: `the backend declares an invalid numerics variant: ${issue.path.join(".") || "variant"}: ${issue.message}`,
      fix: "declare a variant of spec/variants.ts, or one with the same fields (spec/NUMERICS.md)",
    };
  }
  return { ...probe, variant: variant.data };
}

/**
 * Runs the cases of `source` on `backends` and returns the full report. The report is not ok when
 * a case failed, a file failed to load, a required backend is unavailable or no case was selected.
 */
export async function runConformance(
  backends: readonly Backend[],
  source: AsyncIterable<GoldenCase | LoadFailure>,
  options: RunOptions = {},
): Promise<RunReport> {
  const startedAt = new Date();
  const progress = options.progress ?? SILENT_PROGRESS;
  const filter = options.filter === undefined ? null : compilePattern(options.filter);
  const suites = new Set(options.suites ?? []);
  const batchSize = Math.max(1, options.batchSize ?? DEFAULT_BATCH_SIZE);

  const { active, backendRecords } = await probeAll(backends, options);

  const records: CaseRecord[] = [];
  const loadFailures: LoadFailureRecord[] = [];
  let selected = 0;
  let done = 0;
  let failed = 0;
  const record = (entry: CaseRecord) => {
    records.push(entry);
    if (isFailingStatus(entry.status)) failed++;
    options.onRecord?.(entry);
  };

  const flush = async (batch: GoldenCase[]) => {
    // Backends run the batch concurrently, so a worker process computes while an in-process
    // backend does; records are still added in backend order.
    const results = await Promise.all(active.map((entry) => runBatch(entry, batch, options)));
    for (const batchRecords of results) batchRecords.forEach(record);
    selected += batch.length;
    // Progress counts cases that ran, so a run without an available backend does not claim any.
    if (active.length > 0) done += batch.length;
    progress.update({ done, failed, ...(options.expectedCases === undefined ? {} : { total: options.expectedCases }) });
  };

  let batch: GoldenCase[] = [];
  try {
    for await (const item of source) {
      if ("kind" in item && item.kind === "load-failure") {
        loadFailures.push(loadFailureRecord(item));
        continue;
      }

      const golden = item as GoldenCase;
      if (suites.size > 0 && !suites.has(golden.suite)) continue;
      if (filter !== null && !filter.matches(golden.id)) continue;
      if (options.shard !== undefined && !inShard(golden.id, options.shard)) continue;

      batch.push(golden);
      if (batch.length >= batchSize) {
        await flush(batch);
        batch = [];
      }
    }
  } catch (error) {
    // A case source that throws instead of yielding a LoadFailure ends the stream; the cases
    // read so far still run and the failure is reported.
    const issue = specIssue("E_FILE_FORMAT", `the case source failed: ${errorText(error)}`, {}, ["vectors"]);
    loadFailures.push(loadFailureRecord({ kind: "load-failure", file: "vectors", issue }));
  }
  if (batch.length > 0) await flush(batch);

  const seconds = (Date.now() - startedAt.getTime()) / 1000;
  progress.finish({ done, failed }, seconds);

  const summary: SummaryRow[] = summarize(records);
  const missingRequired = backendRecords.some((entry) => entry.status === "unavailable" && entry.required);
  const ok = failed === 0 && loadFailures.length === 0 && !missingRequired && selected > 0;

  return {
    format: "qmm-conformance-report/1",
    startedAt: startedAt.toISOString(),
    seconds,
    selection: { filter: options.filter ?? null, shard: options.shard ? `${options.shard.index}/${options.shard.count}` : null, suites: [...suites], cases: selected },
    backends: backendRecords,
    loadFailures,
    summary,
    records,
    ok,
  };
}

/**
 * Runs cases on a backend that probed available and returns a record per case, in order, with
 * the backend's known divergences applied. The runner calls this per batch; the vitest
 * integration calls it per case.
 */
export async function runCasesOnBackend(
  backend: Backend,
  probe: Extract<BackendProbe, { kind: "available" }>,
  cases: readonly GoldenCase[],
  options: Pick<RunOptions, "timeoutSeconds" | "vectorsDir"> & { readonly knownDivergences?: readonly KnownDivergence[] } = {},
): Promise<CaseRecord[]> {
  const known = (options.knownDivergences ?? []).map((entry) => ({ pattern: compilePattern(entry.pattern), reason: entry.reason }));
  return runBatch({ backend, probe, known }, cases, options);
}

/** Probes every backend and returns the available ones with their known-divergence patterns. */
async function probeAll(backends: readonly Backend[], options: RunOptions): Promise<{ active: ActiveBackend[]; backendRecords: BackendRecord[] }> {
  const required = new Set(options.required ?? []);
  const active: ActiveBackend[] = [];
  const backendRecords: BackendRecord[] = [];

  for (const backend of backends) {
    const probe = await probeBackend(backend);
    if (probe.kind === "unavailable") {
      const fix = probe.fix === undefined ? {} : { fix: probe.fix };
      backendRecords.push({ name: backend.name, status: "unavailable", reason: probe.reason, ...fix, required: required.has(backend.name) });
      continue;
    }

    const entries = options.knownDivergences?.[backend.name] ?? [];
    const known = entries.map((entry) => ({ pattern: compilePattern(entry.pattern), reason: entry.reason }));
    active.push({ backend, probe, known });
    backendRecords.push({
      name: backend.name,
      status: "available",
      version: probe.version,
      variant: probe.variant.name,
      ...(probe.details === undefined ? {} : { details: { ...probe.details } }),
      knownDivergences: known.length,
    });
  }
  return { active, backendRecords };
}

function loadFailureRecord(failure: LoadFailure): LoadFailureRecord {
  const caseId = failure.caseId === undefined ? {} : { caseId: failure.caseId };
  return { file: failure.file, ...caseId, code: failure.issue.code, section: failure.issue.section, message: formatIssue(failure.issue) };
}

/** Runs one batch on one backend and returns a record per case, in order. */
async function runBatch(entry: ActiveBackend, batch: readonly GoldenCase[], options: Pick<RunOptions, "timeoutSeconds" | "vectorsDir">): Promise<CaseRecord[]> {
  const { backend, probe } = entry;
  const results = new Array<CaseRecord>(batch.length);
  const calls: BackendCall[] = [];
  const callCases: number[] = [];

  batch.forEach((golden, position) => {
    const reason = unsupportedReason(golden, probe.capabilities);
    if (reason === null) {
      calls.push({ caseId: golden.id, inputs: golden.inputs, params: golden.params });
      callCases.push(position);
    } else {
      results[position] = { backend: backend.name, suite: golden.suite, caseId: golden.id, status: "unsupported", reason };
    }
  });

  const outcomes = calls.length === 0 ? [] : await callBackend(backend, calls, options.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS);

  callCases.forEach((position, n) => {
    const golden = batch[position];
    const context = { backend: backend.name, variant: probe.variant, rerun: rerunCommand(backend.name, golden.id, options.vectorsDir) };
    let result: CaseRecord;
    try {
      result = evaluateOutcome(golden, outcomes[n], context);
    } catch (error) {
      result = evaluateOutcome(golden, { kind: "crashed", message: `the harness could not judge the result: ${errorText(error)}`, stderrTail: "" }, context);
    }
    results[position] = applyKnown(result, entry.known);
  });

  return results;
}

/** Seconds the batch deadline adds to the per-call allowance, for the backend's own bookkeeping. */
const DEADLINE_MARGIN_SECONDS = 1;

/** Seconds the runner waits for an abandoned run to stop after it closed the backend. */
const ABANDON_WAIT_SECONDS = 10;

/** The maximum delay setTimeout accepts, in milliseconds; longer delays would fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Calls `backend.run` with a deadline: per call the larger of the case timeout and the backend's
 * own `maxCallSeconds`, so that a worker's reply and restart timeouts fire first and report the
 * case with its stderr. A rejection, a wrong number of outcomes or a missed deadline turns every
 * call of the batch into a crashed or timed-out outcome. After a missed deadline the backend is
 * closed and the abandoned run awaited, so the next batch never meets a busy backend.
 * NOTE: the deadline only fires while the event loop runs, so it cannot stop an in-process
 * backend that loops synchronously, and a native crash takes the harness down with it. Worker
 * backends (`cmd:`, mlx) run in their own process and are isolated from both.
 */
async function callBackend(backend: Backend, calls: readonly BackendCall[], timeoutSeconds: number): Promise<CallOutcome[]> {
  const perCall = Math.max(timeoutSeconds, backend.maxCallSeconds ?? 0);
  const deadline = perCall * calls.length + DEADLINE_MARGIN_SECONDS;

  let running: Promise<CallOutcome[]>;
  try {
    running = backend.run(calls);
  } catch (error) {
    return calls.map(() => ({ kind: "crashed", message: `run() threw: ${errorText(error)}`, stderrTail: "" }));
  }
  running.catch(() => undefined);

  let outcomes: CallOutcome[] | "timeout";
  try {
    outcomes = await withDeadline(running, deadline);
  } catch (error) {
    return calls.map(() => ({ kind: "crashed", message: `run() rejected: ${errorText(error)}`, stderrTail: "" }));
  }

  if (outcomes === "timeout") {
    await resetBackend(backend, running);
    return calls.map(() => ({ kind: "timeout", seconds: deadline, stderrTail: "" }));
  }
  if (!Array.isArray(outcomes) || outcomes.length !== calls.length) {
    const count = Array.isArray(outcomes) ? outcomes.length : typeof outcomes;
    return calls.map(() => ({ kind: "crashed", message: `run() returned ${count} outcomes for ${calls.length} calls`, stderrTail: "" }));
  }
  return outcomes;
}

/** Closes a backend whose batch missed its deadline and waits, within a bound, for the abandoned run. */
async function resetBackend(backend: Backend, running: Promise<unknown>): Promise<void> {
  const closing = Promise.resolve()
    .then(() => backend.close?.())
    .catch(() => undefined);
  await withDeadline(Promise.allSettled([closing, running]), ABANDON_WAIT_SECONDS);
}

/** Settles with `promise`, or with "timeout" after `seconds` (clamped to setTimeout's maximum). */
async function withDeadline<T>(promise: Promise<T>, seconds: number): Promise<T | "timeout"> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), Math.min(seconds * 1000, MAX_TIMER_MS));
    timer.unref();
  });

  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Turns a listed failure into a known divergence, and a listed pass into an unexpected pass. */
function applyKnown(result: CaseRecord, known: ActiveBackend["known"]): CaseRecord {
  const entry = known.find((candidate) => candidate.pattern.matches(result.caseId));
  if (entry === undefined) return result;

  if (isFailingStatus(result.status)) return { ...result, status: "known-divergence", reason: entry.reason };
  if (result.status === "passed") {
    return { ...result, status: "unexpected-pass", reason: `listed as a known divergence (${entry.pattern.source}: ${entry.reason}) but passed` };
  }
  return result;
}

function errorText(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
