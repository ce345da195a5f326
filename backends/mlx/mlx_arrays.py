"""Conversion between wire tensors (spec/PROTOCOL.md §13.2) and mx arrays, without numpy."""

# Wire dtype -> (memoryview format, mx dtype name). float16 and bfloat16 travel as raw 16-bit
# patterns, so they are read as uint16 and reinterpreted with a view.
FORMATS = {
    "float32": ("f", "float32"),
    "float16": ("H", "float16"),
    "bfloat16": ("H", "bfloat16"),
    "uint32": ("I", "uint32"),
    "uint8": ("B", "uint8"),
    "float64": ("d", "float64"),
    "int32": ("i", "int32"),
}

ITEM_BYTES = {"f": 4, "H": 2, "I": 4, "B": 1, "d": 8, "i": 4}


class ArrayCodec:
    """Builds mx arrays from wire tensors and wire tensors from mx arrays."""

    def __init__(self, mx):
        self.mx = mx

    def dtype_of(self, name):
        return getattr(self.mx, FORMATS[name][1])

    def to_array(self, tensor):
        dtype = tensor["dtype"]
        if dtype not in FORMATS:
            raise ValueError(f"unknown dtype {dtype!r}")
        fmt, mx_name = FORMATS[dtype]
        shape = list(tensor["shape"])
        data = tensor["data"]

        count = 1
        for dimension in shape:
            count *= dimension
        if len(data) != count * ITEM_BYTES[fmt]:
            raise ValueError(f"tensor data has {len(data)} bytes, shape {shape} and dtype {dtype} need {count * ITEM_BYTES[fmt]}")

        storage = "uint16" if fmt == "H" else mx_name
        array = self.mx.array(memoryview(data).cast(fmt), dtype=getattr(self.mx, storage)).reshape(shape)
        if fmt == "H":
            array = array.view(getattr(self.mx, mx_name))
        return array

    def to_wire(self, array):
        mx = self.mx
        name = str(array.dtype).rsplit(".", 1)[-1]
        raw = array.view(mx.uint16) if name in ("float16", "bfloat16") else array
        return {"dtype": name, "shape": list(array.shape), "data": bytes(memoryview(raw))}
