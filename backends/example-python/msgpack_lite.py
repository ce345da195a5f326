"""The MessagePack subset the worker protocol uses (spec/PROTOCOL.md §13.2), in standard-library Python.

Covers nil, booleans, integers, float32/float64, str, bin, arrays and maps. Extension types are
rejected, because the protocol does not use them.
"""

import struct


class DecodeError(ValueError):
    """The bytes are not one valid MessagePack value of the supported subset."""


def encode(value):
    """Encode a value of the subset into bytes."""
    out = bytearray()
    _encode_into(value, out)
    return bytes(out)


def _encode_into(value, out):
    if value is None:
        out.append(0xC0)
    elif value is True:
        out.append(0xC3)
    elif value is False:
        out.append(0xC2)
    elif isinstance(value, int):
        _encode_int(value, out)
    elif isinstance(value, float):
        out.append(0xCB)
        out += struct.pack(">d", value)
    elif isinstance(value, str):
        data = value.encode("utf-8")
        _encode_header(len(data), out, fix=(0xA0, 31), one=0xD9, two=0xDA, four=0xDB)
        out += data
    elif isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
        _encode_header(len(data), out, fix=None, one=0xC4, two=0xC5, four=0xC6)
        out += data
    elif isinstance(value, (list, tuple)):
        _encode_header(len(value), out, fix=(0x90, 15), one=None, two=0xDC, four=0xDD)
        for item in value:
            _encode_into(item, out)
    elif isinstance(value, dict):
        _encode_header(len(value), out, fix=(0x80, 15), one=None, two=0xDE, four=0xDF)
        for key, item in value.items():
            _encode_into(key, out)
            _encode_into(item, out)
    else:
        raise TypeError(f"cannot encode {type(value).__name__} as MessagePack")


def _encode_header(length, out, fix, one, two, four):
    if fix is not None and length <= fix[1]:
        out.append(fix[0] | length)
    elif one is not None and length < 1 << 8:
        out += bytes((one, length))
    elif length < 1 << 16:
        out.append(two)
        out += struct.pack(">H", length)
    else:
        out.append(four)
        out += struct.pack(">I", length)


def _encode_int(value, out):
    if 0 <= value < 128:
        out.append(value)
    elif -32 <= value < 0:
        out += struct.pack(">b", value)
    elif 0 <= value < 1 << 64:
        out.append(0xCF)
        out += struct.pack(">Q", value)
    elif -(1 << 63) <= value < 0:
        out.append(0xD3)
        out += struct.pack(">q", value)
    else:
        raise OverflowError(f"integer {value} does not fit in 64 bits")


def decode(data):
    """Decode exactly one value from `data`; trailing bytes are an error."""
    value, offset = _decode_at(memoryview(data), 0)
    if offset != len(data):
        raise DecodeError(f"{len(data) - offset} extra bytes after the value")
    return value


# Fixed-size codes: (struct format, byte count).
_FIXED = {
    0xCA: (">f", 4), 0xCB: (">d", 8),
    0xCC: (">B", 1), 0xCD: (">H", 2), 0xCE: (">I", 4), 0xCF: (">Q", 8),
    0xD0: (">b", 1), 0xD1: (">h", 2), 0xD2: (">i", 4), 0xD3: (">q", 8),
}

# Length-prefixed codes: code -> (kind, length format, length bytes).
_SIZED = {
    0xD9: ("str", ">B", 1), 0xDA: ("str", ">H", 2), 0xDB: ("str", ">I", 4),
    0xC4: ("bin", ">B", 1), 0xC5: ("bin", ">H", 2), 0xC6: ("bin", ">I", 4),
    0xDC: ("array", ">H", 2), 0xDD: ("array", ">I", 4),
    0xDE: ("map", ">H", 2), 0xDF: ("map", ">I", 4),
}


def _take(data, offset, count):
    if offset + count > len(data):
        raise DecodeError(f"truncated value: needs {count} bytes at offset {offset}, {len(data) - offset} left")
    return data[offset:offset + count], offset + count


def _decode_at(data, offset):
    head, offset = _take(data, offset, 1)
    code = head[0]

    if code <= 0x7F:
        return code, offset
    if code >= 0xE0:
        return code - 0x100, offset
    if 0x80 <= code <= 0x8F:
        return _decode_map(data, offset, code & 0x0F)
    if 0x90 <= code <= 0x9F:
        return _decode_array(data, offset, code & 0x0F)
    if 0xA0 <= code <= 0xBF:
        raw, offset = _take(data, offset, code & 0x1F)
        return str(raw, "utf-8"), offset
    if code == 0xC0:
        return None, offset
    if code in (0xC2, 0xC3):
        return code == 0xC3, offset
    if code in _FIXED:
        fmt, size = _FIXED[code]
        raw, offset = _take(data, offset, size)
        return struct.unpack(fmt, raw)[0], offset
    if code in _SIZED:
        kind, fmt, size = _SIZED[code]
        raw, offset = _take(data, offset, size)
        length = struct.unpack(fmt, raw)[0]
        if kind == "array":
            return _decode_array(data, offset, length)
        if kind == "map":
            return _decode_map(data, offset, length)
        raw, offset = _take(data, offset, length)
        return (str(raw, "utf-8") if kind == "str" else bytes(raw)), offset
    raise DecodeError(f"unsupported MessagePack code 0x{code:02x} at offset {offset - 1}")


def _decode_array(data, offset, length):
    items = []
    for _ in range(length):
        item, offset = _decode_at(data, offset)
        items.append(item)
    return items, offset


def _decode_map(data, offset, length):
    result = {}
    for _ in range(length):
        key, offset = _decode_at(data, offset)
        value, offset = _decode_at(data, offset)
        result[key] = value
    return result, offset
