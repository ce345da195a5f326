"""Thin adapter for the reference's cross-check tests against MLX.

Reads a msgpack list of cases from stdin and runs each through mlx.core.quantize, dequantize,
to_fp8 or from_fp8 on the CPU. Writes a msgpack list of results to stdout: raw little-endian
tensor bytes, or an error string per failed case."""
import array
import sys

import mlx.core as mx
import msgpack

mx.set_default_device(mx.cpu)

# Storage of each dtype as an array typecode and the MLX integer dtype with the same bits.
STORAGE = {
    "float32": ("I", mx.uint32),
    "float16": ("H", mx.uint16),
    "bfloat16": ("H", mx.uint16),
    "uint32": ("I", mx.uint32),
    "uint8": ("B", mx.uint8),
}


def to_mlx(dtype, shape, data):
    code, storage = STORAGE[dtype]
    bits = mx.array(array.array(code, data).tolist(), dtype=storage).reshape(shape)
    target = getattr(mx, dtype)
    return bits if target == storage else bits.view(target)


def to_bytes(value):
    if value.dtype in (mx.float16, mx.bfloat16):
        value, code = value.view(mx.uint16), "H"
    elif value.dtype == mx.float32:
        value, code = value.view(mx.uint32), "I"
    elif value.dtype == mx.uint32:
        code = "I"
    elif value.dtype == mx.uint8:
        code = "B"
    else:
        raise TypeError(f"unexpected result dtype {value.dtype}")
    return array.array(code, value.reshape(-1).tolist()).tobytes()


def run(case):
    if case["op"] == "quantize":
        w = to_mlx(case["dtype"], case["shape"], case["data"])
        out = mx.quantize(w, group_size=case["groupSize"], bits=case["bits"], mode=case["mode"])
        biases = to_bytes(out[2]) if len(out) > 2 else None
        return {"w": to_bytes(out[0]), "scales": to_bytes(out[1]), "biases": biases}

    if case["op"] == "to_fp8":
        return {"values": to_bytes(mx.to_fp8(to_mlx(case["dtype"], case["shape"], case["data"])))}

    if case["op"] == "from_fp8":
        codes = to_mlx("uint8", case["shape"], case["data"])
        return {"values": to_bytes(mx.from_fp8(codes, dtype=getattr(mx, case["outDType"])))}

    w = to_mlx("uint32", case["wShape"], case["w"])
    scales = to_mlx("uint8", case["scalesShape"], case["scales"])
    out = mx.dequantize(w, scales, mode=case["mode"], dtype=getattr(mx, case["outDType"]))
    return {"values": to_bytes(out)}


def main():
    if sys.byteorder != "little":
        raise SystemExit("the adapter writes host-order bytes and needs a little-endian host")
    results = []
    for case in msgpack.unpackb(sys.stdin.buffer.read()):
        try:
            results.append(run(case))
        except Exception as error:  # reported per case, so one failure does not hide the others
            results.append({"error": f"{type(error).__name__}: {error}"})
    sys.stdout.buffer.write(msgpack.packb(results))


if __name__ == "__main__":
    main()
