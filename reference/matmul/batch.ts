/** Numpy-style broadcasting of batch dimensions (SPEC.md §6.3). */

/**
 * For every flat index of `outBatch`, returns the flat index into `batch` that numpy broadcasting
 * selects: dimensions are aligned from the right, and a dimension of size 1 (or a missing one) repeats.
 */
export function broadcastSourceIndices(outBatch: readonly number[], batch: readonly number[]): Int32Array {
  const count = outBatch.reduce((product, size) => product * size, 1);
  const sources = new Int32Array(count);
  if (batch.length === 0) return sources;

  const offset = outBatch.length - batch.length;
  const strides = new Array<number>(batch.length);
  let stride = 1;
  for (let d = batch.length - 1; d >= 0; d--) {
    strides[d] = batch[d] === 1 ? 0 : stride;
    stride *= batch[d];
  }

  for (let flat = 0; flat < count; flat++) {
    let rest = flat;
    let source = 0;
    for (let d = outBatch.length - 1; d >= 0; d--) {
      const index = rest % outBatch[d];
      rest = Math.floor(rest / outBatch[d]);
      if (d >= offset) source += index * strides[d - offset];
    }
    sources[flat] = source;
  }
  return sources;
}
