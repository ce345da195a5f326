/**
 * Locating failed elements: multi-dimensional positions, windows of neighbours, and element rows
 * for reports.
 */
import type { ElementCheck } from "../budget/compare.ts";
import type { ElementRow } from "../run/records.ts";

/** Returns the row-major multi-dimensional index of flat `index` in `shape`. */
export function positionOf(index: number, shape: readonly number[]): number[] {
  const position = new Array<number>(shape.length);
  let rest = index;
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    const size = shape[axis];
    position[axis] = rest % size;
    rest = Math.floor(rest / size);
  }
  return position;
}

/** Returns the flat indices within `radius` of `index` along the last axis, in order. */
export function neighbourIndices(index: number, shape: readonly number[], radius: number): number[] {
  const lastSize = shape.length === 0 ? 1 : shape[shape.length - 1];
  const column = index % lastSize;
  const rowStart = index - column;
  const first = Math.max(0, column - radius);
  const last = Math.min(lastSize - 1, column + radius);

  const indices: number[] = [];
  for (let c = first; c <= last; c++) indices.push(rowStart + c);
  return indices;
}

/** Builds the report row of one checked element. */
export function elementRow(check: ElementCheck, shape: readonly number[]): ElementRow {
  return {
    index: check.index,
    position: positionOf(check.index, shape),
    got: check.got,
    exact: check.exact,
    expected: check.expected,
    bound: check.bound,
    errorUlps: check.errorUlps,
    ratio: check.ratio,
    mayOverflow: check.mayOverflow,
    failure: check.failure,
  };
}
