/**
 * Timing of prepared calls. Several calls can be timed round-robin (one run of each, then the
 * next round), so that a change in machine load affects them alike. The bench still times one
 * peer at a time, because some peers keep threads spinning after a run.
 */

/** Timing statistics in seconds. */
export interface Timing {
  readonly median: number;
  readonly min: number;
  readonly repeats: number;
}

/** How many runs to make. */
export interface MeasureOptions {
  readonly warmup: number;
  readonly repeats: number;
  /**
   * A time budget in seconds per case and peer: a peer's warm-up stops early once one call has
   * used half of it, and the peer leaves the rounds once it has spent it (after at least one
   * timed run).
   */
  readonly maxSeconds: number;
}

/** Hooks of the measure loop. */
export interface MeasureHooks {
  /**
   * Runs before every warm-up and timed run, outside the timed interval (the cold-cache
   * eviction). Its time counts neither in the timings nor against `maxSeconds`.
   */
  readonly beforeRun?: () => void | Promise<void>;
  /** The clock in milliseconds; `performance.now` by default. */
  readonly now?: () => number;
}

/**
 * Times each call: up to `warmup` untimed runs each, then up to `repeats` rounds with one timed
 * run of every call still in the rounds. A call that throws rejects the whole measurement.
 */
export async function measureRoundRobin(calls: readonly (() => Promise<void>)[], options: MeasureOptions, hooks: MeasureHooks = {}): Promise<Timing[]> {
  const now = hooks.now ?? (() => performance.now());
  const timeRun = async (call: () => Promise<void>): Promise<number> => {
    await hooks.beforeRun?.();
    const start = now();
    await call();
    return (now() - start) / 1000;
  };

  for (const call of calls) {
    for (let i = 0; i < options.warmup; i++) {
      if ((await timeRun(call)) > options.maxSeconds / 2) break;
    }
  }

  const times: number[][] = calls.map(() => []);
  const spent = calls.map(() => 0);
  for (let round = 0; round < options.repeats; round++) {
    let active = false;
    for (const [index, call] of calls.entries()) {
      if (times[index].length > 0 && spent[index] > options.maxSeconds) continue;
      active = true;
      const seconds = await timeRun(call);
      times[index].push(seconds);
      spent[index] += seconds;
    }
    if (!active) break;
  }

  return times.map((list) => ({ median: median(list), min: Math.min(...list), repeats: list.length }));
}

/** Returns the median of a non-empty list (the mean of the two middle values for even lengths). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}
