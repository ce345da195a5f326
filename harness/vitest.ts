/**
 * Vitest integration: `await defineConformanceSuite(backend)` in a backend's own test file adds
 * one vitest test per golden case (named by case ID) in one describe block per suite. A failing
 * case fails its test with the located diff and the rerun line. Unsupported cases and known
 * divergences are skipped with their reason.
 *
 * @example
 * ```ts
 * import { defineConformanceSuite } from "qmm-conformance/harness/vitest.ts";
 * import { myBackend } from "./index.ts";
 * await defineConformanceSuite(myBackend, { suites: ["generated", "errors"] });
 * ```
 */
import { describe, it } from "vitest";
import type { Backend } from "./backend.ts";
import { formatIssue } from "../spec/errors.ts";
import type { GoldenCase, LoadFailure } from "../vectors/case.ts";
import { isFailingStatus } from "./run/records.ts";
import type { CaseRecord } from "./run/records.ts";
import { probeBackend, runCasesOnBackend } from "./run/runner.ts";
import type { KnownDivergence } from "./run/runner.ts";
import { compilePattern, inShard } from "./run/select.ts";
import type { Shard } from "./run/select.ts";
import { openCaseSource } from "./run/source.ts";

/** Options of {@link defineConformanceSuite}. */
export interface ConformanceSuiteOptions {
  /** The cases to run. Default: the vector store (`loadSuites`), restricted to `suites`. */
  readonly source?: Iterable<GoldenCase | LoadFailure> | AsyncIterable<GoldenCase | LoadFailure>;
  /** Suites to run; empty or missing means all. */
  readonly suites?: readonly string[];
  /** Case-ID glob or `/regex/`, as for `qmm-conformance run --filter`. */
  readonly filter?: string;
  readonly shard?: Shard;
  /** The vector folder, when it is not the store's default. */
  readonly vectorsDir?: string;
  /** Cases the backend is known to fail, with the reason for each. */
  readonly knownDivergences?: readonly KnownDivergence[];
  /** The maximum time one case may take, in seconds. Default 120. */
  readonly timeoutSeconds?: number;
  /** Fail instead of skipping when the backend is unavailable. Default false. */
  readonly require?: boolean;
}

/**
 * Registers the conformance suite of `backend` with vitest. Call it at the top level of a test
 * file and await it: it probes the backend and loads the cases while vitest collects tests.
 */
export async function defineConformanceSuite(backend: Backend, options: ConformanceSuiteOptions = {}): Promise<void> {
  const probe = await probeBackend(backend);
  const title = `conformance: ${backend.name}`;

  if (probe.kind === "unavailable") {
    const message = `backend ${backend.name} is unavailable: ${probe.reason}${probe.fix ? `. Fix: ${probe.fix}` : ""}`;
    describe(title, () => {
      it("backend is available", (context) => {
        if (options.require === true) throw new Error(message);
        context.skip(message);
      });
    });
    return;
  }

  const { bySuite, loadFailures } = await collectCases(options);
  const runOptions = {
    ...(options.timeoutSeconds === undefined ? {} : { timeoutSeconds: options.timeoutSeconds }),
    ...(options.vectorsDir === undefined ? {} : { vectorsDir: options.vectorsDir }),
    ...(options.knownDivergences === undefined ? {} : { knownDivergences: options.knownDivergences }),
  };
  const caseTimeout = (options.timeoutSeconds ?? 120) * 1000 + 10_000;

  describe(title, () => {
    for (const failure of loadFailures) {
      it(`load ${failure.caseId ?? failure.file}`, () => {
        throw new Error(`${failure.file}: ${formatIssue(failure.issue)}`);
      });
    }

    for (const [suite, cases] of bySuite) {
      describe(suite, () => {
        for (const golden of cases) {
          it(
            golden.id,
            async (context) => {
              const [record] = await runCasesOnBackend(backend, probe, [golden], runOptions);
              if (isFailingStatus(record.status)) throw new Error(failureMessage(record));
              if (record.status === "unsupported" || record.status === "known-divergence" || record.status === "inconclusive") {
                context.skip(`${record.status}: ${record.reason ?? ""}`);
              }
            },
            caseTimeout,
          );
        }
      });
    }
  });
}

async function collectCases(options: ConformanceSuiteOptions): Promise<{ bySuite: Map<string, GoldenCase[]>; loadFailures: LoadFailure[] }> {
  const suites = new Set(options.suites ?? []);
  const filter = options.filter === undefined ? null : compilePattern(options.filter);
  const selected = (caseId: string) => (filter === null || filter.matches(caseId)) && (options.shard === undefined || inShard(caseId, options.shard));
  const source =
    options.source ??
    openCaseSource({ suites: [...suites], filter: selected, ...(options.vectorsDir === undefined ? {} : { vectorsDir: options.vectorsDir }) });

  const bySuite = new Map<string, GoldenCase[]>();
  const loadFailures: LoadFailure[] = [];
  for await (const item of source) {
    if ("kind" in item && item.kind === "load-failure") {
      loadFailures.push(item);
      continue;
    }

    const golden = item as GoldenCase;
    if (suites.size > 0 && !suites.has(golden.suite)) continue;
    if (!selected(golden.id)) continue;

    const list = bySuite.get(golden.suite) ?? [];
    list.push(golden);
    bySuite.set(golden.suite, list);
  }
  return { bySuite, loadFailures };
}

function failureMessage(record: CaseRecord): string {
  return [`${record.status.toUpperCase()} ${record.backend} · ${record.caseId}`, record.text ?? "", `Rerun: ${record.rerun ?? ""}`].join("\n");
}
