import { encode } from "@msgpack/msgpack";
import { describe, expect, it } from "vitest";
import { QmmError } from "../../../spec/errors.ts";
import { encodeFrame, FrameDecoder, MAX_FRAME_BYTES } from "../frame.ts";

function rawFrame(length: number, body: Uint8Array): Uint8Array {
  const frame = new Uint8Array(4 + body.byteLength);
  new DataView(frame.buffer).setUint32(0, length, true);
  frame.set(body, 4);
  return frame;
}

function catchIssue(action: () => unknown): QmmError {
  try {
    action();
  } catch (error) {
    if (error instanceof QmmError) return error;
    throw error;
  }
  throw new Error("expected a QmmError");
}

describe("encodeFrame", () => {
  it("writes a little-endian length prefix", () => {
    const frame = encodeFrame({ type: "hello", protocol: 1 });
    const length = new DataView(frame.buffer).getUint32(0, true);

    expect(length).toBe(frame.byteLength - 4);
    expect(Array.from(frame.subarray(4))).toEqual(Array.from(encode({ type: "hello", protocol: 1 })));
  });

  it("rejects a body over the limit", () => {
    const error = catchIssue(() => encodeFrame({ data: new Uint8Array(100) }, 50));

    expect(error.code).toBe("E_FRAME");
    expect(error.issue.values.limit).toBe(50);
  });
});

describe("FrameDecoder", () => {
  it("decodes frames split at every byte", () => {
    const bytes = new Uint8Array([...encodeFrame({ a: 1 }), ...encodeFrame({ b: [1, 2] })]);
    const decoder = new FrameDecoder();
    const values: unknown[] = [];

    for (const byte of bytes) values.push(...decoder.push(new Uint8Array([byte])));
    decoder.end();

    expect(values).toEqual([{ a: 1 }, { b: [1, 2] }]);
    expect(decoder.nextFrameNumber).toBe(3);
  });

  it("decodes several frames in one chunk", () => {
    const bytes = new Uint8Array([...encodeFrame(1), ...encodeFrame("two"), ...encodeFrame(null)]);

    expect(new FrameDecoder().push(bytes)).toEqual([1, "two", null]);
  });

  it("rejects an oversized length before reading the body", () => {
    const decoder = new FrameDecoder(1024);
    const error = catchIssue(() => decoder.push(rawFrame(0xfffffff0, new Uint8Array(0))));

    expect(error.code).toBe("E_FRAME");
    expect(error.issue.values.declaredLength).toBe(0xfffffff0);
    expect(error.issue.values.limit).toBe(1024);
    expect(error.issue.values.frame).toBe(1);
  });

  it("rejects a length just over the hard cap", () => {
    const error = catchIssue(() => new FrameDecoder().push(rawFrame(MAX_FRAME_BYTES + 1, new Uint8Array(0))));

    expect(error.issue.values.declaredLength).toBe(MAX_FRAME_BYTES + 1);
    expect(error.issue.values.limit).toBe(MAX_FRAME_BYTES);
  });

  it("rejects an empty body", () => {
    const error = catchIssue(() => new FrameDecoder().push(rawFrame(0, new Uint8Array(0))));

    expect(error.code).toBe("E_FRAME");
    expect(error.issue.values.declaredLength).toBe(0);
  });

  it("reports a truncated body at the end", () => {
    const decoder = new FrameDecoder();
    const frame = encodeFrame({ text: "a longer message" });
    decoder.push(frame.subarray(0, 9));
    const error = catchIssue(() => decoder.end());

    expect(error.code).toBe("E_FRAME");
    expect(error.issue.values.declaredLength).toBe(frame.byteLength - 4);
    expect(error.issue.values.received).toBe(5);
  });

  it("reports a truncated length prefix", () => {
    const decoder = new FrameDecoder();
    decoder.push(new Uint8Array([7, 0]));
    const error = catchIssue(() => decoder.end());

    expect(error.issue.values.received).toBe(2);
  });

  it("rejects a body that is not MessagePack", () => {
    const decoder = new FrameDecoder();
    decoder.push(encodeFrame("first"));
    const error = catchIssue(() => decoder.push(rawFrame(2, new Uint8Array([0xc1, 0xc1]))));

    expect(error.code).toBe("E_FRAME");
    expect(error.issue.values.frame).toBe(2);
  });

  it("rejects trailing bytes inside a body", () => {
    const error = catchIssue(() => new FrameDecoder().push(rawFrame(2, new Uint8Array([0x01, 0x02]))));

    expect(error.code).toBe("E_FRAME");
  });

  it("stays failed after a bad frame", () => {
    const decoder = new FrameDecoder(16);
    catchIssue(() => decoder.push(rawFrame(17, new Uint8Array(0))));
    const error = catchIssue(() => decoder.push(encodeFrame(1)));

    expect(error.code).toBe("E_FRAME");
  });
});
