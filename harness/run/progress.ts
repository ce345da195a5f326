/**
 * Progress output on stderr for long runs: a redrawn bar when stderr is a terminal, otherwise a
 * plain count line at most every 30 seconds (so CI logs show activity without flooding).
 */

/** Counts shown while a run is under way. */
export interface ProgressCounts {
  readonly done: number;
  /** The expected total number of cases, when the case source provides it. */
  readonly total?: number;
  readonly failed: number;
}

/** Receives progress updates. */
export interface ProgressSink {
  update(counts: ProgressCounts): void;
  finish(counts: ProgressCounts, seconds: number): void;
}

/** A sink that prints nothing. */
export const SILENT_PROGRESS: ProgressSink = { update() {}, finish() {} };

const BAR_WIDTH = 30;
const REDRAW_MS = 100;
const LOG_INTERVAL_MS = 30_000;

/** Creates the progress sink for a stream: a bar on a TTY, periodic lines otherwise. */
export function createProgress(stream: NodeJS.WriteStream = process.stderr): ProgressSink {
  const started = Date.now();
  let lastDraw = 0;

  const describe = ({ done, total, failed }: ProgressCounts) => {
    const count = total === undefined ? `${done} cases` : `${done}/${total} cases`;
    return `${count}, ${failed} failed`;
  };

  if (stream.isTTY) {
    return {
      update(counts) {
        const now = Date.now();
        if (now - lastDraw < REDRAW_MS) return;
        lastDraw = now;
        const filled = counts.total ? Math.round((BAR_WIDTH * counts.done) / Math.max(counts.total, 1)) : 0;
        const bar = counts.total ? `[${"#".repeat(filled)}${".".repeat(BAR_WIDTH - filled)}] ` : "";
        stream.write(`\r${bar}${describe(counts)}, ${((now - started) / 1000).toFixed(0)} s\x1b[K`);
      },
      finish(counts, seconds) {
        stream.write(`\r${describe(counts)} in ${seconds.toFixed(1)} s\x1b[K\n`);
      },
    };
  }

  return {
    update(counts) {
      const now = Date.now();
      if (now - started < LOG_INTERVAL_MS || now - lastDraw < LOG_INTERVAL_MS) return;
      lastDraw = now;
      stream.write(`qmm-conformance: ${describe(counts)} so far\n`);
    },
    finish(counts, seconds) {
      stream.write(`qmm-conformance: ${describe(counts)} in ${seconds.toFixed(1)} s\n`);
    },
  };
}
