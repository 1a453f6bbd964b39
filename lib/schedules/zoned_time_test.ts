import assert from "node:assert/strict";
import { formatZoned } from "./zoned_time.ts";

Deno.test("formatZoned() gives the zone's wall time and offset at that moment", () => {
  const cases: [iso: string, timezone: string, shown: string][] = [
    ["2025-03-30T00:59:59Z", "Europe/Berlin", "2025-03-30T01:59:59+01:00"], // before spring forward
    ["2025-03-30T01:00:00Z", "Europe/Berlin", "2025-03-30T03:00:00+02:00"], // after
    ["2025-11-02T05:30:00Z", "America/New_York", "2025-11-02T01:30:00-04:00"], // first 01:30
    ["2025-11-02T06:30:00Z", "America/New_York", "2025-11-02T01:30:00-05:00"], // second 01:30
    ["2025-06-01T00:00:00Z", "UTC", "2025-06-01T00:00:00+00:00"],
    ["2025-06-01T00:00:00.007Z", "Asia/Kathmandu", "2025-06-01T05:45:00.007+05:45"],
    ["1969-12-31T23:59:59.500Z", "UTC", "1969-12-31T23:59:59.500+00:00"],
  ];
  for (const [iso, timezone, shown] of cases) {
    assert.equal(formatZoned(Date.parse(iso), timezone), shown, `${iso} in ${timezone}`);
  }
  assert.throws(() => formatZoned(0, "Mars/Olympus_Mons"), RangeError);
});
