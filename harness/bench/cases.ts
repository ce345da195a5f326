/**
 * The benchmark cases: the two headline shapes (affine 4-bit, group 64, float32) and, at
 * K = N = 4096, M = 1 and M = 64 for every mode, bit width and group size of SPEC.md §2.2.
 */
import { MODE_RULES, MODES } from "../../spec/types.ts";
import type { Mode } from "../../spec/types.ts";

/** One benchmark shape and format, always transpose=true with float32 x, scales and biases. */
export interface BenchCase {
  /** A stable ID, e.g. `affine/b4/g64/M1_K8192_N8192`. */
  readonly id: string;
  readonly mode: Mode;
  readonly bits: number;
  readonly groupSize: number;
  readonly M: number;
  readonly K: number;
  readonly N: number;
  /** True for the shapes the performance targets are stated for. */
  readonly headline: boolean;
}

function benchCase(mode: Mode, bits: number, groupSize: number, M: number, K: number, N: number, headline: boolean): BenchCase {
  return { id: `${mode}/b${bits}/g${groupSize}/M${M}_K${K}_N${N}`, mode, bits, groupSize, M, K, N, headline };
}

/**
 * Returns the case that primes a peer after a cache eviction: the same format at M = 1 and
 * K = N = 512, small enough that its weights (at most 320 KiB) barely disturb the caches.
 */
export function primerCase(c: BenchCase): BenchCase {
  return benchCase(c.mode, c.bits, c.groupSize, 1, 512, 512, false);
}

/**
 * Returns the case list. `quick` keeps the two headline shapes, shrunk to K = N = 4096, and one
 * M = 1 case per fp mode.
 */
export function benchCases(quick: boolean): BenchCase[] {
  if (quick) {
    return [
      benchCase("affine", 4, 64, 1, 4096, 4096, true),
      benchCase("affine", 4, 64, 64, 4096, 4096, true),
      benchCase("mxfp4", 4, 32, 1, 4096, 4096, false),
      benchCase("mxfp8", 8, 32, 1, 4096, 4096, false),
      benchCase("nvfp4", 4, 16, 1, 4096, 4096, false),
    ];
  }

  const cases = [benchCase("affine", 4, 64, 1, 8192, 8192, true), benchCase("affine", 4, 64, 64, 4096, 4096, true)];
  for (const M of [1, 64]) {
    for (const mode of MODES) {
      const rule = MODE_RULES[mode];
      for (const bits of rule.bits) {
        for (const groupSize of rule.groupSizes) {
          if (mode === "affine" && bits === 4 && groupSize === 64 && M === 64) continue;
          cases.push(benchCase(mode, bits, groupSize, M, 4096, 4096, false));
        }
      }
    }
  }
  return cases;
}
