/**
 * Writes a self-contained bundle of one case: the input, the exact output with per-element
 * budgets, the backend's output (or what it did instead), the variant, a README and a script that
 * reproduces the case in MLX. Someone without qmm-conformance can check the case with only the
 * bundle and `pip install mlx`.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { ExactResult } from "../../reference/result.ts";
import type { QmmInputs, Tensor } from "../../spec/types.ts";
import type { NumericsVariant } from "../../spec/variants.ts";
import type { BudgetPlan } from "../budget/plan.ts";
import { checkEmptyFolder } from "../io/output-path.ts";
import { writeSafetensors } from "../io/safetensors.ts";
import { renderFailure } from "../diagnose/render.ts";
import { elementBounds } from "./diff-call.ts";
import type { CallDiff } from "./diff-call.ts";
import { REPRODUCE_MLX_PY } from "./reproduce-mlx.ts";

/** The contents of a bundle. */
export interface BundleContent {
  readonly caseId: string;
  readonly inputs: QmmInputs;
  readonly metadata: Readonly<Record<string, string>>;
  /** The origin of the output under test: `backend mlx` or `file RESULT.safetensors`. */
  readonly source: string;
  readonly variant: NumericsVariant;
  readonly exact: ExactResult;
  readonly plan: BudgetPlan;
  /** The backend's output, when there is one. */
  readonly got?: Tensor;
  /** The element-by-element comparison, when the output had the expected dtype and shape. */
  readonly diff?: Extract<CallDiff, { kind: "compared" }>;
  /** The backend's behaviour when there was no comparison, e.g. `crashed: ...` or a shape mismatch. */
  readonly outcome?: string;
}

/**
 * Writes the bundle into `dir` (created if missing) and returns the file names written. Throws
 * E_OUTPUT_PATH, before it writes anything, when `dir` is a file or a folder that is not empty.
 */
export async function writeBundle(dir: string, content: BundleContent): Promise<string[]> {
  await checkEmptyFolder(dir, "--bundle");

  await mkdir(dir, { recursive: true });
  const { exact } = content;
  const written: string[] = [];

  const inputTensors: Record<string, Tensor> = { x: content.inputs.x, w: content.inputs.w, scales: content.inputs.scales };
  if (content.inputs.biases) inputTensors.biases = content.inputs.biases;
  await writeSafetensors(join(dir, "input.safetensors"), inputTensors, content.metadata);
  written.push("input.safetensors");

  const outShape = [...exact.y.shape];
  await writeSafetensors(
    join(dir, "expected.safetensors"),
    {
      y: exact.y,
      exact: { dtype: "float64", shape: outShape, data: exact.exact },
      bound: { dtype: "float64", shape: outShape, data: elementBounds(content.plan, exact) },
    },
    { variant: content.variant.name, comparison: content.plan.kind === "bit-exact" ? "bit-exact" : "budget" },
  );
  written.push("expected.safetensors");

  if (content.got !== undefined) {
    await writeSafetensors(join(dir, "got.safetensors"), { y: content.got }, { source: content.source });
    written.push("got.safetensors");
  }

  await writeFile(join(dir, "budget.json"), `${JSON.stringify(budgetSummary(content), null, 2)}\n`);
  written.push("budget.json");

  await writeFile(join(dir, "reproduce_mlx.py"), REPRODUCE_MLX_PY);
  written.push("reproduce_mlx.py");

  await writeFile(join(dir, "README.md"), readme(content));
  written.push("README.md");
  return written;
}

function budgetSummary(content: BundleContent): unknown {
  const { diff, exact } = content;
  return {
    caseId: content.caseId,
    source: content.source,
    variant: content.variant,
    outDType: exact.call.outDType,
    outShape: exact.y.shape,
    plan: content.plan,
    ...(diff === undefined
      ? { outcome: content.outcome ?? "no output" }
      : {
          elementCount: diff.comparison.elementCount,
          failedCount: diff.comparison.failedIndices.length,
          failedIndices: diff.comparison.failedIndices.slice(0, 1000),
          worst: diff.comparison.worst,
        }),
  };
}

function verdictOf(content: BundleContent): string {
  const { diff } = content;
  if (diff === undefined) return `The backend produced no comparable output: ${content.outcome ?? "no output"}.`;

  const failed = diff.comparison.failedIndices.length;
  if (failed === 0) return `All ${diff.comparison.elementCount} output elements are within the budget.`;
  return `${failed} of ${diff.comparison.elementCount} output elements are outside the budget.`;
}

function readme(content: BundleContent): string {
  const { exact } = content;
  const params = Object.entries(content.metadata)
    .map(([key, value]) => `${key}=${value}`)
    .join(", ");
  const againstLine =
    content.got === undefined ? "" : `\n    qmm-conformance diff input.safetensors --against got.safetensors --variant ${content.variant.name}\n`;
  const passed = content.diff !== undefined && content.diff.comparison.failedIndices.length === 0;
  const located =
    content.diff === undefined
      ? (content.outcome ?? "no output")
      : renderFailure(passed ? { ...content.diff.located, pattern: null } : content.diff.located, !passed);

  return `# qmm-conformance case bundle: ${content.caseId}

quantized_matmul on the tensors in \`input.safetensors\` (${params || "all parameters at their defaults"}),
output ${exact.call.outDType} of shape [${exact.y.shape.join(", ")}]. The output under test came from
${content.source} and was judged with the budget of numerics variant \`${content.variant.name}\`.
${verdictOf(content)}

## Files

- \`input.safetensors\`: x, w, scales and (affine) biases; \`__metadata__\` holds mode, bits,
  group_size and transpose as strings.
- \`expected.safetensors\`: \`y\`, the exact result rounded once to the output dtype; \`exact\`, the
  exact result rounded to float64; \`bound\`, the per-element budget (float64).
- \`got.safetensors\`: the output under test, tensor \`y\` (absent when none was produced).
- \`budget.json\`: the variant, the budget plan, and the failed elements or the backend's outcome.
- \`reproduce_mlx.py\`: runs the case in MLX and checks it against \`exact\` and \`bound\`.

An element passes when |got − exact| ≤ bound, except under the \`exact\` variant, which requires
got to equal y bit for bit. The bound is derived from the variant's description of how the backend
computes (SPEC.md §10, spec/NUMERICS.md), never tuned.

## Reproduce

    pip install mlx            # on Linux: pip install "mlx[cpu]"
    python3 reproduce_mlx.py

With qmm-conformance:

    qmm-conformance diff input.safetensors --backend mlx
${againstLine}
## Located diff

\`\`\`
${located}
\`\`\`
`;
}
