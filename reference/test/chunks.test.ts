import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { MAX_CHUNKS, splitIntoChunks } from "../matmul/chunks.ts";
import { exactOfDouble } from "./rational-oracle.ts";

/** Products of two float32 values, as the transpose=false kernel splits them. */
const float32Product = fc
  .tuple(fc.float({ noNaN: true, noDefaultInfinity: true }), fc.float({ noNaN: true, noDefaultInfinity: true }))
  .map(([a, b]) => a * b);

describe("splitIntoChunks", () => {
  it("keeps every weighted chunk sum exact in float64", () => {
    fc.assert(
      fc.property(fc.array(float32Product, { minLength: 1, maxLength: 300 }), fc.integer({ min: 1, max: 18 }), fc.integer(), (list, weightBits, seed) => {
        const values = Float64Array.from(list);
        const K = values.length;
        const chunks = new Float64Array(K * MAX_CHUNKS);
        const count = splitIntoChunks(values, weightBits, chunks);
        fc.pre(count !== undefined);

        let state = seed >>> 0 || 1;
        const weights = values.map(() => {
          state = (state * 1103515245 + 12345) >>> 0;
          return (state % 2 ** weightBits) - 2 ** (weightBits - 1);
        });

        let exact = 0n;
        for (let k = 0; k < K; k++) exact += exactOfDouble(values[k]) * BigInt(weights[k]);

        let fromChunks = 0n;
        for (let j = 0; j < count!; j++) {
          let sum = 0;
          for (let k = 0; k < K; k++) sum += chunks[j * K + k] * weights[k];
          fromChunks += exactOfDouble(sum);
        }
        expect(fromChunks).toBe(exact);
      }),
      { numRuns: 500 },
    );
  });

  it("declines values that span too many binades", () => {
    const values = Float64Array.from([2 ** 100, 2 ** -300]);
    expect(splitIntoChunks(values, 8, new Float64Array(2 * MAX_CHUNKS))).toBeUndefined();
  });

  it("returns zero chunks for an all-zero vector", () => {
    expect(splitIntoChunks(new Float64Array(4), 8, new Float64Array(4 * MAX_CHUNKS))).toBe(0);
  });
});
