// A scripted fake worker for the harness's protocol error-path tests. The case ID picks the
// misbehaviour, so one process can reply well, then hang, crash or send a bad frame.
//   node fake-worker.mjs [--protocol N] [--silent-hello] [--exit-on-start] [--variant NAME|object]
//                        [--hang-once FILE] [--hang-all] [--spawn-holder]
// Case IDs: ok/..., error/..., hang/..., noisy-hang/..., exit-mid-reply/..., oversized/..., garbage/..., bad-schema/...,
// wrong-id/..., truncated-then-exit/..., noisy/..., slow/..., bad-code/..., holder-pid/...
// --hang-once FILE: the first run request of all processes that share FILE hangs, every later one
// gets E_UNSUPPORTED, whatever its case ID (for runner tests on real cases).
// --hang-all: every run request hangs after a line on stderr.
// --spawn-holder: starts a child that shares stdout and stderr and outlives this process.
import { spawn } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { decode, encode } from "@msgpack/msgpack";

const args = process.argv.slice(2);
const protocol = args.includes("--protocol") ? Number(args[args.indexOf("--protocol") + 1]) : 1;

const holder = args.includes("--spawn-holder")
  ? spawn(process.execPath, ["-e", "setTimeout(() => {}, 600000)"], { stdio: ["ignore", "inherit", "inherit"] })
  : undefined;

if (args.includes("--exit-on-start")) {
  process.stderr.write("fake worker: failing on start as asked\n");
  process.exit(7);
}

function frame(message) {
  const body = encode(message);
  const header = Buffer.alloc(4);
  header.writeUInt32LE(body.byteLength, 0);
  return Buffer.concat([header, Buffer.from(body)]);
}

function send(message) {
  process.stdout.write(frame(message));
}

function reply(request) {
  if (args.includes("--hang-all")) return process.stderr.write(`fake worker: hanging on ${request.caseId}\n`);
  if (args.includes("--hang-once")) {
    const marker = args[args.indexOf("--hang-once") + 1];
    if (!existsSync(marker)) return writeFileSync(marker, "hung\n");
    return send({ type: "error", id: request.id, code: "E_UNSUPPORTED", message: "fake: after the hang" });
  }

  const kind = String(request.caseId).split("/")[0];
  const y = { dtype: "float32", shape: [1], data: new Uint8Array(new Float32Array([42]).buffer) };
  process.stderr.write(`fake worker: case ${request.caseId}\n`);

  switch (kind) {
    case "ok":
      return send({ type: "result", id: request.id, y });
    case "noisy":
      for (let line = 0; line < 100; line++) process.stderr.write(`noise line ${line}\n`);
      // Stderr and stdout are separate pipes; the pause lets the harness read the noise first.
      process.stderr.write("", () => setTimeout(() => send({ type: "result", id: request.id, y }), 100));
      return;
    case "error":
      return send({ type: "error", id: request.id, code: "E_K_MISMATCH", message: "fake: K differs" });
    case "hang":
      return;
    case "slow":
      return setTimeout(() => send({ type: "result", id: request.id, y }), 100);
    case "bad-code":
      return send({ type: "error", id: request.id, code: "E_NOT_A_CODE", message: "fake: invented code" });
    case "holder-pid":
      return send({ type: "error", id: request.id, code: "E_UNSUPPORTED", message: String(holder?.pid) });
    case "noisy-hang":
      for (let line = 0; line < 100; line++) process.stderr.write(`noise line ${line}\n`);
      return;
    case "exit-mid-reply": {
      const bytes = frame({ type: "result", id: request.id, y });
      process.stdout.write(bytes.subarray(0, 10), () => process.exit(3));
      return;
    }
    case "oversized": {
      const header = Buffer.alloc(4);
      header.writeUInt32LE(0xfffffff0, 0);
      return process.stdout.write(header);
    }
    case "garbage": {
      const header = Buffer.alloc(4);
      header.writeUInt32LE(3, 0);
      return process.stdout.write(Buffer.concat([header, Buffer.from([0xc1, 0xc1, 0xc1])]));
    }
    case "bad-schema":
      return send({ type: "result", id: request.id, y: { dtype: "float32", shape: "one", data: 5 } });
    case "wrong-length":
      return send({ type: "result", id: request.id, y: { dtype: "float32", shape: [3], data: new Uint8Array(5) } });
    case "wrong-id":
      return send({ type: "result", id: request.id + 1000, y });
    case "unknown-type":
      return send({ type: "surprise", id: request.id });
    default:
      return send({ type: "error", id: request.id, code: "E_UNSUPPORTED", message: `fake: no behaviour '${kind}'` });
  }
}

let buffered = Buffer.alloc(0);
process.stdin.on("data", (chunk) => {
  buffered = Buffer.concat([buffered, chunk]);
  while (buffered.length >= 4) {
    const length = buffered.readUInt32LE(0);
    if (buffered.length < 4 + length) return;
    const message = decode(buffered.subarray(4, 4 + length));
    buffered = buffered.subarray(4 + length);
    handle(message);
  }
});
process.stdin.on("end", () => process.exit(0));

function handle(message) {
  if (message.type === "hello") {
    if (args.includes("--silent-hello")) return;
    return send({
      type: "hello",
      protocol,
      name: "fake",
      version: "0.0.1",
      capabilities: { modes: ["affine"], dtypes: ["float32"], transpose: [true], batchedWeights: false, reportsErrors: true },
      variant: variantArgument(),
    });
  }
  if (message.type === "shutdown") process.exit(0);
  if (message.type === "run") return reply(message);
  send({ type: "error", id: message.id ?? null, code: "E_UNSUPPORTED", message: `fake: unknown type ${message.type}` });
}

/** Returns the variant to declare: a registry name, or with `--variant object` a full record. */
function variantArgument() {
  const value = args.includes("--variant") ? args[args.indexOf("--variant") + 1] : "exact";
  if (value !== "object") return value;
  return { name: "fake/f32", form: "dequantize-dot", accumulator: "float32", weightRounding: "once", weightDType: "float32" };
}
