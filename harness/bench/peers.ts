/**
 * The implementations a benchmark compares. A peer prepares one case (untimed: weights
 * uploaded, models built, inputs validated) and returns a call to time, or the reason it cannot
 * run the case.
 */
import type { QmmInputs, QmmParamsInput } from "../../spec/types.ts";
import type { Backend } from "../backend.ts";
import { resolveBackend } from "../registry.ts";
import type { BenchCase } from "./cases.ts";
import { weightBytes } from "./inputs.ts";

/** A case made ready to time. */
export interface PreparedCall {
  /** Runs the case once; rejects if the implementation failed. */
  run(): Promise<void>;
  /** Bytes of weight data one call reads, in the peer's own format. */
  readonly weightBytes: number;
  /** A remark for the table: how the format differs from the qmm-conformance one, or what the timing includes. */
  readonly note?: string;
  /** Marks a floor to compare with (the streaming read), which takes no part in the "x fastest" ratios. */
  readonly reference?: boolean;
  /** Releases what the preparation holds. */
  dispose?(): Promise<void>;
}

/** The outcome of preparing a case on a peer. */
export type Preparation = { readonly kind: "ready"; readonly call: PreparedCall } | { readonly kind: "unsupported"; readonly reason: string };

/** The outcome of setting a peer up. */
export type PeerStatus = { readonly kind: "available"; readonly version: string; readonly details?: string } | { readonly kind: "unavailable"; readonly reason: string };

/** One compared implementation. */
export interface BenchPeer {
  readonly name: string;
  /** One line on what is measured. */
  readonly description: string;
  setUp(): Promise<PeerStatus>;
  prepare(c: BenchCase, inputs: QmmInputs): Promise<Preparation>;
  close(): Promise<void>;
}

/** Returns the parameters of a case as the operation takes them. */
export function caseParams(c: BenchCase): QmmParamsInput {
  return { mode: c.mode, transpose: true, groupSize: c.groupSize, bits: c.bits };
}

/**
 * Wraps a registered qmm-conformance backend. Each timed call is a full Backend.run: input
 * validation, for worker backends the transfer of every tensor, and the result.
 */
export function backendPeer(name: string, description: string): BenchPeer {
  let backend: Backend | undefined;

  return {
    name,
    description,

    async setUp() {
      backend = (await resolveBackend(name, { timeoutSeconds: 600 })).backend;
      const probe = await backend.probe();
      if (probe.kind === "unavailable") return { kind: "unavailable", reason: probe.fix === undefined ? probe.reason : `${probe.reason} (fix: ${probe.fix})` };
      return { kind: "available", version: probe.version, details: `variant ${probe.variant.name}` };
    },

    async prepare(c, inputs) {
      const target = backend;
      if (target === undefined) return { kind: "unsupported", reason: "the backend was not set up" };

      const calls = [{ caseId: `bench/${c.id}`, inputs, params: caseParams(c) }];
      return {
        kind: "ready",
        call: {
          weightBytes: weightBytes(inputs),
          async run() {
            const [outcome] = await target.run(calls);
            if (outcome.kind !== "ok") throw new Error(`${name} returned ${outcome.kind}: ${"message" in outcome ? outcome.message : "reason" in outcome ? outcome.reason : ""}`);
          },
        },
      };
    },

    async close() {
      await backend?.close?.();
    },
  };
}
