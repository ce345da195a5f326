/**
 * The location of the MLX worker's Python environment and the check that it is ready. `setup.mjs` creates it
 * and writes the stamp this module checks.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** The project root. */
export const PROJECT_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** The Python interpreter of the project's virtual environment. */
export const VENV_PYTHON = fileURLToPath(new URL("../../.venv/bin/python", import.meta.url));

/** The worker script. */
export const MLX_WORKER = fileURLToPath(new URL("./worker.py", import.meta.url));

const REQUIREMENTS = fileURLToPath(new URL("./requirements.txt", import.meta.url));
const STAMP = fileURLToPath(new URL("../../.venv/.qmm-mlx-stamp.json", import.meta.url));

/** The command that creates or repairs the environment. */
export const SETUP_COMMAND = "npm run setup:mlx";

/** Whether the environment is ready, or why not. */
export type MlxEnvironment = { readonly kind: "ready"; readonly python: string } | { readonly kind: "missing"; readonly reason: string };

/** Checks that the virtual environment exists and was set up from the current requirements.txt. */
export function checkMlxEnvironment(): MlxEnvironment {
  if (!existsSync(VENV_PYTHON)) {
    return { kind: "missing", reason: `the Python environment ${VENV_PYTHON} does not exist` };
  }
  if (!existsSync(STAMP)) {
    return { kind: "missing", reason: `the MLX set-up has not completed (no ${STAMP})` };
  }

  const expected = createHash("sha256").update(readFileSync(REQUIREMENTS)).digest("hex");
  let found: unknown;
  try {
    found = JSON.parse(readFileSync(STAMP, "utf8"));
  } catch {
    return { kind: "missing", reason: `the set-up stamp ${STAMP} is not valid JSON` };
  }
  if ((found as { requirementsSha256?: unknown }).requirementsSha256 !== expected) {
    return { kind: "missing", reason: "backends/mlx/requirements.txt changed since the environment was set up" };
  }
  return { kind: "ready", python: VENV_PYTHON };
}
