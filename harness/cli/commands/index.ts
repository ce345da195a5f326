/** The registered subcommands, in the order `qmm-conformance help` lists them. Add one line per command. */
import type { Command } from "../command.ts";

export const COMMANDS: readonly Command[] = [];
