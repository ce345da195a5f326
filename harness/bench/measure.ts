/** Timing of one prepared call: warm-up runs, then timed repeats summarized by the median. */

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
   * A time budget in seconds per case and peer: warm-up stops early once one call has used half
   * of it, and timed repeats stop once it is spent (at least one timed run always happens).
   */
  readonly maxSeconds: number;
}

/** Runs `call` up to `warmup` times untimed, then up to `repeats` times timed. */
export async function measure(call: () => Promise<void>, options: MeasureOptions): Promise<Timing> {
  for (let i = 0; i < options.warmup; i++) {
    const start = performance.now();
    await call();
    if ((performance.now() - start) / 1000 > options.maxSeconds / 2) break;
  }

  const times: number[] = [];
  const started = performance.now();
  for (let i = 0; i < options.repeats; i++) {
    const start = performance.now();
    await call();
    times.push((performance.now() - start) / 1000);
    if ((performance.now() - started) / 1000 > options.maxSeconds) break;
  }

  return { median: median(times), min: Math.min(...times), repeats: times.length };
}

/** Returns the median of a non-empty list (the mean of the two middle values for even lengths). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}
