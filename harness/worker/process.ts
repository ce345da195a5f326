/**
 * One running worker process: starts it with execa, sends frames, waits for one reply at a time
 * with a timeout, and keeps the tail of its stderr for reports (spec/PROTOCOL.md §13.1, §13.6).
 */
import { execa } from "execa";
import { QmmError } from "../../spec/errors.ts";
import { encodeFrame, FrameDecoder } from "./frame.ts";

/** Bytes of stderr kept per worker process. */
const STDERR_KEEP_BYTES = 64 * 1024;

/** Lines of stderr a report shows. */
const STDERR_TAIL_LINES = 20;

/** The maximum delay setTimeout accepts, in milliseconds; longer delays fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Milliseconds to wait for stdout and stderr to close after the worker exited. A process that the
 * worker started and left running can hold them open forever, so after this the harness stops
 * reading them.
 */
const STDIO_DRAIN_MS = 500;

/** Milliseconds `kill()` waits for the killed process to be reaped. */
const KILL_WAIT_MS = 5_000;

/** Process group ids of running workers, killed when the harness exits. */
const liveGroups = new Set<number>();
let exitHookInstalled = false;

/** Kills the worker's whole process group, so that processes it started die with it. */
function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // ESRCH: the group is already gone.
  }
}

/**
 * Registers a worker's process group to be killed when the harness exits.
 * NOTE: a harness killed by a signal it does not handle (SIGKILL, or SIGINT without a handler)
 * runs no exit hook; its workers then see end-of-file on stdin and are expected to exit.
 */
function trackGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  liveGroups.add(pid);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const group of liveGroups) killGroup(group);
  });
}

/** Delays longer than setTimeout's maximum are clamped to it (about 24.8 days). */
function timerDelay(seconds: number): number {
  return Math.min(Math.max(0, seconds * 1000), MAX_TIMER_MS);
}

/** The command line and settings of a worker process. */
export interface WorkerCommand {
  readonly command: string;
  readonly args: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
  readonly maxFrameBytes?: number;
}

/** The outcome of one request. */
export type RequestOutcome =
  | { readonly kind: "reply"; readonly value: unknown; readonly frame: number }
  | { readonly kind: "timeout"; readonly seconds: number }
  | { readonly kind: "exited"; readonly message: string }
  | { readonly kind: "bad-frame"; readonly error: QmmError };

function spawnWorker(command: WorkerCommand) {
  return execa(command.command, [...command.args], {
    stdin: "pipe",
    stdout: "pipe",
    stderr: "pipe",
    buffer: false,
    reject: false,
    encoding: "buffer",
    env: command.env,
    cwd: command.cwd,
    extendEnv: true,
    // Its own process group, so that kill() also reaches processes the worker started. execa's
    // cleanup does not cover detached processes, so trackGroup() kills them on exit instead.
    detached: true,
  });
}

interface Pending {
  resolve(outcome: RequestOutcome): void;
  timer: NodeJS.Timeout;
}

/** A started worker process. Create it with {@link WorkerProcess.start}. */
export class WorkerProcess {
  readonly #subprocess: ReturnType<typeof spawnWorker>;
  readonly #decoder: FrameDecoder;
  readonly #maxFrameBytes: number | undefined;
  #stderr = "";
  /** Characters of stderr received over the process's life, and that count when the last request was sent. */
  #stderrTotal = 0;
  #stderrAtRequest = 0;
  #pending: Pending | undefined;
  #exitMessage: string | undefined;
  #streamError: QmmError | undefined;
  #queued: { value: unknown; frame: number }[] = [];
  /** Resolves when the process has exited and its output was read or abandoned. */
  readonly #finished: Promise<void>;
  #exited = false;

  private constructor(command: WorkerCommand) {
    this.#maxFrameBytes = command.maxFrameBytes;
    this.#decoder = new FrameDecoder(command.maxFrameBytes);
    this.#subprocess = spawnWorker(command);

    this.#subprocess.stdout.on("data", (chunk: Uint8Array) => this.#onStdout(chunk));
    this.#subprocess.stdout.on("end", () => this.#onStdoutEnd());
    this.#subprocess.stderr.on("data", (chunk: Uint8Array) => this.#onStderr(chunk));
    // A worker that exits while a request is being written causes EPIPE here; the exit handler reports it.
    this.#subprocess.stdin.on("error", () => undefined);
    trackGroup(this.#subprocess.pid);
    let reported = false;
    const report = (message: string) => {
      if (reported) return;
      reported = true;
      if (this.#subprocess.pid !== undefined) liveGroups.delete(this.#subprocess.pid);
      this.#onExit(message);
    };
    this.#finished = this.#subprocess.then(
      (result) => report(exitDescription(result, command.command)),
      (error: unknown) => report(`the worker process failed: ${error instanceof Error ? error.message : String(error)}`),
    );

    // execa settles only when stdout and stderr close. If they stay open after the exit, the
    // streams are destroyed after a short drain so that the exit is still reported.
    this.#subprocess.on("exit", (code, signal) => {
      this.#exited = true;
      const drain = setTimeout(() => {
        this.#subprocess.stdout.destroy();
        this.#subprocess.stderr.destroy();
        const how = signal !== null ? `was killed by ${signal}` : `exited with status ${String(code)}`;
        report(`the worker process ${how}, and a process it started kept its output open`);
      }, STDIO_DRAIN_MS);
      drain.unref();
      void this.#finished.then(() => clearTimeout(drain));
    });
  }

  /** Starts the process. Spawn failures (a missing executable) surface as an `exited` outcome of the first request. */
  static start(command: WorkerCommand): WorkerProcess {
    return new WorkerProcess(command);
  }

  /** The process id, or undefined when the spawn failed. */
  get pid(): number | undefined {
    return this.#subprocess.pid;
  }

  /** Whether the process has exited or its output stream is unusable. */
  get isDead(): boolean {
    return this.#exitMessage !== undefined || this.#streamError !== undefined;
  }

  /**
   * Returns the last lines the worker wrote to stderr since the current request was sent, so that a crash
   * report does not show the logs of earlier cases. For the handshake that is everything so far.
   * Stderr and stdout are separate pipes, so lines an earlier case wrote just before its reply can
   * still arrive after the next request was sent and count toward it.
   */
  stderrTail(): string {
    const sinceRequest = Math.min(this.#stderrTotal - this.#stderrAtRequest, this.#stderr.length);
    const lines = this.#stderr.slice(this.#stderr.length - sinceRequest).split("\n");
    if (lines.at(-1) === "") lines.pop();
    return lines.slice(-STDERR_TAIL_LINES).join("\n");
  }

  /** Sends one message and waits up to `timeoutSeconds` for the next frame from the worker. */
  request(message: unknown, timeoutSeconds: number): Promise<RequestOutcome> {
    if (this.#pending !== undefined) throw new Error("a request is already in flight; the protocol allows one at a time");

    const frame = encodeFrame(message, this.#maxFrameBytes);
    this.#stderrAtRequest = this.#stderrTotal;
    const outcome = new Promise<RequestOutcome>((resolve) => {
      const timer = setTimeout(() => {
        this.#settle({ kind: "timeout", seconds: timeoutSeconds });
      }, timerDelay(timeoutSeconds));
      this.#pending = { resolve, timer };
    });

    const early = this.#earlyOutcome();
    if (early !== undefined) {
      this.#settle(early);
      return outcome;
    }

    this.#subprocess.stdin.write(frame);
    return outcome;
  }

  /** Sends a message that has no reply (shutdown). */
  send(message: unknown): void {
    if (this.isDead) return;
    this.#subprocess.stdin.write(encodeFrame(message, this.#maxFrameBytes));
  }

  /**
   * Kills the process and every process in its group at once (SIGKILL) and waits, for at most a
   * few seconds, until the exit is reported.
   */
  async kill(): Promise<void> {
    killGroup(this.#subprocess.pid);
    this.#subprocess.kill("SIGKILL");
    await this.#waitFinished(KILL_WAIT_MS);
  }

  /** Asks the process to shut down and kills its group after `graceSeconds`. */
  async shutdown(graceSeconds = 2): Promise<void> {
    this.send({ type: "shutdown" });
    this.#subprocess.stdin.end();

    const finished = await this.#waitFinished(graceSeconds * 1000);
    // A worker that exited on its own may still have left processes in its group.
    if (!finished || this.#exited) await this.kill();
  }

  /** Waits until the process has exited and its output is read or abandoned; false after `ms`. */
  async #waitFinished(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    });
    const result = await Promise.race([this.#finished.then(() => true as const), expired]);
    clearTimeout(timer);
    return result;
  }

  #earlyOutcome(): RequestOutcome | undefined {
    const queued = this.#queued.shift();
    if (queued !== undefined) return { kind: "reply", value: queued.value, frame: queued.frame };
    if (this.#streamError !== undefined) return { kind: "bad-frame", error: this.#streamError };
    if (this.#exitMessage !== undefined) return { kind: "exited", message: this.#exitMessage };
    return undefined;
  }

  #settle(outcome: RequestOutcome): void {
    const pending = this.#pending;
    if (pending === undefined) return;

    this.#pending = undefined;
    clearTimeout(pending.timer);
    pending.resolve(outcome);
  }

  #onStdout(chunk: Uint8Array): void {
    if (this.#streamError !== undefined) return;

    const firstFrame = this.#decoder.nextFrameNumber;
    let values: unknown[];
    try {
      values = this.#decoder.push(chunk);
    } catch (error) {
      if (!(error instanceof QmmError)) throw error;
      this.#streamError = error;
      this.#settle({ kind: "bad-frame", error: this.#streamError });
      return;
    }

    values.forEach((value, index) => {
      const frame = firstFrame + index;
      if (this.#pending !== undefined) this.#settle({ kind: "reply", value, frame });
      else this.#queued.push({ value, frame });
    });
  }

  #onStdoutEnd(): void {
    try {
      this.#decoder.end();
    } catch (error) {
      if (error instanceof QmmError && this.#streamError === undefined) this.#streamError = error;
    }
  }

  #onStderr(chunk: Uint8Array): void {
    const text = Buffer.from(chunk).toString("utf8");
    this.#stderr += text;
    this.#stderrTotal += text.length;
    if (this.#stderr.length > STDERR_KEEP_BYTES) this.#stderr = this.#stderr.slice(-STDERR_KEEP_BYTES);
  }

  #onExit(message: string): void {
    this.#onStdoutEnd();
    this.#exitMessage = this.#streamError !== undefined ? `${message}; ${this.#streamError.message}` : message;
    this.#settle({ kind: "exited", message: this.#exitMessage });
  }
}

/** Describes how the worker process ended, naming a program that could not be started. */
function exitDescription(result: { signal?: string; exitCode?: number; failed: boolean; code?: string; originalMessage?: string }, program: string): string {
  if (result.exitCode === undefined && result.signal === undefined && result.failed) {
    if (result.code === "ENOENT") return `worker program not found: ${program} (spawn ENOENT)`;
    if (result.code === "EACCES") return `worker program is not executable: ${program} (spawn EACCES)`;
    return `the worker process could not be started: ${result.originalMessage ?? "unknown error"}`;
  }
  const how = result.signal !== undefined ? `was killed by ${result.signal}` : `exited with status ${String(result.exitCode)}`;
  return `the worker process ${how}`;
}
