/**
 * build.mjs never fails `npm install`: a compile error is written to build/BUILD_ERROR.txt and
 * the script exits 0. Runs the real node-gyp on a copy of the sources with a deliberate error.
 */
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, test } from "vitest";

const nativeDir = dirname(dirname(fileURLToPath(import.meta.url)));

describe("native build script", () => {
  // Inside the git-ignored build folder, so that node_modules (node-gyp, node-addon-api) resolve.
  mkdirSync(join(nativeDir, "build"), { recursive: true });
  const copy = mkdtempSync(join(nativeDir, "build", "build-test-"));
  afterAll(() => rmSync(copy, { recursive: true, force: true }));

  test("compile error exits 0 with the message", () => {
    cpSync(join(nativeDir, "src"), join(copy, "src"), { recursive: true });
    cpSync(join(nativeDir, "binding.gyp"), join(copy, "binding.gyp"));
    cpSync(join(nativeDir, "build.mjs"), join(copy, "build.mjs"));
    writeFileSync(join(copy, "src", "addon.cc"), '#error "deliberate compile error for the build test"\n');

    const result = spawnSync(process.execPath, [join(copy, "build.mjs")], { encoding: "utf8", timeout: 120_000 });

    expect(result.status, result.stderr).toBe(0);
    expect(result.stderr).toContain("BUILD_ERROR.txt");
    const errorFile = join(copy, "build", "BUILD_ERROR.txt");
    expect(existsSync(errorFile)).toBe(true);
    expect(readFileSync(errorFile, "utf8")).toContain("deliberate compile error for the build test");
  });
});
