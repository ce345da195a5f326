/** A subcommand of the qmm-conformance command line. */
export interface Command {
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  /** Runs the command with its own arguments and returns the process exit code. */
  run(argv: readonly string[]): Promise<number>;
}
