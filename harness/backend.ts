/**
 * The backend contract. A backend is a small registered record (name, probe, run), not a class
 * hierarchy: the JS backend, the native addon, the MLX worker and any `cmd:` program all fit it.
 */
import type { ErrorCode } from "../spec/errors.ts";
import type { NumericsVariant } from "../spec/variants.ts";
import type { FloatDType, Mode, QmmInputs, QmmParamsInput, Tensor } from "../spec/types.ts";

/** The cases a backend can run. A case outside them is reported as unsupported, never as failed. */
export interface Capabilities {
  readonly modes: readonly Mode[];
  /** Allowed bits per mode; a missing mode means the spec's full set. */
  readonly bits?: Partial<Record<Mode, readonly number[]>>;
  readonly dtypes: readonly FloatDType[];
  readonly transpose: readonly boolean[];
  /** Whether w may have batch dimensions. */
  readonly batchedWeights: boolean;
  /** The largest output element count the backend accepts in one call, if limited. */
  readonly maxOutputElements?: number;
  /** Whether the backend validates inputs and reports the spec's error codes. */
  readonly reportsErrors: boolean;
}

/** The result of probing a backend before a run. */
export type BackendProbe =
  | {
      readonly kind: "available";
      readonly version: string;
      readonly variant: NumericsVariant;
      readonly capabilities: Capabilities;
      /** Free-form facts for the report, e.g. the CPU features a native build dispatches to. */
      readonly details?: Readonly<Record<string, string>>;
    }
  | {
      readonly kind: "unavailable";
      readonly reason: string;
      /** The command that would make the backend available, if there is one. */
      readonly fix?: string;
    };

/** One call of the operation, as the harness hands it to a backend. */
export interface BackendCall {
  /** The stable case ID, so a backend can log or skip by it. */
  readonly caseId: string;
  readonly inputs: QmmInputs;
  readonly params: QmmParamsInput;
}

/** A backend's result for one call. */
export type CallOutcome =
  | { readonly kind: "ok"; readonly y: Tensor; readonly seconds?: number }
  | { readonly kind: "error"; readonly code: ErrorCode | string; readonly message: string }
  | { readonly kind: "unsupported"; readonly reason: string }
  | { readonly kind: "crashed"; readonly message: string; readonly stderrTail: string }
  | { readonly kind: "timeout"; readonly seconds: number; readonly stderrTail: string };

/** A registered backend. */
export interface Backend {
  readonly name: string;
  /** Checks whether the backend can run here and what it declares. Never throws for an unavailable backend. */
  probe(): Promise<BackendProbe>;
  /** Runs a batch of calls; the outcomes are in the same order. A failure of one call never rejects the batch. */
  run(calls: readonly BackendCall[]): Promise<CallOutcome[]>;
  /**
   * The longest one call can take, in seconds, when the backend enforces timeouts of its own (a
   * worker's reply and restart timeouts). The runner's batch deadline leaves this much per call.
   */
  readonly maxCallSeconds?: number;
  /**
   * Releases processes or memory the backend holds. The runner also calls it when a batch misses
   * its deadline, then waits for the abandoned run and may call run() again, so a backend should
   * stop a run in progress and start afresh on the next one.
   */
  close?(): Promise<void>;
}
