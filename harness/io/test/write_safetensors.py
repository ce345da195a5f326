"""Write safetensors files for the tests of harness/io and the `reference` command.

This is an independent writer (Python standard library only) so that the TypeScript reader is
tested on bytes it did not produce. It lays files out like MLX's writer (mlx/io/safetensors.cpp):
compact JSON with the keys sorted, as nlohmann::json's std::map orders them, no padding after the
header, tensors stored one after another. NOTE: the byte layout was not compared against a file
written by a real mx.save_safetensors, because MLX cannot be installed on the test machine.

A job is one JSON object on stdin:

  {"kind": "tensors", "out": PATH, "metadata": {...}, "tensors": [{"name", "dtype", "shape", "values"}],
   "corrupt": {"truncate": N, "header_length": N, "data_offsets": {"name": [b, e]}, "append": N}}

  {"kind": "qmm", "out": PATH, "expected_out": PATH, "metadata": {...}, "mode": ..., "bits": B,
   "group_size": G, "transpose": bool, "x": {"dtype", "shape", "values"}, "codes": [[...]],
   "scales": {"dtype", "values": [[...]]}, "biases": {...}}

The "qmm" job packs the logical code matrix `codes` itself (LSB-first bit stream per row, in
little-endian uint32 words). It computes the expected output with exact rational arithmetic
(fractions.Fraction), so the test compares the TypeScript reference with a second, independent
implementation of packing and dequantization. The script does not implement rounding, so its
cases must have outputs that are exact in the output dtype, and it raises an error otherwise.
"""

import json
import struct
import sys
from fractions import Fraction

ELEMENT_FORMATS = {"F32": "<f", "F16": "<e", "U32": "<I", "U8": "<B", "F64": "<d", "I32": "<i"}
ELEMENT_BYTES = {"F32": 4, "F16": 2, "BF16": 2, "U32": 4, "U8": 1, "F64": 8, "I32": 4}
DTYPE_NAMES = {"float32": "F32", "float16": "F16", "bfloat16": "BF16", "uint32": "U32", "uint8": "U8", "float64": "F64", "int32": "I32"}
E2M1 = [0, 0.5, 1, 1.5, 2, 3, 4, 6, -0.0, -0.5, -1, -1.5, -2, -3, -4, -6]


def encode_values(dtype, values):
    """Return the little-endian bytes of `values` in safetensors dtype `dtype`."""
    if dtype == "BF16":
        out = bytearray()
        for value in values:
            bits = struct.unpack("<I", struct.pack("<f", value))[0]
            if bits & 0xFFFF:
                raise ValueError(f"{value} is not exactly representable in bfloat16")
            out += struct.pack("<H", bits >> 16)
        return bytes(out)
    return b"".join(struct.pack(ELEMENT_FORMATS[dtype], value) for value in values)


def decode_values(dtype, data):
    """Return the values stored in little-endian `data` of safetensors dtype `dtype`."""
    if dtype == "BF16":
        halves = struct.unpack(f"<{len(data) // 2}H", data)
        return [struct.unpack("<f", struct.pack("<I", half << 16))[0] for half in halves]
    width = ELEMENT_BYTES[dtype]
    return [struct.unpack(ELEMENT_FORMATS[dtype], data[i : i + width])[0] for i in range(0, len(data), width)]


def write_file(path, tensors, metadata, corrupt=None):
    """Write `tensors` (list of (name, dtype, shape, bytes)) and `metadata` to `path`."""
    corrupt = corrupt or {}
    header = {}
    if metadata:
        header["__metadata__"] = metadata
    offset = 0
    for name, dtype, shape, data in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
    for name, offsets in corrupt.get("data_offsets", {}).items():
        header[name]["data_offsets"] = offsets

    header_bytes = json.dumps(header, separators=(",", ":"), sort_keys=True).encode("utf-8")
    header_length = corrupt.get("header_length", len(header_bytes))
    content = struct.pack("<Q", header_length) + header_bytes + b"".join(data for _, _, _, data in tensors)
    content += b"\0" * corrupt.get("append", 0)
    if "truncate" in corrupt:
        content = content[: corrupt["truncate"]]
    with open(path, "wb") as handle:
        handle.write(content)


def tensor_job(job):
    tensors = []
    for tensor in job["tensors"]:
        dtype = tensor["dtype"]
        data = bytes.fromhex(tensor["hex"]) if "hex" in tensor else encode_values(dtype, tensor["values"])
        tensors.append((tensor["name"], dtype, tensor["shape"], data))
    write_file(job["out"], tensors, job.get("metadata"), job.get("corrupt"))


def pack_rows(codes, bits):
    """Pack each row of codes as an LSB-first bit stream and split it into little-endian uint32 words."""
    words = []
    for row in codes:
        stream = 0
        for index, code in enumerate(row):
            if not 0 <= code < (1 << bits):
                raise ValueError(f"code {code} does not fit in {bits} bits")
            stream |= code << (index * bits)
        total_bits = len(row) * bits
        if total_bits % 32:
            raise ValueError(f"a row of {len(row)} codes of {bits} bits is not a whole number of words")
        words.extend((stream >> (32 * word)) & 0xFFFFFFFF for word in range(total_bits // 32))
    return words


def e4m3(byte):
    """Decode an E4M3 byte as MLX does: no NaN, 0x7F is 480."""
    sign = -1 if byte & 0x80 else 1
    exponent = (byte >> 3) & 0xF
    mantissa = byte & 0x7
    if exponent == 0:
        return sign * Fraction(mantissa, 8) * Fraction(1, 64)
    return sign * (1 + Fraction(mantissa, 8)) * Fraction(2) ** (exponent - 7)


def weight_value(job, row, column):
    """Return the exact dequantized weight of the logical matrix at (row, column)."""
    mode = job["mode"]
    group = column // job["group_size"]
    code = job["codes"][row][column]
    scale = job["scales"]["values"][row][group]
    if mode == "affine":
        return Fraction(scale) * code + Fraction(job["biases"]["values"][row][group])
    if mode == "mxfp4":
        return Fraction(2) ** (scale - 127) * Fraction(E2M1[code])
    if mode == "mxfp8":
        return Fraction(2) ** (scale - 127) * e4m3(code)
    return e4m3(scale) * Fraction(E2M1[code])


def output_dtype(job):
    x_dtype = job["x"]["dtype"]
    if job["mode"] != "affine":
        return x_dtype
    dtypes = {x_dtype, job["scales"]["dtype"], job["biases"]["dtype"]}
    return dtypes.pop() if len(dtypes) == 1 else "float32"


def qmm_job(job):
    bits, transpose = job["bits"], job["transpose"]
    codes = job["codes"]
    rows, columns = len(codes), len(codes[0])
    scale_rows = job["scales"]["values"]
    groups = len(scale_rows[0])

    scales_dtype = "U8" if job["mode"] != "affine" else DTYPE_NAMES[job["scales"]["dtype"]]
    flat_scales = [value for row in scale_rows for value in row]
    tensors = [
        ("x", DTYPE_NAMES[job["x"]["dtype"]], job["x"]["shape"], encode_values(DTYPE_NAMES[job["x"]["dtype"]], job["x"]["values"])),
        ("w", "U32", [rows, columns * bits // 32], encode_values("U32", pack_rows(codes, bits))),
        ("scales", scales_dtype, [rows, groups], encode_values(scales_dtype, flat_scales)),
    ]
    if "biases" in job:
        biases_dtype = DTYPE_NAMES[job["biases"]["dtype"]]
        flat_biases = [value for row in job["biases"]["values"] for value in row]
        tensors.append(("biases", biases_dtype, [rows, groups], encode_values(biases_dtype, flat_biases)))
    write_file(job["out"], tensors, job.get("metadata"))

    x_shape = job["x"]["shape"]
    K = x_shape[-1]
    N = rows if transpose else columns
    x_values = job["x"]["values"]
    outputs = []
    for start in range(0, len(x_values), K):
        x_row = x_values[start : start + K]
        for n in range(N):
            total = Fraction(0)
            for k in range(K):
                weight = weight_value(job, n, k) if transpose else weight_value(job, k, n)
                total += Fraction(x_row[k]) * weight
            outputs.append(total)

    out_dtype = DTYPE_NAMES[output_dtype(job)]
    out_values = [float(value) for value in outputs]
    for exact, value in zip(outputs, out_values):
        if Fraction(value) != exact:
            raise ValueError(f"the expected value {exact} is not exact in float64; pick another case")
    y_bytes = encode_values(out_dtype, out_values)
    if [Fraction(value) for value in decode_values(out_dtype, y_bytes)] != outputs:
        raise ValueError("an expected value is not exactly representable in the output dtype; pick another case")
    write_file(job["expected_out"], [("y", out_dtype, x_shape[:-1] + [N], y_bytes)], job.get("metadata"))


def main():
    job = json.load(sys.stdin)
    if job["kind"] == "tensors":
        tensor_job(job)
    elif job["kind"] == "qmm":
        qmm_job(job)
    else:
        raise ValueError(f"unknown job kind {job['kind']!r}")


if __name__ == "__main__":
    main()
