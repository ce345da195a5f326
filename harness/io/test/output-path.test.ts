import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ERROR_CODES, QmmError } from "../../../spec/errors.ts";
import type { SpecIssue } from "../../../spec/errors.ts";
import { checkEmptyFolder, checkOutputFile, outputWriteError } from "../output-path.ts";

let folder: string;

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), "qmm-output-path-"));
  await writeFile(join(folder, "input.bin"), "input");
  await mkdir(join(folder, "directory"));
  await mkdir(join(folder, "empty"));
  await symlink(join(folder, "directory"), join(folder, "directory-link"));
});

afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});

async function rejection(check: Promise<void>): Promise<SpecIssue> {
  try {
    await check;
  } catch (error) {
    if (error instanceof QmmError) return error.issue;
    throw error;
  }
  throw new Error("the check accepted the path");
}

describe("checkOutputFile", () => {
  it("accepts a new file in an existing folder", async () => {
    await expect(checkOutputFile(join(folder, "new.bin"), "--out", { inputs: [join(folder, "input.bin")] })).resolves.toBeUndefined();
  });

  it("accepts a new folder when the writer creates it", async () => {
    await expect(checkOutputFile(join(folder, "absent", "new.bin"), "--json", { createsFolder: true })).resolves.toBeUndefined();
  });

  it("rejects a directory and a link to one", async () => {
    for (const name of ["directory", "directory-link"]) {
      const issue = await rejection(checkOutputFile(join(folder, name), "--out"));
      expect(issue.code, name).toBe("E_OUTPUT_PATH");
      expect(issue.section, name).toBe(ERROR_CODES.E_OUTPUT_PATH.section);
      expect(issue.path, name).toEqual(["--out"]);
      expect(issue.values.path, name).toBe(join(folder, name));
      expect(issue.message, name).toContain("is a directory");
    }
  });

  it("rejects a missing folder", async () => {
    const issue = await rejection(checkOutputFile(join(folder, "absent", "new.bin"), "--out"));
    expect(issue.code).toBe("E_OUTPUT_PATH");
    expect(issue.values.folder).toBe(join(folder, "absent"));
    expect(issue.message).toContain("does not exist");
  });

  it("rejects a file in place of the folder", async () => {
    const issue = await rejection(checkOutputFile(join(folder, "input.bin", "new.bin"), "--out"));
    expect(issue.code).toBe("E_OUTPUT_PATH");
    expect(issue.values.folder).toBe(join(folder, "input.bin"));
    expect(issue.message).toContain("is a file, not a folder");
  });

  it("rejects the input file", async () => {
    const input = join(folder, "input.bin");
    const issue = await rejection(checkOutputFile(input, "--out", { inputs: [input] }));
    expect(issue.code).toBe("E_OUTPUT_PATH");
    expect(issue.values.input).toBe(input);
  });
});

describe("checkEmptyFolder", () => {
  it("accepts an empty and a missing folder", async () => {
    await expect(checkEmptyFolder(join(folder, "empty"), "--bundle")).resolves.toBeUndefined();
    await expect(checkEmptyFolder(join(folder, "absent"), "--bundle")).resolves.toBeUndefined();
  });

  it("rejects a folder with entries", async () => {
    const issue = await rejection(checkEmptyFolder(folder, "--bundle"));
    expect(issue.code).toBe("E_OUTPUT_PATH");
    expect(issue.values.entries).toEqual(["directory", "directory-link", "empty", "input.bin"]);
    expect(issue.values.entryCount).toBe(4);
    expect(issue.message).toMatch(/Choose an empty or new folder$/);
  });
});

describe("outputWriteError", () => {
  it("carries the system error code", () => {
    const error = Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
    const issue = outputWriteError("--out", "/some/file", error).issue;
    expect(issue.code).toBe("E_OUTPUT_PATH");
    expect(issue.values).toEqual({ option: "--out", path: "/some/file", reason: "ENOSPC" });
    expect(issue.message).toMatch(/or choose another path$/);
  });

  it("passes a QmmError through", () => {
    const original = new QmmError({ code: "E_FILE_FORMAT", section: "§14.1", path: [], message: "bad", values: {} });
    expect(outputWriteError("--out", "/some/file", original)).toBe(original);
  });
});
