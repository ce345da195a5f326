#!/usr/bin/env python3
"""qmm-conformance worker that runs the real mlx.core.quantized_matmul (spec/PROTOCOL.md).

It stays thin: it decodes frames, builds mx arrays from the raw bytes, calls MLX and sends the
result back. MLX's own exceptions are mapped to the specification's error codes by their message
text, so that the harness can compare which inputs MLX rejects. It also handles the `quantize` and
`dequantize` extension requests with mx.quantize and mx.dequantize.

Run it with the project's virtual environment (`npm run setup:mlx` creates it):
    .venv/bin/python backends/mlx/worker.py
"""

import os
import struct
import sys
import traceback

import msgpack

PROTOCOL_VERSION = 1
MAX_FRAME_BYTES = 1 << 30

# The numerics variant of the registry (spec/variants.ts) that describes MLX's CPU kernels.
VARIANT = "mlx-cpu"

# MLX error texts (mlx 0.32.4, mlx/ops.cpp and mlx/backend/cpu/quantized.cpp) and the code each
# corresponds to. The first match wins, so the more specific texts come first.
ERROR_PATTERNS = [
    ("Invalid quantization mode", "E_MODE_INVALID"),
    ("Biases must be provided", "E_BIASES_REQUIRED"),
    ("Biases must be null", "E_BIASES_FORBIDDEN"),
    ("Scale type must be uint8", "E_SCALES_DTYPE"),
    ("but scales.dtype()", "E_SCALES_DTYPE"),
    ("The weight matrix should be uint32", "E_W_DTYPE"),
    ("Scales and biases should have the same shape", "E_SCALES_BIASES_SHAPE"),
    ("Weight and scales should have the same batch shape", "E_BATCH_SHAPE"),
    ("are incompatible based on bits and group_size", "E_PACKED_SHAPE"),
    ("Last dimension of first input", "E_K_MISMATCH"),
    ("but x.dtype()", "E_X_DTYPE"),
    ("only floating types are supported", "E_X_DTYPE"),
    ("cannot be broadcast", "E_BROADCAST"),
    ("Quantization bits must be", "E_BITS_INVALID"),
    ("Quantization group size must be", "E_GROUP_SIZE_INVALID"),
]


def log(text):
    sys.stderr.write(f"mlx worker: {text}\n")
    sys.stderr.flush()


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
    return msgpack.unpackb(body, raw=False)


def write_frame(stream, message):
    body = msgpack.packb(message, use_bin_type=True)
    stream.write(struct.pack("<I", len(body)) + body)
    stream.flush()


def main():
    stdin = sys.stdin.buffer
    stdout = sys.stdout.buffer
    # Anything printed by mistake goes to stderr, so stdout carries only frames.
    sys.stdout = sys.stderr

    import mlx.core as mx  # noqa: PLC0415 - imported after the streams are set up

    # Keep the source folder free of __pycache__ when the helper module is imported.
    sys.dont_write_bytecode = True
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from mlx_arrays import ArrayCodec  # noqa: PLC0415

    codec = ArrayCodec(mx)
    log(f"started with mlx {mx.__version__} on {mx.default_device()}")

    while True:
        message = read_frame(stdin)
        if message is None or message.get("type") == "shutdown":
            log("shutting down")
            return 0

        kind = message.get("type")
        if kind == "hello":
            if message.get("protocol") != PROTOCOL_VERSION:
                write_frame(stdout, {"type": "error", "id": None, "code": "E_PROTOCOL_VERSION", "message": f"this worker speaks protocol {PROTOCOL_VERSION}", "supported": [PROTOCOL_VERSION]})
                return 1
            write_frame(stdout, hello(mx))
            continue

        handler = {"run": run, "quantize": quantize, "dequantize": dequantize}.get(kind)
        if handler is None:
            reply = error_reply("E_UNSUPPORTED", f"unknown request type {kind!r}")
        else:
            try:
                reply = handler(mx, codec, message.get("params") or {}, message.get("tensors") or {})
            except Exception as error:  # noqa: BLE001 - one bad case must not end the worker
                reply = error_reply(code_of(error), f"{type(error).__name__}: {error}")
                if reply["code"] == "E_BACKEND_INTERNAL":
                    log(f"case {message.get('caseId')}: {traceback.format_exc()}")
        reply["id"] = message.get("id")
        write_frame(stdout, reply)


def hello(mx):
    return {
        "type": "hello",
        "protocol": PROTOCOL_VERSION,
        "name": "mlx",
        "version": mx.__version__,
        "capabilities": {
            "modes": ["affine", "mxfp4", "mxfp8", "nvfp4"],
            "dtypes": ["float32", "float16", "bfloat16"],
            "transpose": [True, False],
            "batchedWeights": True,
            "reportsErrors": True,
        },
        "variant": VARIANT,
        "extensions": ["quantize", "dequantize"],
    }


def run(mx, codec, params, tensors):
    arrays = {name: codec.to_array(tensor) for name, tensor in tensors.items()}
    y = mx.quantized_matmul(
        arrays["x"],
        arrays["w"],
        scales=arrays["scales"],
        biases=arrays.get("biases"),
        transpose=params.get("transpose", True),
        group_size=params.get("group_size"),
        bits=params.get("bits"),
        mode=params.get("mode", "affine"),
    )
    mx.eval(y)
    return {"type": "result", "y": codec.to_wire(y)}


def quantize(mx, codec, params, tensors):
    outputs = mx.quantize(
        codec.to_array(tensors["w"]),
        group_size=params.get("group_size"),
        bits=params.get("bits"),
        mode=params.get("mode", "affine"),
    )
    mx.eval(*outputs)
    names = ["w", "scales", "biases"][: len(outputs)]
    return {"type": "result", "tensors": {name: codec.to_wire(array) for name, array in zip(names, outputs)}}


def dequantize(mx, codec, params, tensors):
    dtype = params.get("dtype")
    biases = tensors.get("biases")
    y = mx.dequantize(
        codec.to_array(tensors["w"]),
        scales=codec.to_array(tensors["scales"]),
        biases=None if biases is None else codec.to_array(biases),
        group_size=params.get("group_size"),
        bits=params.get("bits"),
        mode=params.get("mode", "affine"),
        dtype=None if dtype is None else codec.dtype_of(dtype),
    )
    mx.eval(y)
    return {"type": "result", "y": codec.to_wire(y)}


def code_of(error):
    """Map an MLX exception to an error code of spec/errors.ts by its message."""
    if isinstance(error, TypeError):
        return "E_PARAM_INVALID"
    text = str(error)
    for pattern, code in ERROR_PATTERNS:
        if pattern in text:
            return code
    return "E_BACKEND_INTERNAL"


def error_reply(code, message):
    return {"type": "error", "code": code, "message": message}


if __name__ == "__main__":
    sys.exit(main())
