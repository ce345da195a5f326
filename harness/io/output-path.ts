/**
 * Checks of the paths a command writes to (SPEC.md §14.4), run before any file is written, so a
 * rejected path leaves every file as it was. Each failure is a QmmError with E_OUTPUT_PATH that
 * names the option, the path and the reason.
 */
import type { Stats } from "node:fs";
import { realpath, stat } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { fail } from "../../spec/errors.ts";
import type { ErrorValue } from "../../spec/errors.ts";

/**
 * Rejects an output file path that resolves to one of `inputs`: the same real path (after
 * symbolic links), or the same device and inode (a hard link) when both files exist.
 * `option` names the command-line option that gave the path, e.g. `--out`.
 */
export async function checkNotAnInput(path: string, option: string, inputs: readonly string[]): Promise<void> {
  const target = await statIfPresent(path);
  const targetReal = await realPathOf(path);

  for (const input of inputs) {
    const source = await statIfPresent(input);
    const sameInode = target !== undefined && source !== undefined && target.dev === source.dev && target.ino === source.ino;
    if (sameInode || targetReal === (await realPathOf(input))) {
      outputPathError(option, path, `${option} ${path} is the input file ${input}, and writing it would destroy the input. Choose another output path`, { input });
    }
  }
}

/** Throws E_OUTPUT_PATH for `option` and `path`; `message` ends with what to do next. */
export function outputPathError(option: string, path: string, message: string, values: Record<string, ErrorValue> = {}): never {
  fail("E_OUTPUT_PATH", message, { option, path, ...values }, [option]);
}

async function statIfPresent(path: string): Promise<Stats | undefined> {
  try {
    return await stat(path);
  } catch {
    return undefined;
  }
}

/**
 * Returns the real path of `path`, or of its folder joined with its base name when the file does
 * not exist yet, or the lexically resolved path when the folder does not exist either.
 */
async function realPathOf(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch {
    // The file itself is missing or unreadable; its folder may still be reached through a link.
  }

  try {
    return join(await realpath(dirname(path)), basename(path));
  } catch {
    return resolve(path);
  }
}
