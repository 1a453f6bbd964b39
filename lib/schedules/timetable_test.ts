import assert from "node:assert/strict";
import { parseCron } from "./calendar.ts";
import { everyTimetable } from "./every.ts";
import { isCatchUpDue } from "./timetable.ts";

const at = (iso: string) => Date.parse(iso);

Deno.test("isCatchUpDue() is true when a run time passed since the last run", async () => {
  const hourly = everyTimetable({ periodMs: 3_600_000 });
  const nightly = await parseCron("0 3 * * *", { timezone: "Europe/Berlin" });
  const cases: [name: string, lastIso: string | null, nowIso: string, due: boolean][] = [
    ["never ran", null, "2025-06-01T10:20:00Z", true],
    ["ran this hour", "2025-06-01T10:00:02Z", "2025-06-01T10:59:59Z", false],
    ["ran last hour, due time just passed", "2025-06-01T10:00:02Z", "2025-06-01T11:00:00Z", true],
    // Less than one period ago, but the 11:00 run was missed: due.
    ["missed 11:00 by restart", "2025-06-01T10:00:30Z", "2025-06-01T11:00:10Z", true],
    ["down for days", "2025-05-01T10:00:00Z", "2025-06-01T10:20:00Z", true],
    ["ran in the future (clock set back)", "2025-06-02T10:00:00Z", "2025-06-01T10:20:00Z", false],
    ["ran exactly now", "2025-06-01T10:20:00Z", "2025-06-01T10:20:00Z", false],
  ];
  for (const [name, lastIso, nowIso, due] of cases) {
    assert.equal(
      isCatchUpDue(lastIso === null ? null : at(lastIso), hourly, at(nowIso)),
      due,
      name,
    );
  }
  const nightlyCases: [name: string, lastIso: string | null, nowIso: string, due: boolean][] = [
    ["ran at 03:00 CEST, now 09:00", "2025-06-01T01:00:01Z", "2025-06-01T07:00:00Z", false],
    ["ran yesterday, 03:00 today missed", "2025-05-31T01:00:01Z", "2025-06-01T07:00:00Z", true],
    [
      "ran yesterday, today's 03:00 still ahead",
      "2025-05-31T01:00:01Z",
      "2025-06-01T00:30:00Z",
      false,
    ],
    ["never ran", null, "2025-06-01T07:00:00Z", true],
  ];
  for (const [name, lastIso, nowIso, due] of nightlyCases) {
    assert.equal(
      isCatchUpDue(lastIso === null ? null : at(lastIso), nightly, at(nowIso)),
      due,
      name,
    );
  }
  const never = { nextAfter: () => null };
  assert.equal(isCatchUpDue(0, never, 1e12), false, "a timetable that has ended");
});
