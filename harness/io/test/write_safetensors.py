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
implementation of packing, dequantization and the single rounding to the output dtype.
"""

import json
import math
import struct
import sys
from fractions import Fraction

ELEMENT_FORMATS = {"F32": "<f", "F16": "<e", "U32": "<I", "U8": "<B", "F64": "<d", "I32": "<i"}
ELEMENT_BYTES = {"F32": 4, "F16": 2, "BF16": 2, "U32": 4, "U8": 1, "F64": 8, "I32": 4}
DTYPE_NAMES = {"float32": "F32", "float16": "F16", "bfloat16": "BF16", "uint32": "U32", "uint8": "U8", "float64": "F64", "int32": "I32"}
E2M1 = [0, 0.5, 1, 1.5, 2, 3, 4, 6, -0.0, -0.5, -1, -1.5, -2, -3, -4, -6]


def encode_values(dtype, values, exact=False):
    """Return the little-endian bytes of `values` in safetensors dtype `dtype`. With `exact`, raise
    ValueError when a finite value is not representable, so that no input is silently rounded."""
    if exact and dtype in ("F32", "F16"):
        data = b"".join(struct.pack(ELEMENT_FORMATS[dtype], float(value)) for value in values)
        for value, stored in zip(values, decode_values(dtype, data)):
            if math.isfinite(float(value)) and float(value) != stored:
                raise ValueError(f"{value} is not exactly representable in {dtype}")
        return data
    if dtype == "BF16":
        out = bytearray()
        for value in values:
            bits = struct.unpack("<I", struct.pack("<f", float(value)))[0]
            if bits & 0xFFFF:
                raise ValueError(f"{value} is not exactly representable in bfloat16")
            out += struct.pack("<H", bits >> 16)
        return bytes(out)
    return b"".join(struct.pack(ELEMENT_FORMATS[dtype], float(value) if isinstance(value, str) else value) for value in values)


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


def nested_shape(values):
    """Return the shape of a nested list."""
    shape = []
    while isinstance(values, list):
        shape.append(len(values))
        values = values[0]
    return shape


def matrices(values, depth):
    """Flatten the batch levels of a nested list of matrices, in row-major batch order."""
    if depth == 0:
        return [values]
    return [matrix for item in values for matrix in matrices(item, depth - 1)]


def broadcast(a, b):
    """Return the NumPy broadcast of two batch shapes, or raise ValueError."""
    rank = max(len(a), len(b))
    a = [1] * (rank - len(a)) + a
    b = [1] * (rank - len(b)) + b
    if any(x != y and x != 1 and y != 1 for x, y in zip(a, b)):
        raise ValueError(f"batch shapes {a} and {b} do not broadcast")
    return [max(x, y) for x, y in zip(a, b)]


def source_index(index, shape):
    """Return the flat batch index that broadcast `index` reads from a tensor with batch `shape`."""
    index = index[len(index) - len(shape) :]
    flat = 0
    for position, size in zip(index, shape):
        flat = flat * size + (0 if size == 1 else position)
    return flat


def multi_indices(shape):
    """Yield every index of `shape` in row-major order."""
    if not shape:
        yield []
        return
    for first in range(shape[0]):
        for rest in multi_indices(shape[1:]):
            yield [first] + rest


def weight_value(job, matrix, row, column):
    """Return the exact dequantized weight of one logical matrix at (row, column)."""
    mode = job["mode"]
    group = column // job["group_size"]
    code = job["code_matrices"][matrix][row][column]
    scale = job["scale_matrices"][matrix][row][group]
    if mode == "affine":
        bias = float(job["bias_matrices"][matrix][row][group])
        if not (math.isfinite(float(scale)) and math.isfinite(bias)):
            # IEEE arithmetic gives the class of s·q + β: inf·0 and inf + (−inf) are NaN.
            return float(scale) * code + bias
        return Fraction(float(scale)) * code + Fraction(bias)
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


FORMATS = {"F32": (24, -126, 127), "F16": (11, -14, 15), "BF16": (8, -126, 127)}


def round_to(value, dtype):
    """Round a Fraction once to safetensors float dtype `dtype`: nearest, ties to even, with
    subnormals, overflow to ±inf, and +0 for an exact zero (SPEC.md §8.2)."""
    if not isinstance(value, Fraction):
        return value
    if value == 0:
        return 0.0
    precision, min_exponent, max_exponent = FORMATS[dtype]
    magnitude = abs(value)
    exponent = magnitude.numerator.bit_length() - magnitude.denominator.bit_length()
    if Fraction(2) ** exponent > magnitude:
        exponent -= 1
    quantum = Fraction(2) ** (max(exponent, min_exponent) - precision + 1)
    units = magnitude / quantum
    whole = units.numerator // units.denominator
    remainder = units - whole
    if remainder > Fraction(1, 2) or (remainder == Fraction(1, 2) and whole % 2 == 1):
        whole += 1
    rounded = whole * quantum
    if rounded > (2 - Fraction(2) ** (1 - precision)) * Fraction(2) ** max_exponent:
        rounded = math.inf
    else:
        rounded = float(rounded)
    return -rounded if value < 0 else rounded


def dot(x_row, weights):
    """Return Σ x·ŵ: a Fraction when every term is finite, else the float class of SPEC.md §8.3."""
    total = Fraction(0)
    nan = positive = negative = False
    for x_value, weight in zip(x_row, weights):
        x_value = float(x_value)
        if math.isfinite(x_value) and isinstance(weight, Fraction):
            total += Fraction(x_value) * weight
            continue
        term = x_value * float(weight)
        # One factor is non-finite here, so the term is NaN or an infinity.
        nan = nan or math.isnan(term)
        positive = positive or term == math.inf
        negative = negative or term == -math.inf
    if nan or (positive and negative):
        return math.nan
    if positive:
        return math.inf
    if negative:
        return -math.inf
    return total


def flat(values):
    return [value for matrix in values for row in matrix for value in row]


def qmm_job(job):
    """Write the input file of one call and the file with its exact output y.

    `codes`, `scales.values` and `biases.values` are nested lists of matrices: (R, C) codes and
    (R, C/G) scales, with leading batch levels when w is batched.
    """
    bits, transpose = job["bits"], job["transpose"]
    code_shape = nested_shape(job["codes"])
    w_batch, (rows, columns) = code_shape[:-2], code_shape[-2:]
    depth = len(w_batch)
    job["code_matrices"] = matrices(job["codes"], depth)
    job["scale_matrices"] = matrices(job["scales"]["values"], depth)
    groups = len(job["scale_matrices"][0][0])

    scales_dtype = "U8" if job["mode"] != "affine" else DTYPE_NAMES[job["scales"]["dtype"]]
    words = [word for matrix in job["code_matrices"] for word in pack_rows(matrix, bits)]
    tensors = [
        ("x", DTYPE_NAMES[job["x"]["dtype"]], job["x"]["shape"], encode_values(DTYPE_NAMES[job["x"]["dtype"]], job["x"]["values"], exact=True)),
        ("w", "U32", w_batch + [rows, columns * bits // 32], encode_values("U32", words)),
        ("scales", scales_dtype, w_batch + [rows, groups], encode_values(scales_dtype, flat(job["scale_matrices"]), exact=True)),
    ]
    if "biases" in job:
        job["bias_matrices"] = matrices(job["biases"]["values"], depth)
        biases_dtype = DTYPE_NAMES[job["biases"]["dtype"]]
        tensors.append(("biases", biases_dtype, w_batch + [rows, groups], encode_values(biases_dtype, flat(job["bias_matrices"]), exact=True)))
    write_file(job["out"], tensors, job.get("metadata"))

    x_shape = job["x"]["shape"]
    K = x_shape[-1]
    M = 1 if len(x_shape) == 1 else x_shape[-2]
    N = rows if transpose else columns
    x_batch = x_shape[:-2]
    if w_batch and len(x_shape) <= 2:
        raise ValueError("a batched w needs x of rank 3 or more")
    out_batch = broadcast(x_batch, w_batch)
    x_values = job["x"]["values"]

    outputs = []
    for index in multi_indices(out_batch):
        x_matrix = source_index(index, x_batch)
        matrix = source_index(index, w_batch)
        for m in range(M):
            x_row = x_values[(x_matrix * M + m) * K : (x_matrix * M + m + 1) * K]
            for n in range(N):
                outputs.append(dot(x_row, [weight_value(job, matrix, n, k) if transpose else weight_value(job, matrix, k, n) for k in range(K)]))

    out_dtype = DTYPE_NAMES[output_dtype(job)]
    out_values = [round_to(value, out_dtype) for value in outputs]
    y_bytes = encode_values(out_dtype, out_values)
    for rounded, stored in zip(out_values, decode_values(out_dtype, y_bytes)):
        if math.isfinite(rounded) and rounded != stored:
            raise AssertionError(f"{rounded} changed to {stored} when stored; round_to is wrong")
    out_shape = [N] if len(x_shape) == 1 else out_batch + [M, N]
    write_file(job["expected_out"], [("y", out_dtype, out_shape, y_bytes)], job.get("metadata"))


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
