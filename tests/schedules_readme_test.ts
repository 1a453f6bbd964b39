/**
 * The README's "Schedules" section runs as shown: the config that replaces
 * flagman's three systemd units (`check` prints what the README prints, a
 * first start catches up once, a restart within the hour does not), and the
 * command-line example.
 */
import assert from "node:assert/strict";
import { ROOT, runCli, spawnCli, tempDir, writeFiles } from "./_helpers.ts";

const README = await Deno.readTextFile(`${ROOT}README.md`);
const SECTION = README.slice(
  README.indexOf("\n## Schedules\n"),
  README.indexOf("\n## Exit codes\n"),
);

/** The section's fenced blocks of a language, in order. */
function blocks(lang: string): string[] {
  return [...SECTION.matchAll(new RegExp("```" + lang + "\\n([\\s\\S]*?)```", "g"))].map((m) =>
    m[1]
  );
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");

Deno.test("README: the hourly config checks as shown, catches up once, then runs on time", async () => {
  const config = blocks("yaml").find((block) => block.startsWith("# hourly.yml"))!;
  assert.match(config, /cron: "@hourly"\n {4}jitter: 5m\n {4}catch_up: true/);
  await using dir = await tempDir();
  await using state = await tempDir();
  await writeFiles(dir.path, { "hourly.yml": config });
  const env = { TZ: "UTC", STATE_DIRECTORY: state.path };

  const shown = blocks("text").find((block) => block.startsWith('schedule "refresh"'))!;
  const check = await runCli(["check", "-c", "hourly.yml"], { cwd: dir.path, env });
  assert.equal(check.code, 0, check.stderr);
  const [schedule, next] = shown.trimEnd().split("\n");
  const lines = check.stdout.split("\n");
  const at = lines.indexOf(schedule);
  assert.ok(at >= 0, `check prints ${JSON.stringify(schedule)}:\n${check.stdout}`);
  // The times differ from the README's: each is a whole hour, in order.
  const pattern = escape(next).replace(/\d{4}-\d\d-\d\dT\d\d/g, "(\\d{4}-\\d\\d-\\d\\dT\\d\\d)");
  const times = new RegExp(`^${pattern}$`).exec(lines[at + 1]);
  assert.ok(times, lines[at + 1]);
  const hours = times.slice(1).map((t) => Date.parse(`${t}:00:00Z`));
  assert.deepEqual(hours, [hours[0], hours[0] + 3_600_000, hours[0] + 7_200_000]);
  assert.ok(hours[0] > Date.now() - 60_000 && hours[0] <= Date.now() + 3_600_000);

  // The first start never ran: it catches up at once. USR1's print marks the end of the queue.
  // exec logs what the program printed.
  const start = async () => {
    await using app = spawnCli(["run", "-c", "hourly.yml", "--usr1", "print", "marker"], {
      cwd: dir.path,
      env,
    });
    await app.waitFor("Running 1 schedule(s); next run: refresh at ");
    await app.signal("USR1");
    await app.waitFor("marker\n", { stream: "stdout" });
    await app.signal("TERM");
    const result = await app.finished();
    assert.equal(result.code, 0);
    return result.stderr.match(/^ {2}refreshing the cache$/gm)?.length ?? 0;
  };
  assert.equal(await start(), 1);
  assert.equal(await start(), 0, "restarted within the hour: nothing was missed");
});

Deno.test("README: the command-line schedules run as shown", async () => {
  const line = blocks("sh").map((block) => block.trim()).find((block) =>
    block.startsWith("flagstaff --every")
  )!;
  const argv = [...line.matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2]).slice(1);
  await using dir = await tempDir();
  await writeFiles(dir.path, { "backup.sh": "#!/bin/sh\necho backed up\n" });
  await Deno.chmod(`${dir.path}/backup.sh`, 0o755);
  await using state = await tempDir();
  const check = await runCli(["check", ...argv], {
    cwd: dir.path,
    env: { STATE_DIRECTORY: state.path },
  });
  assert.equal(check.code, 0, check.stderr);
  assert.match(
    check.stdout,
    /^schedule "every 2s": every 2s \(times in .*\); runs print "tick"; print "tock"$/m,
  );
  assert.match(
    check.stdout,
    /^schedule "0 3 \* \* \*": cron "0 3 \* \* \*" \(.*\); runs exec "\.\/backup\.sh"$/m,
  );
  await using app = spawnCli(argv, { cwd: dir.path, env: { STATE_DIRECTORY: state.path } });
  await app.waitFor("tick\ntock\ntick\ntock\n", { stream: "stdout" });
  await app.signal("TERM");
  assert.equal((await app.finished()).code, 0);
});

Deno.test("README: flagman's migration table has the three-unit row", () => {
  const table = README.slice(README.indexOf("\n## Migrating from flagman\n"));
  assert.match(
    table,
    /\| three units for an hourly action: .*`OnCalendar=hourly`, `RandomizedDelaySec=300`, `Persistent=true` +\| one process: `Schedules: \[\{cron: "@hourly", jitter: 5m, catch_up: true, run: \[\.\.\.\]\}\]`/,
  );
});
