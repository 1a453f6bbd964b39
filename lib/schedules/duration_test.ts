import assert from "node:assert/strict";
import { FlagstaffError } from "../core/errors.ts";
import { DURATION_EXPECTED, formatDuration, parseDurationMs } from "./duration.ts";

Deno.test("parseDurationMs() reads seconds and unit chains", () => {
  const cases: [value: unknown, ms: number][] = [
    [90, 90_000],
    [1.5, 1500],
    [0.001, 1],
    ["90", 90_000],
    ["1.5", 1500],
    [" 30s ", 30_000],
    ["5m", 300_000],
    ["1h", 3_600_000],
    ["1d", 86_400_000],
    ["1h30m", 5_400_000],
    ["1h 30m", 5_400_000],
    ["1d2h3m4s5ms", 93_784_005],
    ["1.5h", 5_400_000],
    [".5s", 500],
    ["250ms", 250],
    ["5 m", 300_000],
    ["0h30m", 1_800_000],
    [0.0015, 2], // rounded to the nearest millisecond
  ];
  for (const [value, ms] of cases) assert.equal(parseDurationMs(value), ms, String(value));
});

Deno.test("parseDurationMs() says what it found and what it expects", () => {
  const cases: [value: unknown, found: string][] = [
    [0, "got 0: a duration must be positive"],
    ["0", 'got "0": a duration must be positive'],
    ["0s", 'got "0s": a duration must be positive'],
    [-5, "got -5: a duration must be positive"],
    ["-5m", 'got "-5m": a duration must be positive'],
    [NaN, "got NaN"],
    [Infinity, "got Infinity: it is not finite"],
    [0.0001, "got 0.0001: it is shorter than 1 ms"],
    ["", 'got "": it is empty'],
    ["   ", 'got "   ": it is empty'],
    ["5x", 'got "5x": unknown unit "x"'],
    ["5M", 'got "5M": unknown unit "M"; units are lower case'],
    ["1w", 'got "1w": unknown unit "w"'],
    ["1e3", 'got "1e3": unknown unit "e"'],
    ["1h30", 'got "1h30": "30" has no unit (only a whole duration may omit it)'],
    ["30m1h", 'got "30m1h": unit "h" comes after "m" (longest unit first)'],
    ["1m1m", 'got "1m1m": unit "m" is repeated'],
    ["soon", 'got "soon": unexpected "soon"'],
    ["1h!", 'got "1h!": unexpected "!"'],
    ["+5", 'got "+5": unexpected "+5"'],
    [true, "got true"],
    [null, "got nothing"],
    [undefined, "got nothing"],
    [[1], "got a list"],
    [{ s: 1 }, "got a map"],
    [1e300, "got 1e+300: it is too long"],
  ];
  for (const [value, found] of cases) {
    assert.throws(
      () => parseDurationMs(value),
      (error: unknown) => {
        assert.ok(error instanceof FlagstaffError);
        assert.equal(error.code, "config_invalid");
        assert.equal(error.message, `expected ${DURATION_EXPECTED}, ${found}`);
        return true;
      },
      String(value),
    );
  }
});

Deno.test("formatDuration() writes what parseDurationMs() reads back", () => {
  const cases: [ms: number, text: string][] = [
    [0, "0s"],
    [1, "1ms"],
    [1500, "1s500ms"],
    [90_000, "1m30s"],
    [3_600_000, "1h"],
    [5_400_000, "1h30m"],
    [86_400_000, "1d"],
    [93_784_005, "1d2h3m4s5ms"],
  ];
  for (const [ms, text] of cases) {
    assert.equal(formatDuration(ms), text);
    if (ms > 0) assert.equal(parseDurationMs(text), ms);
  }
});
