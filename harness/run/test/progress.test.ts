import { describe, expect, it } from "vitest";
import { createProgress } from "../progress.ts";

function fakeStream(isTTY: boolean): { stream: NodeJS.WriteStream; written: string[] } {
  const written: string[] = [];
  const stream = { isTTY, write: (chunk: string) => written.push(chunk) } as unknown as NodeJS.WriteStream;
  return { stream, written };
}

describe("createProgress", () => {
  it("terminal gets a redrawn bar", () => {
    const { stream, written } = fakeStream(true);
    const progress = createProgress(stream);
    progress.update({ done: 5, total: 10, failed: 1 });
    progress.finish({ done: 10, failed: 1 }, 2.5);
    expect(written[0]).toMatch(/^\r\[#{15}\.{15}\] 5\/10 cases, 1 failed, \d+ s/);
    expect(written[1]).toBe("\r10 cases, 1 failed in 2.5 s\x1b[K\n");
  });

  it("pipe gets one plain line", () => {
    const { stream, written } = fakeStream(false);
    const progress = createProgress(stream);
    progress.update({ done: 5, total: 10, failed: 0 });
    progress.finish({ done: 10, failed: 0 }, 1);
    expect(written).toEqual(["qmm-conformance: 10 cases, 0 failed in 1.0 s\n"]);
  });
});
