/**
 * The Python script a bundle ships to reproduce its case in MLX. It needs only `pip install mlx`:
 * the expected values, whose float64 tensors MLX's safetensors loader rejects, are parsed with
 * the standard library.
 */

/** The text of `reproduce_mlx.py`. */
export const REPRODUCE_MLX_PY = `"""Run this bundle's case through MLX and compare with the exact result within the budget.

Usage: python3 reproduce_mlx.py        (needs: pip install mlx)
"""
import json
import math
import struct
import sys
from pathlib import Path

import mlx.core as mx

HERE = Path(__file__).resolve().parent


# safetensors dtype -> (struct format, bytes per element); BF16 is widened to float32 bits by hand.
FORMATS = {"F64": ("d", 8), "F32": ("f", 4), "F16": ("e", 2), "BF16": ("H", 2)}


def read_float_tensors(path):
    """Read the float tensors and the metadata of a safetensors file with the standard library.

    MLX's loader rejects F64, which the exact values and budgets need.
    """
    data = path.read_bytes()
    (header_length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + header_length])
    tensors = {"__metadata__": header.get("__metadata__") or {}}
    for name, entry in header.items():
        if name == "__metadata__" or entry["dtype"] not in FORMATS:
            continue
        fmt, size = FORMATS[entry["dtype"]]
        start, end = entry["data_offsets"]
        body = data[8 + header_length + start:8 + header_length + end]
        values = struct.unpack(f"<{len(body) // size}{fmt}", body)
        if entry["dtype"] == "BF16":
            values = [struct.unpack("<f", struct.pack("<I", bits << 16))[0] for bits in values]
        tensors[name] = list(values)
    return tensors


def optional_int(metadata, key):
    value = metadata.get(key)
    return None if value in (None, "None", "null") else int(value)


inputs, metadata = mx.load(str(HERE / "input.safetensors"), return_metadata=True)
y = mx.quantized_matmul(
    inputs["x"],
    inputs["w"],
    scales=inputs["scales"],
    biases=inputs.get("biases"),
    transpose=metadata.get("transpose", "true").lower() in ("true", "1"),
    group_size=optional_int(metadata, "group_size"),
    bits=optional_int(metadata, "bits"),
    mode=metadata.get("mode", "affine"),
)
mx.eval(y)
got = y.astype(mx.float32).reshape(-1).tolist()

reference = read_float_tensors(HERE / "expected.safetensors")
exact, bound = reference["exact"], reference["bound"]
# The exact variant is judged bit for bit against the correctly rounded y, every other by the budget.
bit_exact = reference["__metadata__"].get("comparison") == "bit-exact"
rounded = reference["y"]

failed = []
for index, (value, expected, limit) in enumerate(zip(got, exact, bound)):
    if bit_exact:
        ok = value == rounded[index] or (math.isnan(value) and math.isnan(rounded[index]))
    elif math.isfinite(expected):
        ok = math.isfinite(value) and abs(value - expected) <= limit
    else:
        ok = (math.isnan(expected) and math.isnan(value)) or value == expected
    if not ok:
        failed.append(index)

print(f"mlx {mx.__version__} on {mx.default_device()}: y dtype {y.dtype}, shape {tuple(y.shape)}")
print(f"{len(failed)} of {len(got)} elements outside the budget")
for index in failed[:8]:
    print(f"  [{index}] mlx {got[index]!r}  exact {exact[index]!r}  budget {bound[index]!r}")
sys.exit(1 if failed else 0)
`;
