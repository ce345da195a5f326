/** The registered subcommands, in the order `qmm-conformance help` lists them. Add one line per command. */
import type { Command } from "../command.ts";
import { benchCommand } from "./bench.ts";
import { diffCommand } from "./diff.ts";
import { referenceCommand } from "./reference.ts";
import { runCommand } from "./run.ts";
import { vectorsCommand } from "./vectors.ts";

export const COMMANDS: readonly Command[] = [runCommand, referenceCommand, diffCommand, vectorsCommand, benchCommand];
