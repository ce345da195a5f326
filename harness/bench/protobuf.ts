/**
 * A minimal Protocol Buffers writer (wire types 0 and 2 only), enough to build ONNX models in
 * code without a protobuf package. Field numbers come from the .proto schema of the message.
 */

/** Bytes of a message under construction, field by field. */
export class ProtoWriter {
  private readonly parts: Uint8Array[] = [];
  private length = 0;

  /** Appends a varint field (wire type 0): int32, int64, enum or bool values that are ≥ 0. */
  varint(field: number, value: number): this {
    this.push(encodeVarint(field * 8));
    this.push(encodeVarint(value));
    return this;
  }

  /** Appends a length-delimited field (wire type 2): bytes or an embedded message. */
  bytes(field: number, value: Uint8Array): this {
    this.push(encodeVarint(field * 8 + 2));
    this.push(encodeVarint(value.length));
    this.push(value);
    return this;
  }

  /** Appends a string field as UTF-8. */
  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  /** Appends an embedded message field. */
  message(field: number, value: ProtoWriter): this {
    return this.bytes(field, value.finish());
  }

  /** Returns the encoded message. */
  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let offset = 0;
    for (const part of this.parts) {
      out.set(part, offset);
      offset += part.length;
    }
    return out;
  }

  private push(part: Uint8Array): void {
    this.parts.push(part);
    this.length += part.length;
  }
}

/** Encodes a non-negative integer below 2^53 as a base-128 varint. */
export function encodeVarint(value: number): Uint8Array {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`varint value ${value} is not a non-negative safe integer`);

  const bytes: number[] = [];
  let rest = value;
  while (rest >= 0x80) {
    bytes.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  bytes.push(rest);
  return Uint8Array.from(bytes);
}
