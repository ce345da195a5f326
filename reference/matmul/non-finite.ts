/**
 * The non-finite rules of SPEC.md §8.3. Each term x_k·ŵ_k is evaluated with IEEE float64 rules
 * (inf·0 = NaN, inf + −inf = NaN); only the class of the terms matters, never their finite values.
 */

/** Returns NaN, +Infinity or −Infinity for the sum of the given term classes, or undefined when every term is finite. */
export function nonFiniteSum(nan: boolean, positiveInfinity: boolean, negativeInfinity: boolean): number | undefined {
  if (nan || (positiveInfinity && negativeInfinity)) return NaN;
  if (positiveInfinity) return Infinity;
  if (negativeInfinity) return -Infinity;
  return undefined;
}

/** Accumulates the classes of terms. */
export class TermClasses {
  nan = false;
  positiveInfinity = false;
  negativeInfinity = false;

  /** Records the class of one term evaluated in float64. */
  record(term: number): void {
    if (term !== term) this.nan = true;
    else if (term === Infinity) this.positiveInfinity = true;
    else if (term === -Infinity) this.negativeInfinity = true;
  }

  /** Returns the sum's value if any term is non-finite, else undefined. */
  result(): number | undefined {
    return nonFiniteSum(this.nan, this.positiveInfinity, this.negativeInfinity);
  }

  /** Clears the classes. */
  reset(): void {
    this.nan = false;
    this.positiveInfinity = false;
    this.negativeInfinity = false;
  }
}
