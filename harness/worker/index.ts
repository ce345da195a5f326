/**
 * A Backend that drives an external worker program over the subprocess protocol of
 * spec/PROTOCOL.md. The process stays alive across cases. A crashed, hung or misbehaving worker
 * costs only the case it was running: it is killed, the case is recorded as crashed or timed out
 * with the worker's stderr tail, and a new process is started for the next case.
 */
import { endianness } from "node:os";
import { ERROR_CODES, formatIssue, QmmError } from "../../spec/errors.ts";
import { FLOAT_DTYPES } from "../../spec/types.ts";
import type { Tensor } from "../../spec/types.ts";
import type { Backend, BackendCall, BackendProbe, CallOutcome } from "../backend.ts";
import { parseHello, parseMessage, paramsToWire, PROTOCOL_VERSION, replySchema, tensorToWire, wireToTensor } from "./messages.ts";
import type { HelloReply, Reply, WireTensor } from "./messages.ts";
import { WorkerProcess } from "./process.ts";
import type { RequestOutcome } from "./process.ts";

export { MAX_FRAME_BYTES } from "./frame.ts";
export { PROTOCOL_VERSION } from "./messages.ts";

/** Seconds a new worker may take to send its handshake, unless the per-request timeout is longer. */
const DEFAULT_START_TIMEOUT_SECONDS = 60;

/** Seconds allowed per call on top of the worker's own timeouts, for killing and restarting it. */
const RESTART_MARGIN_SECONDS = 10;

/** The parameter keys a `run` request can carry (as QmmParamsInput names them). */
const WIRE_PARAM_KEYS: ReadonlySet<string> = new Set(["mode", "transpose", "groupSize", "bits"]);

/** Options of {@link createWorkerBackend}. */
export interface WorkerBackendOptions {
  /** Seconds to wait for each reply before the worker is killed. */
  readonly timeoutSeconds: number;
  /**
   * Seconds to wait for the handshake of a new process, which may load a large library first.
   * Defaults to the larger of 60 and `timeoutSeconds`.
   */
  readonly startTimeoutSeconds?: number;
  /** The backend's name in reports; defaults to `cmd:COMMAND ARGS`. */
  readonly name?: string;
  /** Extra environment variables for the worker, on top of the harness's own. */
  readonly env?: Readonly<Record<string, string>>;
  /** The worker's working directory; defaults to the harness's. */
  readonly cwd?: string;
  /** The frame limit in bytes, at most 1 GiB (spec/PROTOCOL.md §13.2). */
  readonly maxFrameBytes?: number;
}

/** The reason the worker could not be used, with its stderr tail. */
export interface WorkerFailure {
  readonly kind: "crashed" | "timeout";
  readonly message: string;
  readonly stderrTail: string;
  readonly seconds?: number;
  /** True when the worker could not be started or failed its handshake, before any case ran. */
  readonly atStart?: boolean;
}

/** The result of an extension request (quantize, dequantize). */
export type ExtensionOutcome =
  | { readonly kind: "ok"; readonly y?: Tensor; readonly tensors: Readonly<Record<string, Tensor>> }
  | { readonly kind: "error"; readonly code: string; readonly message: string }
  | WorkerFailure;

/** A worker-driven Backend, plus the extension requests of spec/PROTOCOL.md §13.5. */
export interface WorkerBackend extends Backend {
  /** The handshake of the current process, starting one if needed; a failure as for `probe`. */
  hello(): Promise<HelloReply | WorkerFailure>;
  /** Sends an extension request such as `quantize` and returns its tensors. */
  extension(type: string, params: Readonly<Record<string, unknown>>, tensors: Readonly<Record<string, Tensor>>): Promise<ExtensionOutcome>;
  /** The process id of the running worker, if one is running (for tests and logs). */
  readonly pid: number | undefined;
}

/**
 * Creates a Backend that runs `command args...` as a worker. Nothing starts until the first
 * probe or run.
 */
export function createWorkerBackend(command: string, args: readonly string[], options: WorkerBackendOptions): WorkerBackend {
  if (endianness() !== "LE") throw new Error("the worker protocol sends typed arrays as little-endian bytes; this host is big-endian");

  const name = options.name ?? `cmd:${[command, ...args].join(" ")}`;
  const timeoutSeconds = options.timeoutSeconds;
  const startTimeoutSeconds = options.startTimeoutSeconds ?? Math.max(DEFAULT_START_TIMEOUT_SECONDS, timeoutSeconds);
  let current: { process: WorkerProcess; hello: HelloReply } | undefined;
  /** A process still in its handshake, so that close() can kill it too. */
  let starting: WorkerProcess | undefined;
  /** Incremented by close(); a run that began before it stops at its next call. */
  let generation = 0;
  let nextId = 0;

  async function startWorker(): Promise<{ process: WorkerProcess; hello: HelloReply } | WorkerFailure> {
    const startedIn = generation;
    const process = WorkerProcess.start({ command, args, env: options.env, cwd: options.cwd, maxFrameBytes: options.maxFrameBytes });
    starting = process;
    const outcome = await process.request({ type: "hello", protocol: PROTOCOL_VERSION }, startTimeoutSeconds);
    if (starting === process) starting = undefined;

    const hello = await handshakeResult(process, outcome, startTimeoutSeconds);
    if ("kind" in hello) return hello;
    if (generation !== startedIn) {
      await process.kill();
      return { kind: "crashed", message: "the backend was closed while the worker was starting", stderrTail: "" };
    }
    return { process, hello };
  }

  async function ensureWorker(): Promise<{ process: WorkerProcess; hello: HelloReply } | WorkerFailure> {
    if (current !== undefined && !current.process.isDead) return current;

    current = undefined;
    const started = await startWorker();
    if ("kind" in started) return { ...started, atStart: true };
    current = started;
    return started;
  }

  /** Sends one request and turns every way it can go wrong into a WorkerFailure. */
  async function exchange(message: Readonly<Record<string, unknown>>): Promise<{ reply: Reply; seconds: number } | WorkerFailure> {
    const worker = await ensureWorker();
    if ("kind" in worker) return worker;

    const started = performance.now();
    const outcome = await worker.process.request(message, timeoutSeconds);
    const seconds = (performance.now() - started) / 1000;

    const failure = await failureOf(worker.process, outcome);
    if (failure !== undefined) {
      if (current === worker) current = undefined;
      return failure;
    }

    const value = (outcome as { value: unknown; frame: number }).value;
    const frame = (outcome as { value: unknown; frame: number }).frame;
    try {
      const reply = parseMessage(replySchema, value, frame);
      if (reply.id !== message.id) {
        throw new QmmError({
          code: "E_FRAME",
          section: "§13.2",
          path: ["frame", frame, "id"],
          message: "the reply's id does not match the request",
          values: { frame, requestId: Number(message.id), replyId: reply.id ?? "nil" },
        });
      }
      if (reply.type === "error" && !Object.hasOwn(ERROR_CODES, reply.code)) {
        throw new QmmError({
          code: "E_FRAME",
          section: "§13.4",
          path: ["frame", frame, "code"],
          message: `the error reply's code '${reply.code}' is not an error code of the spec`,
          values: { frame, code: reply.code },
        });
      }
      return { reply, seconds };
    } catch (error) {
      if (!(error instanceof QmmError)) throw error;
      if (current === worker) current = undefined;
      const tail = worker.process.stderrTail();
      await worker.process.kill();
      return { kind: "crashed", message: error.message, stderrTail: tail };
    }
  }

  /** Runs one call; a failure to start the worker is passed up so the batch can stop retrying. */
  async function runOne(call: BackendCall): Promise<{ outcome: CallOutcome; startFailure?: WorkerFailure }> {
    let startFailure: WorkerFailure | undefined;
    const outcome = await runCall(call, (failure) => {
      startFailure = failure;
    });
    return { outcome, startFailure };
  }

  async function runCall(call: BackendCall, onStartFailure: (failure: WorkerFailure) => void): Promise<CallOutcome> {
    const unknownKeys = Object.keys(call.params).filter((key) => !WIRE_PARAM_KEYS.has(key));
    if (unknownKeys.length > 0) {
      return { kind: "unsupported", reason: `the worker protocol carries only mode, transpose, group_size and bits, and this case also has ${unknownKeys.join(", ")}` };
    }

    const id = nextId++;
    const tensors: Record<string, WireTensor> = {
      x: tensorToWire(call.inputs.x),
      w: tensorToWire(call.inputs.w),
      scales: tensorToWire(call.inputs.scales),
    };
    if (call.inputs.biases !== undefined && call.inputs.biases !== null) tensors.biases = tensorToWire(call.inputs.biases);

    let exchanged: Awaited<ReturnType<typeof exchange>>;
    try {
      exchanged = await exchange({ type: "run", id, caseId: call.caseId, params: paramsToWire(call.params), tensors });
    } catch (error) {
      if (!(error instanceof QmmError)) throw error;
      return { kind: "error", code: error.code, message: error.message };
    }
    if ("kind" in exchanged) {
      if (exchanged.atStart === true) onStartFailure(exchanged);
      return failureOutcome(exchanged);
    }

    const { reply, seconds } = exchanged;
    if (reply.type === "error") return { kind: "error", code: reply.code, message: reply.message };
    if (reply.y === undefined) {
      return { kind: "crashed", message: `E_FRAME [SPEC §13.4]: the result for case ${call.caseId} has no 'y' tensor`, stderrTail: "" };
    }
    if (!(FLOAT_DTYPES as readonly string[]).includes(reply.y.dtype)) {
      return { kind: "error", code: "E_BACKEND_INTERNAL", message: `the worker returned y with dtype ${reply.y.dtype}; y must be float32, float16 or bfloat16` };
    }

    try {
      return { kind: "ok", y: wireToTensor(reply.y, "y"), seconds };
    } catch (error) {
      if (!(error instanceof QmmError)) throw error;
      return { kind: "error", code: error.code, message: error.message };
    }
  }

  return {
    name,
    maxCallSeconds: timeoutSeconds + startTimeoutSeconds + RESTART_MARGIN_SECONDS,

    get pid() {
      return current?.process.pid;
    },

    async hello() {
      const worker = await ensureWorker();
      return "kind" in worker ? worker : worker.hello;
    },

    async probe(): Promise<BackendProbe> {
      const worker = await ensureWorker();
      if ("kind" in worker) {
        const tail = worker.stderrTail === "" ? "" : `\nworker stderr (last lines):\n${worker.stderrTail}`;
        return { kind: "unavailable", reason: `${worker.message}${tail}` };
      }

      const { hello } = worker;
      const details: Record<string, string> = { protocol: String(hello.protocol), worker: hello.name };
      if (hello.extensions.length > 0) details.extensions = hello.extensions.join(",");
      return { kind: "available", version: hello.version, variant: hello.variant, capabilities: hello.capabilities, details };
    },

    async run(calls) {
      const startedIn = generation;
      const outcomes: CallOutcome[] = [];
      for (const call of calls) {
        if (generation !== startedIn) {
          outcomes.push({ kind: "crashed", message: "the backend was closed before this case ran", stderrTail: "" });
          continue;
        }
        const { outcome, startFailure } = await runOne(call);
        outcomes.push(outcome);

        // A worker that cannot start would fail every remaining case the same way, each after a
        // full handshake timeout, so the rest of the batch reports this failure at once.
        if (startFailure !== undefined) {
          const skipped = `${startFailure.message} (not retried for the rest of this batch)`;
          while (outcomes.length < calls.length) outcomes.push({ kind: "crashed", message: skipped, stderrTail: startFailure.stderrTail });
          break;
        }
      }
      return outcomes;
    },

    async extension(type, params, tensors) {
      const id = nextId++;
      const wire = Object.fromEntries(Object.entries(tensors).map(([key, tensor]) => [key, tensorToWire(tensor)]));
      let exchanged: Awaited<ReturnType<typeof exchange>>;
      try {
        exchanged = await exchange({ type, id, params, tensors: wire });
      } catch (error) {
        if (!(error instanceof QmmError)) throw error;
        return { kind: "error", code: error.code, message: error.message };
      }
      if ("kind" in exchanged) return exchanged;

      const { reply } = exchanged;
      if (reply.type === "error") return { kind: "error", code: reply.code, message: reply.message };
      try {
        const decoded = Object.fromEntries(Object.entries(reply.tensors ?? {}).map(([key, tensor]) => [key, wireToTensor(tensor, key)]));
        return { kind: "ok", y: reply.y === undefined ? undefined : wireToTensor(reply.y, "y"), tensors: decoded };
      } catch (error) {
        if (!(error instanceof QmmError)) throw error;
        return { kind: "error", code: error.code, message: error.message };
      }
    },

    async close() {
      generation++;
      const worker = current;
      const pending = starting;
      current = undefined;
      starting = undefined;
      await Promise.all([worker?.process.shutdown(), pending?.kill()]);
    },
  };
}

/** Parses the handshake reply, or kills the process and describes why it cannot be used. */
async function handshakeResult(process: WorkerProcess, outcome: RequestOutcome, timeoutSeconds: number): Promise<HelloReply | WorkerFailure> {
  const failure = await failureOf(process, outcome);
  if (failure !== undefined) {
    const message = failure.kind === "timeout" ? `the worker sent no handshake within ${timeoutSeconds} s` : `the worker failed during the handshake: ${failure.message}`;
    return { ...failure, message };
  }

  const { value, frame } = outcome as { value: unknown; frame: number };
  try {
    if (isVersionError(value)) {
      throw new QmmError({
        code: "E_PROTOCOL_VERSION",
        section: "§13.3",
        path: ["hello"],
        message: `the worker does not speak protocol version ${PROTOCOL_VERSION}`,
        values: { requested: PROTOCOL_VERSION, supported: (value as { supported?: number[] }).supported ?? [] },
      });
    }

    const hello = parseHello(value, frame);
    if (hello.protocol !== PROTOCOL_VERSION) {
      throw new QmmError({
        code: "E_PROTOCOL_VERSION",
        section: "§13.3",
        path: ["hello", "protocol"],
        message: `the worker speaks protocol version ${hello.protocol}, the harness speaks ${PROTOCOL_VERSION}`,
        values: { requested: PROTOCOL_VERSION, worker: hello.protocol },
      });
    }
    return hello;
  } catch (error) {
    if (!(error instanceof QmmError)) throw error;
    const tail = process.stderrTail();
    await process.kill();
    return { kind: "crashed", message: formatIssue(error.issue), stderrTail: tail };
  }
}

function isVersionError(value: unknown): boolean {
  return typeof value === "object" && value !== null && (value as { type?: unknown }).type === "error" && (value as { code?: unknown }).code === "E_PROTOCOL_VERSION";
}

/** Kills the process when the outcome is not a reply and describes the failure. */
async function failureOf(process: WorkerProcess, outcome: RequestOutcome): Promise<WorkerFailure | undefined> {
  switch (outcome.kind) {
    case "reply":
      return undefined;
    case "timeout": {
      const tail = process.stderrTail();
      await process.kill();
      return { kind: "timeout", seconds: outcome.seconds, message: `the worker did not reply within ${outcome.seconds} s and was killed`, stderrTail: tail };
    }
    case "exited":
      await process.kill();
      return { kind: "crashed", message: outcome.message, stderrTail: process.stderrTail() };
    case "bad-frame": {
      const tail = process.stderrTail();
      await process.kill();
      return { kind: "crashed", message: outcome.error.message, stderrTail: tail };
    }
  }
}

function failureOutcome(failure: WorkerFailure): CallOutcome {
  if (failure.kind === "timeout") return { kind: "timeout", seconds: failure.seconds ?? 0, stderrTail: failure.stderrTail };
  return { kind: "crashed", message: failure.message, stderrTail: failure.stderrTail };
}
