/**
 * The measure loop with a fake clock: the hook before each run (the cold-cache eviction) must
 * run before every warm-up and timed run and stay outside the timed interval and the budget.
 */
import { describe, expect, test } from "vitest";
import { measureRoundRobin } from "../measure.ts";

/** A clock in milliseconds that moves only when a fake call or hook advances it. */
function fakeClock() {
  let milliseconds = 0;
  return {
    now: () => milliseconds,
    advance: (by: number) => {
      milliseconds += by;
    },
  };
}

describe("measureRoundRobin hooks", () => {
  test("hook runs before every run", async () => {
    const clock = fakeClock();
    const events: string[] = [];
    const call = async () => {
      events.push("run");
      clock.advance(5);
    };

    await measureRoundRobin([call], { warmup: 2, repeats: 3, maxSeconds: 10 }, { beforeRun: () => void events.push("evict"), now: clock.now });

    expect(events).toEqual(["evict", "run", "evict", "run", "evict", "run", "evict", "run", "evict", "run"]);
  });

  test("hook time is not timed", async () => {
    const clock = fakeClock();
    const call = async () => clock.advance(5);

    const [timing] = await measureRoundRobin([call], { warmup: 1, repeats: 4, maxSeconds: 10 }, { beforeRun: () => clock.advance(1000), now: clock.now });

    expect(timing.median).toBeCloseTo(0.005, 12);
    expect(timing.min).toBeCloseTo(0.005, 12);
    expect(timing.repeats).toBe(4);
  });

  test("async hook is awaited first", async () => {
    const clock = fakeClock();
    const call = async () => clock.advance(2);
    const beforeRun = async () => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      clock.advance(300);
    };

    const [timing] = await measureRoundRobin([call], { warmup: 0, repeats: 3, maxSeconds: 10 }, { beforeRun, now: clock.now });

    expect(timing.median).toBeCloseTo(0.002, 12);
  });

  test("hook time is outside the budget", async () => {
    const clock = fakeClock();
    const call = async () => clock.advance(5);

    // 20 ms of budget: five 5 ms runs exceed it, so the sixth round skips the call. Counting
    // the 1 s hook would end the rounds after the first run.
    const [timing] = await measureRoundRobin([call], { warmup: 0, repeats: 10, maxSeconds: 0.02 }, { beforeRun: () => clock.advance(1000), now: clock.now });

    expect(timing.repeats).toBe(5);
  });

  test("no hook times the calls alone", async () => {
    const clock = fakeClock();
    let runs = 0;
    const call = async () => {
      runs += 1;
      clock.advance(runs);
    };

    const [timing] = await measureRoundRobin([call], { warmup: 1, repeats: 3, maxSeconds: 10 }, { now: clock.now });

    // The warm-up takes 1 ms, the timed runs 2, 3 and 4 ms.
    expect(runs).toBe(4);
    expect(timing.median).toBeCloseTo(0.003, 12);
    expect(timing.min).toBeCloseTo(0.002, 12);
  });
});
