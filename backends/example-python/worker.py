#!/usr/bin/env python3
"""An example worker for the qmm-conformance subprocess protocol (spec/PROTOCOL.md).

Standard-library Python only. It runs affine quantized_matmul in plain float64 arithmetic:
ŵ = s·q + β in float64, each product x·ŵ in float64, an exactly rounded sum (math.fsum), and one
final rounding to the output dtype. That is the `dequantize-dot/f64` variant of the registry or
better. It does not validate inputs (capabilities.reportsErrors is false) and supports 2-D w only.

Run it through the harness:
    qmm-conformance run --backend "cmd:python3 backends/example-python/worker.py"
"""

import math
import os
import struct
import sys

# Keep the source folder free of __pycache__ when the helper module is imported.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import msgpack_lite  # noqa: E402

PROTOCOL_VERSION = 1
MAX_FRAME_BYTES = 1 << 30

# Precision (significand bits), minimum normal exponent and maximum exponent of each output dtype.
FORMATS = {
    "float32": (24, -126, 127),
    "float16": (11, -14, 15),
    "bfloat16": (8, -126, 127),
}

HELLO = {
    "type": "hello",
    "protocol": PROTOCOL_VERSION,
    "name": "example-python",
    "version": "1.0.0",
    "capabilities": {
        "modes": ["affine"],
        "dtypes": ["float32", "float16", "bfloat16"],
        "transpose": [True, False],
        "batchedWeights": False,
        "reportsErrors": False,
    },
    "variant": "dequantize-dot/f64",
}


def read_frame(stream):
    """Read one frame; None at a clean end of input."""
    header = stream.read(4)
    if len(header) == 0:
        return None
    if len(header) < 4:
        raise EOFError("input ended inside a frame header")
    (length,) = struct.unpack("<I", header)
    if length == 0 or length > MAX_FRAME_BYTES:
        raise ValueError(f"frame length {length} is outside [1, {MAX_FRAME_BYTES}]")
    body = stream.read(length)
    if len(body) < length:
        raise EOFError(f"input ended inside a frame body: {len(body)} of {length} bytes")
    return msgpack_lite.decode(body)


def write_frame(stream, message):
    body = msgpack_lite.encode(message)
    stream.write(struct.pack("<I", len(body)) + body)
    stream.flush()


def decode_floats(tensor):
    """Return the elements of a float32, float16 or bfloat16 wire tensor as Python floats."""
    data = tensor["data"]
    dtype = tensor["dtype"]
    if dtype == "float32":
        return list(struct.unpack(f"<{len(data) // 4}f", data))
    if dtype == "float16":
        return list(struct.unpack(f"<{len(data) // 2}e", data))
    if dtype == "bfloat16":
        halves = struct.unpack(f"<{len(data) // 2}H", data)
        return [struct.unpack("<f", struct.pack("<I", bits << 16))[0] for bits in halves]
    raise ValueError(f"unsupported float dtype {dtype}")


def round_to(value, dtype):
    """Round a float64 to `dtype` once, to nearest with ties to even; overflow gives ±inf."""
    if math.isnan(value) or math.isinf(value) or value == 0.0:
        return value
    precision, min_exponent, max_exponent = FORMATS[dtype]
    exponent = max(math.frexp(value)[1] - 1, min_exponent)
    quantum = math.ldexp(1.0, exponent - precision + 1)
    rounded = round(value / quantum) * quantum
    largest = math.ldexp(2.0 - math.ldexp(1.0, 1 - precision), max_exponent)
    if abs(rounded) > largest:
        return math.copysign(math.inf, value)
    return float(rounded)


def encode_floats(values, dtype):
    if dtype == "float32":
        return struct.pack(f"<{len(values)}f", *values)
    if dtype == "float16":
        return struct.pack(f"<{len(values)}e", *values)
    words = struct.unpack(f"<{len(values)}I", struct.pack(f"<{len(values)}f", *values))
    return struct.pack(f"<{len(values)}H", *(word >> 16 for word in words))


def promote(first, second):
    if first == second:
        return first
    return "float32"


def unpack_codes(words, row_words, bits):
    """Split each row of uint32 words into `bits`-wide codes, least significant bits first."""
    rows = []
    mask = (1 << bits) - 1
    for start in range(0, len(words), row_words):
        stream = 0
        for index, word in enumerate(words[start:start + row_words]):
            stream |= word << (32 * index)
        count = row_words * 32 // bits
        rows.append([(stream >> (bits * i)) & mask for i in range(count)])
    return rows


def exact_sum(terms):
    """The float64 rounding of the exact sum, with the IEEE rules for infinities and NaN."""
    if any(math.isnan(term) for term in terms):
        return math.nan
    positive = any(term == math.inf for term in terms)
    negative = any(term == -math.inf for term in terms)
    if positive and negative:
        return math.nan
    if positive or negative:
        return math.inf if positive else -math.inf
    return math.fsum(terms)


def run_affine(params, tensors):
    if params.get("mode", "affine") != "affine":
        return error_reply("E_UNSUPPORTED", f"mode {params.get('mode')} is not supported by this worker")
    group_size = params.get("group_size") or 64
    bits = params.get("bits") or 4
    transpose = params.get("transpose", True)
    x, w, scales, biases = (tensors.get(name) for name in ("x", "w", "scales", "biases"))
    if biases is None or len(w["shape"]) != 2:
        return error_reply("E_UNSUPPORTED", "this worker needs biases and a 2-D w")

    out_dtype = promote(x["dtype"], promote(scales["dtype"], biases["dtype"]))
    xs = [round_to(value, out_dtype) for value in decode_floats(x)]
    ss = [round_to(value, out_dtype) for value in decode_floats(scales)]
    bs = [round_to(value, out_dtype) for value in decode_floats(biases)]

    rows, row_words = w["shape"]
    words = struct.unpack(f"<{rows * row_words}I", w["data"])
    codes = unpack_codes(words, row_words, bits)
    columns = row_words * 32 // bits
    groups = columns // group_size

    # The dequantized weight as a K×N matrix: W[k][n].
    if transpose:
        n_count, k_count = rows, columns
        weight = [[ss[n * groups + k // group_size] * codes[n][k] + bs[n * groups + k // group_size] for n in range(n_count)] for k in range(k_count)]
    else:
        k_count, n_count = rows, columns
        weight = [[ss[k * groups + n // group_size] * codes[k][n] + bs[k * groups + n // group_size] for n in range(n_count)] for k in range(k_count)]

    if x["shape"][-1] != k_count:
        return error_reply("E_K_MISMATCH", f"x.shape[-1] is {x['shape'][-1]} but w gives K = {k_count}")

    out = []
    for row_start in range(0, len(xs), k_count):
        row = xs[row_start:row_start + k_count]
        for n in range(n_count):
            out.append(round_to(exact_sum([row[k] * weight[k][n] for k in range(k_count)]), out_dtype))

    out_shape = list(x["shape"][:-1]) + [n_count]
    return {"type": "result", "y": {"dtype": out_dtype, "shape": out_shape, "data": encode_floats(out, out_dtype)}}


def error_reply(code, message):
    return {"type": "error", "code": code, "message": message}


def main():
    stdin = sys.stdin.buffer
    stdout = sys.stdout.buffer
    # Anything printed by mistake goes to stderr, so stdout carries only frames.
    sys.stdout = sys.stderr

    while True:
        message = read_frame(stdin)
        if message is None or message.get("type") == "shutdown":
            return 0

        kind = message.get("type")
        if kind == "hello":
            if message.get("protocol") != PROTOCOL_VERSION:
                write_frame(stdout, {"type": "error", "id": None, "code": "E_PROTOCOL_VERSION", "message": f"this worker speaks protocol {PROTOCOL_VERSION}", "supported": [PROTOCOL_VERSION]})
                return 1
            write_frame(stdout, HELLO)
            continue

        if kind == "run":
            try:
                reply = run_affine(message.get("params", {}), message.get("tensors", {}))
            except Exception as error:  # noqa: BLE001 - one bad case must not end the worker
                reply = error_reply("E_BACKEND_INTERNAL", f"{type(error).__name__}: {error}")
        else:
            reply = error_reply("E_UNSUPPORTED", f"unknown request type {kind!r}")
        reply["id"] = message.get("id")
        write_frame(stdout, reply)


if __name__ == "__main__":
    sys.exit(main())
