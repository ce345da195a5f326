/**
 * `qmm-conformance bench`: times the same cases on every available implementation in one
 * process (the native addon, ONNX Runtime's MatMulNBits, MLX on the CPU, the JS backend) and
 * prints a table with throughput, weight traffic, the ratio to the fastest peer and, for M = 1,
 * the fraction of the measured memory bandwidth. M = 1 cases run with cold caches by default.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { parseArgs } from "node:util";
import { loadAddon } from "../../../backends/native/addon.ts";
import { readLastLevelCache } from "../../bench/cache-size.ts";
import { benchCases } from "../../bench/cases.ts";
import { describeCache, evictionSize, MIN_EVICTION_BYTES, setUpCache } from "../../bench/eviction.ts";
import type { CachePolicy } from "../../bench/eviction.ts";
import { formatTable } from "../../bench/results.ts";
import { createPeer, PEER_NAMES, runBench } from "../../bench/run.ts";
import type { BenchReport } from "../../bench/run.ts";
import type { BenchPeer } from "../../bench/peers.ts";
import type { Command } from "../command.ts";

const HELP = `Usage: qmm-conformance bench [OPTIONS]

Times quantized matmul on every available implementation, side by side, in one process.
Cases: M = 1, K = N = 8192 and M = 64, K = N = 4096 in affine 4-bit group 64, then M = 1 and
M = 64 at K = N = 4096 for every mode, bit width and group size (transpose=true, float32).

Options:
  --backend NAME      an implementation to time (repeatable): ${PEER_NAMES.join(", ")}.
                      Default: all of them; unavailable ones are listed with the reason
  --quick             five cases at K = N = 4096 instead of the full list
  --filter TEXT       time only cases whose ID contains TEXT (e.g. affine/b4)
  --repeats N         timed runs per case and implementation (default 10)
  --warmup N          untimed runs before them (default 2)
  --max-seconds S     time budget per case and implementation, evictions excluded (default 10)
  --bandwidth-mib N   buffer size of the memory-bandwidth probe, in MiB (default 512; 0 skips it)
  --cold              evict the caches before every run of every case (default: M = 1 cases only)
  --warm              never evict the caches: weights that fit in the cache stay there
  --evict-mib N       eviction buffer size in MiB (default: 2 × the last-level cache size from
                      /sys/devices/system/cpu/cpu0/cache, at least ${MIN_EVICTION_BYTES / 2 ** 20})
  --json FILE         also write the results as JSON
  -h, --help          show this text

The median time is reported; weight GB/s counts packed codes, scales and biases (zero points
for ONNX Runtime). A cold run starts after the native addon has written and read the eviction
buffer on every CPU, so the weights come from memory; the eviction is not timed. Without the
native addon every case runs warm, and the report says so. Exit codes: 0 done, 2 invalid usage.
`;

/** The `bench` command. */
export const benchCommand: Command = {
  name: "bench",
  summary: "time the native backend against ONNX Runtime, MLX and the JS backend",
  run: runBenchCommand,
};

interface BenchArguments {
  readonly peers: readonly string[];
  readonly quick: boolean;
  readonly filter?: string;
  readonly repeats: number;
  readonly warmup: number;
  readonly maxSeconds: number;
  readonly bandwidthMiB: number;
  readonly cache: CachePolicy;
  readonly evictMiB?: number;
  readonly json?: string;
}

/** Parses the arguments of `bench`, or returns a usage error, or "help". */
export function parseBenchArguments(argv: readonly string[]): BenchArguments | "help" | { readonly error: string } {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: {
        backend: { type: "string", multiple: true },
        quick: { type: "boolean" },
        filter: { type: "string" },
        repeats: { type: "string" },
        warmup: { type: "string" },
        "max-seconds": { type: "string" },
        "bandwidth-mib": { type: "string" },
        cold: { type: "boolean" },
        warm: { type: "boolean" },
        "evict-mib": { type: "string" },
        json: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      allowPositionals: false,
      strict: true,
    });
  } catch (error) {
    return { error: (error as Error).message };
  }

  const values = parsed.values;
  if (values.help === true) return "help";

  const peers = values.backend ?? [...PEER_NAMES];
  const unknown = peers.find((name) => !(PEER_NAMES as readonly string[]).includes(name));
  if (unknown !== undefined) return { error: `unknown --backend '${unknown}': expected one of ${PEER_NAMES.join(", ")}` };

  if (values.cold === true && values.warm === true) return { error: "--cold and --warm exclude each other: pass at most one" };
  if (values.warm === true && values["evict-mib"] !== undefined) return { error: "--evict-mib sets the eviction of cold runs, so it cannot be combined with --warm" };
  let cache: CachePolicy = "cold-m1";
  if (values.cold === true) cache = "cold";
  if (values.warm === true) cache = "warm";

  const numbers: Record<string, number> = {};
  const specs = [
    ["repeats", values.repeats, 10, 1],
    ["warmup", values.warmup, 2, 0],
    ["max-seconds", values["max-seconds"], 10, 0.001],
    ["bandwidth-mib", values["bandwidth-mib"], 512, 0],
  ] as const;
  for (const [option, text, fallback, minimum] of specs) {
    const value = text === undefined ? fallback : Number(text);
    if (!Number.isFinite(value) || value < minimum) return { error: `invalid --${option} '${text}': expected a number of at least ${minimum}` };
    numbers[option] = value;
  }

  const evictText = values["evict-mib"];
  const evictMiB = evictText === undefined ? undefined : Number(evictText);
  if (evictMiB !== undefined && !(Number.isFinite(evictMiB) && evictMiB >= 1)) return { error: `invalid --evict-mib '${evictText}': expected a number of at least 1` };

  return {
    peers: [...new Set(peers)],
    quick: values.quick === true,
    repeats: Math.floor(numbers.repeats),
    warmup: Math.floor(numbers.warmup),
    maxSeconds: numbers["max-seconds"],
    bandwidthMiB: numbers["bandwidth-mib"],
    cache,
    ...(evictMiB === undefined ? {} : { evictMiB }),
    ...(values.filter === undefined ? {} : { filter: values.filter }),
    ...(values.json === undefined ? {} : { json: values.json }),
  };
}

async function runBenchCommand(argv: readonly string[]): Promise<number> {
  const args = parseBenchArguments(argv);
  if (args === "help") {
    process.stdout.write(HELP);
    return 0;
  }
  if ("error" in args) {
    process.stderr.write(`qmm-conformance bench: ${args.error}\nRun 'qmm-conformance bench --help' for the options.\n`);
    return 2;
  }

  const cases = benchCases(args.quick).filter((c) => args.filter === undefined || c.id.includes(args.filter));
  if (cases.length === 0) {
    process.stderr.write(`qmm-conformance bench: no case ID contains '${args.filter}'. Run 'qmm-conformance bench --help' for the case list.\n`);
    return 2;
  }

  const cache = setUpCache(args.cache, evictionSize(readLastLevelCache(), args.evictMiB), loadAddon());
  if (cache.kind === "invalid") {
    process.stderr.write(`qmm-conformance bench: ${cache.message}. Pass a smaller --evict-mib, or --warm.\n`);
    return 2;
  }

  const peers = args.peers.map((name) => createPeer(name)).filter((peer): peer is BenchPeer => peer !== undefined);
  const report = await runBench({
    cases,
    peers,
    measure: { warmup: args.warmup, repeats: args.repeats, maxSeconds: args.maxSeconds },
    cache,
    bandwidthBytes: args.bandwidthMiB * 2 ** 20,
    log: (line) => process.stderr.write(`${line}\n`),
  });

  // Skipped rows are listed for the headline cases only; the JSON report has all of them.
  const headlines = new Set(cases.filter((c) => c.headline).map((c) => c.id));
  const table = formatTable(report.rows, report.bandwidthBytesPerSecond, (row) => headlines.has(row.caseId));
  process.stdout.write(`${renderHeader(report)}\n\n${table}\n`);

  if (args.json !== undefined) {
    await mkdir(dirname(args.json), { recursive: true });
    await writeFile(args.json, `${JSON.stringify(reportToJson(report), null, 2)}\n`);
    process.stderr.write(`wrote ${args.json}\n`);
  }
  return 0;
}

/** Renders the machine, the bandwidth and each peer's status above the table. */
export function renderHeader(report: BenchReport): string {
  const { machine } = report;
  const lines = [
    `qmm-conformance bench, ${report.date}`,
    `machine: ${machine.cpu}, ${machine.logicalCores} logical cores, ${machine.memoryGiB} GiB, Node ${machine.node}, ${machine.platform}`,
    `memory bandwidth: ${report.bandwidthBytesPerSecond === undefined ? "not measured" : `${(report.bandwidthBytesPerSecond / 1e9).toFixed(1)} GB/s (streaming read, all threads)`}`,
    describeCache(report.cache),
  ];
  for (const peer of report.peers) {
    const status = peer.status.kind === "available" ? `${peer.status.version}${peer.status.details ? `; ${peer.status.details}` : ""}` : `unavailable: ${peer.status.reason}`;
    lines.push(`  ${peer.name}: ${peer.description} [${status}]`);
  }
  return lines.join("\n");
}

/** Converts a report to JSON-ready data: the rows with their derived figures. */
export function reportToJson(report: BenchReport): Record<string, unknown> {
  return {
    date: report.date,
    machine: report.machine,
    bandwidthBytesPerSecond: report.bandwidthBytesPerSecond ?? null,
    cache: report.cache,
    peers: report.peers,
    rows: report.rows.map((row) => ({ ...row, ...(report.figures.get(row) ?? {}) })),
  };
}
