#!/usr/bin/env node
// Sets up the MLX worker's Python environment: creates .venv in the project root and installs
// backends/mlx/requirements.txt into it. Runs as npm's postinstall and as `npm run setup:mlx`.
//
// It is idempotent: a stamp file in .venv records the SHA-256 of requirements.txt and the Python
// version, and a run whose stamp matches returns at once. When Python or the package index is not
// available, it prints why and exits with status 0, so that `npm install` still succeeds; the MLX
// backend's probe then reports itself unavailable with the reason.
//
// Environment: QMM_PYTHON picks the Python interpreter (default python3); QMM_SKIP_MLX_SETUP=1
// skips the set-up; pass --force to reinstall even when the stamp matches.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const REQUIREMENTS = join(ROOT, "backends", "mlx", "requirements.txt");
const VENV = join(ROOT, ".venv");
const VENV_PYTHON = join(VENV, "bin", "python");
const STAMP = join(VENV, ".qmm-mlx-stamp.json");
const MIN_PYTHON = [3, 10];

function say(text) {
  process.stdout.write(`setup:mlx: ${text}\n`);
}

function run(command, args, options = {}) {
  return spawnSync(command, args, { encoding: "utf8", stdio: options.quiet ? "pipe" : ["ignore", "inherit", "inherit"], ...options });
}

/** Returns the interpreter's version as [major, minor], or undefined when it does not run. */
function pythonVersion(python) {
  const result = run(python, ["-c", "import sys; print(sys.version_info[0], sys.version_info[1])"], { quiet: true });
  if (result.status !== 0 || typeof result.stdout !== "string") return undefined;
  const [major, minor] = result.stdout.trim().split(" ").map(Number);
  return [major, minor];
}

function stampOf(version) {
  const sha256 = createHash("sha256").update(readFileSync(REQUIREMENTS)).digest("hex");
  return { requirementsSha256: sha256, python: version.join(".") };
}

function stampMatches(expected) {
  if (!existsSync(STAMP) || !existsSync(VENV_PYTHON)) return false;
  try {
    const found = JSON.parse(readFileSync(STAMP, "utf8"));
    return found.requirementsSha256 === expected.requirementsSha256 && found.python === expected.python;
  } catch {
    return false;
  }
}

/** Creates the virtual environment; on Debian, installs python3-venv with apt-get when it is missing and we are root. */
function createVenv(python) {
  let result = run(python, ["-m", "venv", VENV], { quiet: true });
  if (result.status === 0) return true;

  const missingVenv = /ensurepip|venv/.test(`${result.stderr}${result.stdout}`);
  const canApt = process.getuid?.() === 0 && run("apt-get", ["--version"], { quiet: true }).status === 0;
  // NOTE: this branch has not run on the CI image, whose pyenv Python ships the venv module.
  if (missingVenv && canApt) {
    say("the venv module is missing; installing python3-venv with apt-get");
    run("apt-get", ["install", "-y", "-q", "python3-venv"]);
    rmSync(VENV, { recursive: true, force: true });
    result = run(python, ["-m", "venv", VENV], { quiet: true });
    if (result.status === 0) return true;
  }

  say(`could not create ${VENV} with '${python} -m venv': ${(result.stderr || result.stdout || "").trim()}`);
  say("on Debian or Ubuntu install python3-venv (apt-get install python3-venv), then run 'npm run setup:mlx'");
  return false;
}

function main() {
  if (process.env.QMM_SKIP_MLX_SETUP === "1") {
    say("skipped because QMM_SKIP_MLX_SETUP=1");
    return;
  }

  const python = process.env.QMM_PYTHON || "python3";
  const version = pythonVersion(python);
  if (version === undefined) {
    say(`'${python}' was not found or does not run, so the MLX backend stays unavailable. Install Python ${MIN_PYTHON.join(".")} or newer (or set QMM_PYTHON) and run 'npm run setup:mlx'.`);
    return;
  }
  if (version[0] < MIN_PYTHON[0] || (version[0] === MIN_PYTHON[0] && version[1] < MIN_PYTHON[1])) {
    say(`mlx 0.32.4 needs Python ${MIN_PYTHON.join(".")} or newer, but '${python}' is ${version.join(".")}. Set QMM_PYTHON to a newer interpreter and run 'npm run setup:mlx'.`);
    return;
  }

  const expected = stampOf(version);
  if (!process.argv.includes("--force") && stampMatches(expected)) {
    say(`up to date (${VENV})`);
    return;
  }

  if (existsSync(VENV) && pythonVersion(VENV_PYTHON)?.join(".") !== expected.python) {
    rmSync(VENV, { recursive: true, force: true });
  }
  if (!existsSync(VENV_PYTHON) && !createVenv(python)) return;

  say(`installing ${REQUIREMENTS} into ${VENV}`);
  const install = run(VENV_PYTHON, ["-m", "pip", "install", "--disable-pip-version-check", "-q", "-r", REQUIREMENTS]);
  if (install.status !== 0) {
    say(`pip install failed (status ${install.status}); the package index may be unreachable. The MLX backend stays unavailable; run 'npm run setup:mlx' to retry.`);
    return;
  }

  const check = run(VENV_PYTHON, ["-c", "import mlx.core, msgpack; print(mlx.core.__version__)"], { quiet: true });
  if (check.status !== 0) {
    say(`mlx was installed but does not import: ${(check.stderr || "").trim().split("\n").at(-1)}`);
    return;
  }

  writeFileSync(STAMP, `${JSON.stringify(expected)}\n`);
  say(`ready: mlx ${check.stdout.trim()} in ${VENV}`);
}

main();
