/**
 * Checks of the paths a command writes to (SPEC.md §14.4), run before any file is written, so a
 * rejected path leaves every file as it was. Each failure is a QmmError with E_OUTPUT_PATH that
 * names the option, the path and the reason, and so is an error found only while writing.
 */
import type { Stats } from "node:fs";
import { readdir, realpath, stat } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { fail, QmmError, specIssue } from "../../spec/errors.ts";
import type { ErrorValue } from "../../spec/errors.ts";

/** The requirements {@link checkOutputFile} checks besides "not a directory". */
export interface OutputFileRules {
  /** Input files the path must not resolve to. */
  readonly inputs?: readonly string[];
  /** True when the writer creates a missing folder, so the folder need not exist yet. */
  readonly createsFolder?: boolean;
}

/**
 * Rejects an output file path that resolves to an input file, that names a directory, or, unless
 * the writer creates folders, whose folder does not exist. `option` names the command-line option
 * that gave the path, e.g. `--out`, for the message.
 */
export async function checkOutputFile(path: string, option: string, rules: OutputFileRules = {}): Promise<void> {
  await checkNotAnInput(path, option, rules.inputs ?? []);

  const found = await statIfPresent(path);
  if (found?.isDirectory() === true) {
    outputPathError(option, path, `${option} ${path} is a directory, but a file path is expected. Give the path of a file, for example one inside that directory`);
  }
  if (rules.createsFolder === true) return;

  const folder = dirname(path);
  const folderFound = await statIfPresent(folder);
  if (folderFound === undefined) {
    outputPathError(option, path, `the folder ${folder} of ${option} ${path} does not exist. Create it first, or choose a path in an existing folder`, { folder });
  }
  if (!folderFound.isDirectory()) {
    outputPathError(option, path, `${folder} in ${option} ${path} is a file, not a folder. Choose a path in an existing folder`, { folder });
  }
}

/**
 * Turns an error of writing `path` into a QmmError with E_OUTPUT_PATH that carries the system's
 * error code, so a failure found only while writing (a full disk, a missing permission) is
 * reported like the checks above. A QmmError passes through unchanged.
 */
export function outputWriteError(option: string, path: string, error: unknown): QmmError {
  if (error instanceof QmmError) return error;

  const reason = (error as NodeJS.ErrnoException).code ?? (error instanceof Error ? error.message : String(error));
  const message = `cannot write ${option} ${path} (${reason}). Check that its folder exists and is writable and that the disk has space, or choose another path`;
  return new QmmError(specIssue("E_OUTPUT_PATH", message, { option, path, reason }, [option]));
}

/**
 * Rejects an output file path that resolves to one of `inputs`: the same real path (after
 * symbolic links), or the same device and inode (a hard link) when both files exist.
 */
async function checkNotAnInput(path: string, option: string, inputs: readonly string[]): Promise<void> {
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

/** Entry names a non-empty-folder error lists; the count covers the rest. */
const LISTED_ENTRIES = 5;

/**
 * Rejects a bundle folder that exists and is not empty, or that is a file, because a bundle
 * written there would mix with the files present or replace them. A missing folder is fine: the
 * writer creates it.
 */
export async function checkEmptyFolder(path: string, option: string): Promise<void> {
  const found = await statIfPresent(path);
  if (found === undefined) return;

  if (!found.isDirectory()) {
    outputPathError(option, path, `${option} ${path} is a file, not a folder. Choose an empty or new folder`);
  }

  const entries = (await readdir(path)).sort();
  if (entries.length > 0) {
    const listed = entries.slice(0, LISTED_ENTRIES);
    const count = entries.length === 1 ? "1 entry" : `${entries.length} entries`;
    outputPathError(option, path, `${option} ${path} is not empty (${count}), and a bundle written there would mix with or replace them. Choose an empty or new folder`, { entries: listed, entryCount: entries.length });
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
