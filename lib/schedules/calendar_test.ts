import assert from "node:assert/strict";
import { FlagstaffError } from "../core/errors.ts";
import {
  checkCronSyntax,
  checkTimezone,
  CRON_EXPECTED,
  localTimezone,
  nextRuns,
  parseCron,
  TIMEZONE_EXPECTED,
} from "./calendar.ts";

/** Runs as "<UTC ISO> <wall time in tz>" so a failure shows both. */
async function runs(expression: string, timezone: string, fromIso: string, count: number) {
  const calendar = await parseCron(expression, { timezone });
  return calendar.nextRuns(new Date(fromIso), count).map((date) =>
    `${date.toISOString().slice(0, 16)}Z ${
      date.toLocaleString("sv-SE", { timeZone: timezone }).slice(0, 16)
    }`
  );
}

Deno.test("parseCron() runs a skipped wall time once, shifted past the gap", async () => {
  // Europe/Berlin springs forward on 2025-03-30 at 02:00 CET to 03:00 CEST.
  assert.deepEqual(await runs("30 2 * * *", "Europe/Berlin", "2025-03-28T12:00:00Z", 4), [
    "2025-03-29T01:30Z 2025-03-29 02:30",
    "2025-03-30T01:30Z 2025-03-30 03:30", // 02:30 does not exist that day
    "2025-03-31T00:30Z 2025-03-31 02:30",
    "2025-04-01T00:30Z 2025-04-01 02:30",
  ]);
  // America/New_York springs forward on 2025-03-09 at 02:00 EST to 03:00 EDT.
  assert.deepEqual(await runs("30 2 * * *", "America/New_York", "2025-03-08T12:00:00Z", 2), [
    "2025-03-09T07:30Z 2025-03-09 03:30",
    "2025-03-10T06:30Z 2025-03-10 02:30",
  ]);
});

Deno.test("parseCron() never repeats nor reorders runs across a spring forward", async () => {
  // croner's own nextRuns() gives 03:00, 03:30, 03:00, 03:30 here.
  assert.deepEqual(await runs("*/30 * * * *", "Europe/Berlin", "2025-03-30T00:00:00Z", 5), [
    "2025-03-30T00:30Z 2025-03-30 01:30",
    "2025-03-30T01:00Z 2025-03-30 03:00", // 02:00 and 02:30 fold into 03:00 and 03:30
    "2025-03-30T01:30Z 2025-03-30 03:30",
    "2025-03-30T02:00Z 2025-03-30 04:00",
    "2025-03-30T02:30Z 2025-03-30 04:30",
  ]);
  assert.deepEqual(await runs("0 * * * *", "America/New_York", "2025-03-09T05:00:00Z", 3), [
    "2025-03-09T06:00Z 2025-03-09 01:00",
    "2025-03-09T07:00Z 2025-03-09 03:00",
    "2025-03-09T08:00Z 2025-03-09 04:00",
  ]);
  const calendar = await parseCron("* * * * * *", { timezone: "Europe/Berlin" });
  const seconds = calendar.nextRuns(new Date("2025-03-30T00:59:58Z"), 4).map((d) => d.getTime());
  assert.deepEqual(seconds, [1, 2, 3, 4].map((s) => Date.parse("2025-03-30T00:59:58Z") + s * 1000));
});

Deno.test("parseCron() runs a repeated wall time once, at its first occurrence", async () => {
  // America/New_York falls back on 2025-11-02 at 02:00 EDT to 01:00 EST.
  assert.deepEqual(await runs("30 1 * * *", "America/New_York", "2025-10-31T12:00:00Z", 3), [
    "2025-11-01T05:30Z 2025-11-01 01:30",
    "2025-11-02T05:30Z 2025-11-02 01:30", // EDT; not again at 06:30Z (01:30 EST)
    "2025-11-03T06:30Z 2025-11-03 01:30",
  ]);
  // Europe/Berlin falls back on 2025-10-26 at 03:00 CEST to 02:00 CET.
  assert.deepEqual(await runs("30 2 * * *", "Europe/Berlin", "2025-10-25T12:00:00Z", 2), [
    "2025-10-26T00:30Z 2025-10-26 02:30", // CEST; not again at 01:30Z (02:30 CET)
    "2025-10-27T01:30Z 2025-10-27 02:30",
  ]);
  // A frequent cron pauses for the repeated hour.
  assert.deepEqual(await runs("*/30 * * * *", "Europe/Berlin", "2025-10-26T00:00:00Z", 3), [
    "2025-10-26T00:30Z 2025-10-26 02:30",
    "2025-10-26T02:00Z 2025-10-26 03:00",
    "2025-10-26T02:30Z 2025-10-26 03:30",
  ]);
  const day = await parseCron("*/30 * * * *", { timezone: "Europe/Berlin" });
  const start = Date.parse("2025-10-25T22:00:00Z"); // 00:00 CEST; the day has 25 hours
  // 48 wall times, each once, over the 25 hours from 00:00 to 23:59:59.999.
  assert.equal(day.countBetween(start - 1, start + 25 * 3_600_000 - 1, 1000), 48);
});

Deno.test("CronCalendar.nextAfter() from inside a repeated hour never answers the past", async () => {
  // croner's nextRun() answers 05:30Z (01:30 EDT, already past) from these times.
  const daily = await parseCron("30 1 * * *", { timezone: "America/New_York" });
  for (const fromIso of ["2025-11-02T05:30:00Z", "2025-11-02T06:00:00Z", "2025-11-02T06:10:00Z"]) {
    assert.equal(
      new Date(daily.nextAfter(Date.parse(fromIso))!).toISOString(),
      "2025-11-03T06:30:00.000Z",
      fromIso,
    );
  }
  const halfHourly = await parseCron("*/30 * * * *", { timezone: "Europe/Berlin" });
  assert.equal(
    new Date(halfHourly.nextAfter(Date.parse("2025-10-26T01:05:00Z"))!).toISOString(),
    "2025-10-26T02:00:00.000Z", // 03:00 CET; 02:30 CET repeats 02:30 CEST
  );
});

Deno.test("parseCron() reads nicknames, seconds, names and either day field", async () => {
  const cases: [expression: string, fromIso: string, runsIso: string[]][] = [
    ["@hourly", "2025-01-01T12:10:00Z", ["2025-01-01T13:00", "2025-01-01T14:00"]],
    ["@daily", "2025-01-01T12:00:00Z", ["2025-01-02T00:00", "2025-01-03T00:00"]],
    ["@midnight", "2025-01-01T12:00:00Z", ["2025-01-02T00:00", "2025-01-03T00:00"]],
    ["@weekly", "2025-01-01T12:00:00Z", ["2025-01-05T00:00", "2025-01-12T00:00"]], // Sundays
    ["@monthly", "2025-01-01T12:00:00Z", ["2025-02-01T00:00", "2025-03-01T00:00"]],
    ["@yearly", "2025-01-01T12:00:00Z", ["2026-01-01T00:00", "2027-01-01T00:00"]],
    ["@ANNUALLY", "2025-01-01T12:00:00Z", ["2026-01-01T00:00", "2027-01-01T00:00"]],
    ["0 0 3 * * *", "2025-01-01T12:00:00Z", ["2025-01-02T03:00", "2025-01-03T03:00"]],
    ["15 * * * * *", "2025-01-01T12:00:00Z", ["2025-01-01T12:00:15", "2025-01-01T12:01:15"]],
    ["0 0 * * 7", "2025-01-01T12:00:00Z", ["2025-01-05T00:00", "2025-01-12T00:00"]],
    ["0 9 * jan mon-fri", "2025-01-03T12:00:00Z", ["2025-01-06T09:00", "2025-01-07T09:00"]],
    // Both day fields restricted: the 1st OR a Monday, as in Vixie cron.
    ["0 0 1 * 1", "2025-01-26T12:00:00Z", [
      "2025-01-27T00:00",
      "2025-02-01T00:00",
      "2025-02-03T00:00",
    ]],
    ["0 0 L * *", "2025-02-01T12:00:00Z", ["2025-02-28T00:00", "2025-03-31T00:00"]],
    ["0 0 29 2 *", "2025-01-01T00:00:00Z", ["2028-02-29T00:00"]],
  ];
  for (const [expression, fromIso, runsIso] of cases) {
    const calendar = await parseCron(expression, { timezone: "UTC" });
    assert.deepEqual(
      calendar.nextRuns(new Date(fromIso), runsIso.length).map((d) =>
        d.toISOString().replace(/(:00)?\.000Z$/, "")
      ),
      runsIso,
      expression,
    );
  }
});

Deno.test("parseCron() says what it found and what it expects", async () => {
  const cases: [value: unknown, why: string][] = [
    [42, "got 42"],
    [undefined, "got nothing"],
    ["", 'got "": it is empty'],
    ["* * * *", 'got "* * * *": it has 4 fields'],
    ["0 0 1 1 * 2030 x", 'got "0 0 1 1 * 2030 x": it has 7 fields; a year field is not supported'],
    ["@reboot", 'got "@reboot": @reboot is an event at start, not a time'],
    [
      "@often",
      'got "@often": unknown nickname "@often" ' +
      "(expected @hourly, @daily, @weekly, @monthly, @yearly, @annually, @midnight)",
    ],
    ["60 * * * *", 'got "60 * * * *": invalid value for minute: 60'],
    ["0 0 */0 * *", 'got "0 0 */0 * *": syntax error, illegal stepping: 0'],
    ["0 0 31 2 *", 'got "0 0 31 2 *": no date matches it'],
  ];
  for (const [value, why] of cases) {
    await assert.rejects(
      parseCron(value, { timezone: "UTC" }),
      (error: unknown) => {
        assert.ok(error instanceof FlagstaffError);
        assert.equal(error.code, "config_invalid");
        assert.equal(error.message, `expected ${CRON_EXPECTED}, ${why}`);
        return true;
      },
      String(value),
    );
  }
  assert.equal(checkCronSyntax("  0 3 * * *\t"), "0 3 * * *");
});

Deno.test("checkTimezone() accepts IANA names and says what else it found", async () => {
  for (const name of ["Europe/Berlin", "America/New_York", "UTC", "Etc/GMT+1", "europe/berlin"]) {
    assert.equal(checkTimezone(name), name);
  }
  const cases: [value: unknown, why: string][] = [
    ["Mars/Olympus_Mons", 'got "Mars/Olympus_Mons": unknown time zone'],
    ["GMT+1", 'got "GMT+1": unknown time zone'],
    ["+01:00", 'got "+01:00": a UTC offset is not a time zone name'],
    ["", 'got "": it is empty'],
    [1, "got 1"],
  ];
  for (const [value, why] of cases) {
    const expected = (error: unknown) => {
      assert.ok(error instanceof FlagstaffError);
      assert.equal(error.message, `expected ${TIMEZONE_EXPECTED}, ${why}`);
      return true;
    };
    assert.throws(() => checkTimezone(value), expected);
    await assert.rejects(parseCron("@daily", { timezone: value }), expected);
  }
});

Deno.test("parseCron() defaults to the local time zone", async () => {
  const calendar = await parseCron("@daily");
  assert.equal(calendar.timezone, localTimezone());
  assert.equal(calendar.description, `cron "@daily" (${localTimezone()})`);
});

Deno.test("nextRuns() lists run times, five by default", async () => {
  const runs = await nextRuns("@hourly", new Date("2025-01-01T12:10:00Z"), { timezone: "UTC" });
  assert.deepEqual(runs.map((d) => d.toISOString().slice(11, 16)), [
    "13:00",
    "14:00",
    "15:00",
    "16:00",
    "17:00",
  ]);
  assert.deepEqual(await nextRuns("@daily", new Date(0), { timezone: "UTC", count: 0 }), []);
  await assert.rejects(nextRuns("@reboot", new Date(0)), FlagstaffError);
});
