/** A test helper shared by the reference's tests. */
import { expect } from "vitest";
import { QmmError } from "../../spec/errors.ts";

/** Runs `action`, expects it to throw a QmmError with `code`, and returns that error for more checks. */
export function expectQmmError(action: () => unknown, code: string): QmmError {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(QmmError);
    expect((error as QmmError).code).toBe(code);
    return error as QmmError;
  }
  throw new Error(`expected ${code}, but nothing was thrown`);
}
