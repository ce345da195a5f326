#!/usr/bin/env node
// Entry point of the qmm-conformance command line. The sources are TypeScript, loaded
// through tsx so that no build output has to exist before the first run.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../harness/cli/main.ts");
process.exitCode = await main(process.argv.slice(2));
