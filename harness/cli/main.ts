/**
 * The qmm-conformance command line: dispatches `qmm-conformance COMMAND ...` to one command module.
 */
import { COMMANDS } from "./commands/index.ts";

/** Runs the command line with `argv` (without the node and script paths) and returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;

  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    process.stdout.write(usage());
    return name === undefined ? 2 : 0;
  }

  const command = COMMANDS.find((candidate) => candidate.name === name);
  if (command === undefined) {
    process.stderr.write(`qmm-conformance: unknown command '${name}'. Run 'qmm-conformance help' for the list.\n`);
    return 2;
  }

  return command.run(rest);
}

function usage(): string {
  const width = Math.max(...COMMANDS.map((command) => command.name.length));
  const lines = COMMANDS.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`);
  return `Usage: qmm-conformance COMMAND [OPTIONS]\n\nCommands:\n${lines.join("\n")}\n\nRun 'qmm-conformance COMMAND --help' for a command's options.\n`;
}
