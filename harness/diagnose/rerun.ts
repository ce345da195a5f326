/** The one-line command that reruns a single case on a single backend. */

/** Quotes a word for a POSIX shell. */
export function shellQuote(word: string): string {
  if (/^[A-Za-z0-9_./:=@%+-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Returns `qmm-conformance run --backend NAME --filter 'CASE_ID'`, with the vector folder when it is not the default. */
export function rerunCommand(backend: string, caseId: string, vectorsDir?: string): string {
  const parts = ["qmm-conformance", "run", "--backend", shellQuote(backend), "--filter", `'${caseId.replace(/'/g, `'\\''`)}'`];
  if (vectorsDir !== undefined) parts.push("--vectors", shellQuote(vectorsDir));
  return parts.join(" ");
}
