/** The registered subcommands, in the order `qmm-conformance help` lists them. Add one line per command. */
import type { Command } from "../command.ts";
import { referenceCommand } from "./reference.ts";

export const COMMANDS: readonly Command[] = [referenceCommand];
