import assert from "node:assert/strict";
import { validateConfigText } from "./config.ts";
import { checkSchedules, mergeSchedules, type ScheduleConfig } from "./schedules.ts";

/** Validates `yaml` and returns the schedules, or the problems as `line key: message`. */
async function schedulesOf(yaml: string): Promise<readonly ScheduleConfig[] | string[]> {
  const { config, issues } = await validateConfigText(yaml, "/srv/app.yml");
  if (issues.length) return issues.map((i) => `${i.line} ${i.key}: ${i.message}`);
  return config.schedules;
}

Deno.test("checkSchedules() keeps every form of a schedule, with its defaults", async () => {
  const schedules = await schedulesOf([
    "Schedules:",
    "  - every: 90",
    "    run: [reload, {print: [0755, yes]}]",
    "  - every: 1h30m",
    "    jitter: 0",
    "    signal: HUP",
    '  - cron: "*/2 * * * * *"',
    "    timezone: Europe/Berlin",
    "    jitter: 1.5",
    "    catch_up: yes",
    '    name: "  fast  "',
    "    run: []",
    "",
  ].join("\n")) as ScheduleConfig[];
  assert.deepEqual(
    schedules.map((s) => [s.name, s.everyMs, s.cron, s.timezone, s.jitterMs, s.catchUp, s.signal]),
    [
      ["every 1m30s", 90_000, undefined, undefined, 0, false, undefined],
      ["every 1h30m", 5_400_000, undefined, undefined, 0, false, "SIGHUP"],
      ["fast", undefined, "*/2 * * * * *", "Europe/Berlin", 1500, true, undefined],
    ],
  );
  assert.deepEqual(schedules[0].run!.map((use) => [use.name, use.args, use.origin]), [
    ["reload", [], "/srv/app.yml line 3 (Schedules.0.run[0])"],
    ["print", ["0755", "yes"], "/srv/app.yml line 3 (Schedules.0.run[1])"],
  ]);
  assert.equal(schedules[2].origin, "/srv/app.yml line 7 (Schedules.2)");
  assert.deepEqual(schedules[2].run, []);
});

Deno.test("checkSchedules() reports each problem at its line and key", async () => {
  const cases: [yaml: string, problems: string[]][] = [
    ["Schedules: {every: 5m}\n", ["1 Schedules: expected a list of schedules, got a map"]],
    ["Schedules:\n  - hourly\n", [
      '2 Schedules.0: expected a schedule such as {every: 5m, run: [reload]}, got "hourly"',
    ]],
    ["Schedules:\n  - {every: 5m, run: [print], jitter: -1}\n", [
      "2 Schedules.0.jitter: expected a duration such as 90 (seconds), 1.5, 30s, 5m, 1h, 1d or " +
      "1h30m (units d, h, m, s, ms), got -1: a duration must be positive",
    ]],
    ["Schedules:\n  - {cron: '@reboot', run: [print]}\n", [
      "2 Schedules.0.cron: expected a cron expression of 5 fields (minute hour day-of-month " +
      "month day-of-week), 6 with seconds first, or @hourly, @daily, @weekly, @monthly, got " +
      '"@reboot": @reboot is an event at start, not a time',
    ]],
    ["Schedules:\n  - {cron: '0 0 31 2 *', run: [print]}\n", [
      "2 Schedules.0.cron: expected a cron expression of 5 fields (minute hour day-of-month " +
      "month day-of-week), 6 with seconds first, or @hourly, @daily, @weekly, @monthly, got " +
      '"0 0 31 2 *": no date matches it',
    ]],
    ["Schedules:\n  - {cron: '@daily', timezone: '+02:00', run: [print]}\n", [
      '2 Schedules.0.timezone: expected an IANA time zone name such as "Europe/Berlin", ' +
      '"America/New_York" or "UTC", got "+02:00": a UTC offset is not a time zone name',
    ]],
    ['Schedules:\n  - {every: 5m, run: [print], catch_up: maybe, name: ""}\n', [
      '2 Schedules.0.catch_up: expected true or false, got "maybe"',
      '2 Schedules.0.name: expected a name (a string on one line), got ""',
    ]],
    [
      "Schedules:\n  - name: a\n    every: 5m\n    run: [print]\n" +
      "  - name: a\n    cron: '@daily'\n    run: [print]\n",
      [
        '5 Schedules.1.name: schedule name "a" is used twice: also by the schedule at ' +
        '/srv/app.yml line 2 (Schedules.0); give each a unique "name"',
      ],
    ],
  ];
  for (const [yaml, problems] of cases) assert.deepEqual(await schedulesOf(yaml), problems, yaml);
});

Deno.test("checkSchedules() without a source checks what it can", () => {
  const problems: string[] = [];
  const schedules = checkSchedules([{ every: "1s", run: ["print"] }, { run: ["print"] }], {
    report: (path, message) => problems.push(`${path.join(".")}: ${message}`),
    origin: () => "<default>",
  });
  assert.deepEqual(schedules.map((s) => s.name), ["every 1s"]);
  assert.deepEqual(problems, ['Schedules.1: expected "every" or "cron" (when it runs)']);
});

Deno.test("mergeSchedules() lets a command-line schedule replace its namesake in place", () => {
  const of = (name: string, origin: string): ScheduleConfig => ({
    name,
    everyMs: 1000,
    jitterMs: 0,
    catchUp: false,
    run: [],
    origin,
  });
  const cases: [config: string[], cli: string[], merged: string[]][] = [
    [[], [], []],
    [["a"], [], ["a file"]],
    [[], ["a"], ["a cli"]],
    [["a", "b", "c"], ["b"], ["a file", "b cli", "c file"]],
    [["a"], ["z", "a"], ["a cli", "z cli"]],
  ];
  for (const [config, cli, merged] of cases) {
    const result = mergeSchedules(config.map((n) => of(n, "file")), cli.map((n) => of(n, "cli")));
    assert.deepEqual(result.map((s) => `${s.name} ${s.origin}`), merged);
  }
});
