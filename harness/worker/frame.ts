/**
 * Length-prefixed MessagePack frames of the worker protocol (spec/PROTOCOL.md §13.2): a 4-byte
 * little-endian length, then that many bytes of one MessagePack value.
 */
import { decode, encode } from "@msgpack/msgpack";
import { QmmError, specIssue } from "../../spec/errors.ts";

/** The hard cap on a frame body in both directions: 1 GiB. */
export const MAX_FRAME_BYTES = 2 ** 30;

/** Bytes of the length prefix. */
export const FRAME_HEADER_BYTES = 4;

/** Encodes one message as a frame, rejecting a body over `limit` bytes with E_FRAME. */
export function encodeFrame(message: unknown, limit: number = MAX_FRAME_BYTES): Uint8Array {
  const body = encode(message, { ignoreUndefined: true });
  if (body.byteLength > limit) {
    throw new QmmError(
      specIssue("E_FRAME", "the request is larger than the frame limit", { length: body.byteLength, limit }, ["frame"]),
    );
  }

  const frame = new Uint8Array(FRAME_HEADER_BYTES + body.byteLength);
  new DataView(frame.buffer).setUint32(0, body.byteLength, true);
  frame.set(body, FRAME_HEADER_BYTES);
  return frame;
}

/**
 * Splits a byte stream into decoded frame values. It never reserves memory for a body before the
 * declared length has passed the limit check, so a hostile length cannot exhaust memory.
 */
export class FrameDecoder {
  readonly limit: number;
  #chunks: Uint8Array[] = [];
  #buffered = 0;
  #framesDecoded = 0;
  #failed = false;

  constructor(limit: number = MAX_FRAME_BYTES) {
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_FRAME_BYTES) {
      throw new RangeError(`frame limit must be an integer in [1, ${MAX_FRAME_BYTES}], got ${limit}`);
    }
    this.limit = limit;
  }

  /** The number of the next frame, counted from 1, as error messages name it. */
  get nextFrameNumber(): number {
    return this.#framesDecoded + 1;
  }

  /** Bytes received but not yet part of a complete frame. */
  get bufferedBytes(): number {
    return this.#buffered;
  }

  /**
   * Adds bytes from the stream and returns the values of every frame they complete.
   * Throws a QmmError with E_FRAME for an oversized length or an undecodable body; after that the
   * decoder stays failed, because the stream cannot be resynchronised.
   */
  push(chunk: Uint8Array): unknown[] {
    if (this.#failed) throw this.#error("the stream already had a bad frame", {});

    this.#chunks.push(chunk);
    this.#buffered += chunk.byteLength;

    const values: unknown[] = [];
    for (;;) {
      if (this.#buffered < FRAME_HEADER_BYTES) return values;

      const length = this.#peekLength();
      if (length === 0 || length > this.limit) {
        this.#failed = true;
        const reason = length === 0 ? "a frame declares an empty body" : "a frame declares a body larger than the limit";
        throw this.#error(reason, { declaredLength: length, limit: this.limit });
      }
      if (this.#buffered < FRAME_HEADER_BYTES + length) return values;

      this.#take(FRAME_HEADER_BYTES);
      const body = this.#take(length);
      values.push(this.#decodeBody(body));
      this.#framesDecoded += 1;
    }
  }

  /**
   * Checks the stream's end: throws E_FRAME when it ended inside a frame, naming the declared length
   * and the bytes received.
   */
  end(): void {
    if (this.#failed || this.#buffered === 0) return;

    this.#failed = true;
    if (this.#buffered < FRAME_HEADER_BYTES) {
      throw this.#error("the stream ended inside a frame's length prefix", { received: this.#buffered });
    }
    throw this.#error("the stream ended inside a frame body (truncated frame)", {
      declaredLength: this.#peekLength(),
      received: this.#buffered - FRAME_HEADER_BYTES,
    });
  }

  #decodeBody(body: Uint8Array): unknown {
    try {
      return decode(body);
    } catch (error) {
      this.#failed = true;
      throw this.#error("the frame body is not one MessagePack value", {
        length: body.byteLength,
        detail: error instanceof Error ? error.message : String(error),
      });
    }
  }

  #peekLength(): number {
    const header = new Uint8Array(FRAME_HEADER_BYTES);
    let filled = 0;
    for (const chunk of this.#chunks) {
      const count = Math.min(chunk.byteLength, FRAME_HEADER_BYTES - filled);
      header.set(chunk.subarray(0, count), filled);
      filled += count;
      if (filled === FRAME_HEADER_BYTES) break;
    }
    return new DataView(header.buffer).getUint32(0, true);
  }

  /** Removes `count` bytes from the front of the buffer; the caller has checked they are there. */
  #take(count: number): Uint8Array {
    const first = this.#chunks[0];
    if (first.byteLength >= count) {
      const taken = first.subarray(0, count);
      if (first.byteLength === count) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(count);
      this.#buffered -= count;
      return taken;
    }

    const taken = new Uint8Array(count);
    let filled = 0;
    while (filled < count) {
      const chunk = this.#chunks[0];
      const part = Math.min(chunk.byteLength, count - filled);
      taken.set(chunk.subarray(0, part), filled);
      filled += part;
      if (part === chunk.byteLength) this.#chunks.shift();
      else this.#chunks[0] = chunk.subarray(part);
    }
    this.#buffered -= count;
    return taken;
  }

  #error(message: string, values: Record<string, string | number>): QmmError {
    return new QmmError(specIssue("E_FRAME", message, { frame: this.nextFrameNumber, ...values }, ["frame", this.nextFrameNumber]));
  }
}
