/**
 * What a user reads in the small cases: an action aborted by a stop says
 * that flagstaff is stopping (not Deno's "The signal has been aborted"), a
 * negative number given to an option says what is wrong with it, and with no
 * controller, USR2 is said to do nothing (by `check` and when it arrives)
 * instead of calling a hook that is not there.
 */
import assert from "node:assert/strict";
import { eventually, runCli, spawnCli, tempDir, writeFiles } from "./_helpers.ts";

Deno.test("an action aborted by the stop says flagstaff is stopping, and why", async () => {
  await using dir = await tempDir();
  const started = `${dir.path}/started`;
  await using app = spawnCli(["--usr2", "exec", "sh", "-c", `touch ${started}; exec sleep 30`]);
  await app.waitFor("Running 1 action(s)");
  await app.signal("USR2");
  await eventually("the program to start", () => Deno.stat(started));
  await app.signal("TERM");
  const result = await app.finished();
  assert.equal(result.code, 0, result.stderr);
  assert.match(
    result.stderr,
    /after its run was aborted: flagstaff is stopping \(received SIGTERM\)/,
  );
  assert.doesNotMatch(result.stderr, /The signal has been aborted/);
});

Deno.test("a negative number given to an option is judged as a value, not taken for an option", async () => {
  const result = await runCli(["stop", "--pidfile", "x.pid", "--timeout", "-1"]);
  assert.equal(result.code, 2);
  assert.equal(result.stderr, 'error: --timeout takes a positive number of seconds, got "-1"\n');
});

Deno.test("without a controller, USR2 with no actions does nothing, and check and the log say so", async () => {
  await using dir = await tempDir();
  await writeFiles(dir.path, { "app.yml": "Signals:\n  usr1: [{print: hi}]\n" });
  const check = await runCli(["check", "-c", `${dir.path}/app.yml`]);
  assert.equal(check.code, 0, check.stderr);
  assert.match(
    check.stdout,
    /^usr2: nothing \(no controller for the default, calls onSigusr2\(\)\)$/m,
  );
  await using app = spawnCli(["run", "-c", `${dir.path}/app.yml`]);
  await app.waitFor("Running 1 action(s)");
  await app.signal("USR2");
  await app.waitFor("Received SIGUSR2: nothing to do (no controller, no actions for it)");
  await app.signal("TERM");
  const result = await app.finished();
  assert.equal(result.code, 0);
  assert.doesNotMatch(result.stderr, /calling onSigusr2/);
});
