// The exact reference run as a backend through the vitest integration: it must reproduce every
// expected y bit for bit (variant `exact`) and every expected error code.
import { existsSync } from "node:fs";
import { referenceBackend } from "../reference-backend.ts";
import { resolveBackend } from "../registry.ts";
import { defineConformanceSuite } from "../vitest.ts";
import { affineCase, errorCase } from "./fixtures.ts";
import { openCaseSource } from "../run/source.ts";
import type { GoldenCase, LoadFailure } from "../../vectors/case.ts";

const base = affineCase({ M: 3, K: 128, N: 9, seed: 11 });
const fixtureCases = [
  base,
  affineCase({ M: 1, K: 256, N: 40, dtype: "float16", seed: 12, groupSize: 64, bits: 3 }),
  affineCase({ M: 2, K: 64, N: 8, dtype: "bfloat16", seed: 13, bits: 8, batch: [2] }),
  errorCase("errors/affine/bits7", base, { ...base.params, bits: 7 }),
  errorCase("errors/affine/group-size-48", base, { ...base.params, groupSize: 48 }),
];

await defineConformanceSuite(referenceBackend, { source: fixtureCases, require: true });

// The whole vector store, loaded once, on the reference (bit for bit) and on the JS backend.
if (existsSync(new URL("../../vectors/load.ts", import.meta.url))) {
  const stored: (GoldenCase | LoadFailure)[] = [];
  for await (const item of openCaseSource({ suites: [] })) stored.push(item);

  await defineConformanceSuite(referenceBackend, { source: stored, require: true });

  const js = await resolveBackend("js", { timeoutSeconds: 120 });
  await defineConformanceSuite(js.backend, { source: stored, knownDivergences: js.knownDivergences });
}
