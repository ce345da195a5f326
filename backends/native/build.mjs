#!/usr/bin/env node
// Builds the native addon with node-gyp. `npm install` runs this from the package's install
// script. A failed build must not fail the whole install: the compiler output goes to
// build/BUILD_ERROR.txt, this script exits 0, and the backend's probe reports itself
// unavailable with that message.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const nativeDir = dirname(fileURLToPath(import.meta.url));
const buildDir = join(nativeDir, "build");
const errorFile = join(buildDir, "BUILD_ERROR.txt");

/** Writes the reason the addon is missing where the probe looks for it, and exits 0. */
function giveUp(reason) {
  mkdirSync(buildDir, { recursive: true });
  writeFileSync(errorFile, `${reason.trimEnd()}\n`);
  process.stderr.write(`qmm-conformance: the native backend was not built; see ${errorFile}\n`);
  process.exit(0);
}

/** Finds node-gyp: the one npm names for scripts, then the project's, then npm's bundled copy. */
function findNodeGyp() {
  const candidates = [];
  if (process.env.npm_config_node_gyp) candidates.push(process.env.npm_config_node_gyp);
  try {
    candidates.push(createRequire(import.meta.url).resolve("node-gyp/bin/node-gyp.js"));
  } catch {
    // not installed in the project; try npm's copy next
  }
  if (process.env.npm_execpath) {
    candidates.push(join(dirname(process.env.npm_execpath), "..", "node_modules", "node-gyp", "bin", "node-gyp.js"));
  }
  return candidates.find((candidate) => existsSync(candidate));
}

if (process.env.QMM_SKIP_NATIVE_BUILD === "1") giveUp("The build was skipped because QMM_SKIP_NATIVE_BUILD=1.");
if (process.arch !== "x64") giveUp(`The native backend needs an x86-64 CPU (AVX2 or newer); this is ${process.arch}.`);

const nodeGyp = findNodeGyp();
if (nodeGyp === undefined) giveUp("node-gyp was not found. Install the dev dependencies (npm install) and run: node backends/native/build.mjs");

// Use the headers of the running Node when they are installed next to it (distribution
// packages and the official tarballs both have them), so the build needs no download.
const args = [nodeGyp, "rebuild"];
const prefix = dirname(dirname(process.execPath));
if (!process.env.npm_config_nodedir && existsSync(join(prefix, "include", "node", "node_api.h"))) {
  args.push(`--nodedir=${prefix}`);
}

const result = spawnSync(process.execPath, args, { cwd: nativeDir, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
const output = `${result.stdout ?? ""}${result.stderr ?? ""}`;

if (result.error !== undefined || result.status !== 0) {
  const lines = output.split("\n").filter((line) => !line.startsWith("gyp info"));
  const cause = result.error !== undefined ? `could not start node-gyp: ${result.error.message}` : `node-gyp exited with status ${result.status}`;
  giveUp(`The native addon failed to build (${cause}).\nCommand: node ${args.join(" ")}\n\n${lines.slice(-60).join("\n")}`);
}

rmSync(errorFile, { force: true });
process.stdout.write("qmm-conformance: built the native backend (backends/native/build/Release/qmm_native.node)\n");
