/**
 * End-to-end tests of action timeouts: an action that ignores its aborted
 * signal never runs twice at once (it is skipped, with a warning, until its
 * timed-out run ends), its tear-down waits for that run (a reload does not
 * block on it, a stop does), and a timeout past the timer limit (2^31-1 ms)
 * does not fire at once.
 */
import assert from "node:assert/strict";
import { DEADLINE_MS, spawnCli, tempDir, writeFiles } from "./_helpers.ts";

const FIXTURES = new URL("./fixtures/actions/", import.meta.url).pathname;

/**
 * An action that ignores its signal: each run prints `stubborn start N`, then
 * waits until the file `release` exists, then prints `stubborn end N`; at
 * the test's deadline it gives up and throws. Tear-down prints `stubborn down`. With `closeAtStart`, a run closes the action as it starts.
 */
function stubborn(release: string, closeAtStart = false): string {
  return `export default class {
  static description = "Ignores its signal until a file exists (tests)";
  static arguments = [];
  #runs = 0;
  constructor(context) { this.context = context; }
  async run(context) {
    const n = ++this.#runs;
    context.out.write(\`stubborn start \${n}\\n\`);
    ${closeAtStart ? 'context.close("done");' : ""}
    const deadline = Date.now() + ${DEADLINE_MS};
    while (true) {
      try { Deno.statSync(${JSON.stringify(release)}); break; } catch { /* not yet */ }
      if (Date.now() > deadline) throw new Error("stubborn: no release file within the deadline");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    context.out.write(\`stubborn end \${n}\\n\`);
  }
  tearDown() { this.context.out.write("stubborn down\\n"); }
}
`;
}

Deno.test("an action whose timed-out run goes on is skipped, with a warning, until that run ends", async () => {
  await using dir = await tempDir();
  const release = `${dir.path}/release`;
  await writeFiles(dir.path, {
    "actions/stubborn.js": stubborn(release),
    "app.yml": "Signals:\n  usr2:\n    - {stubborn: null, timeout: 0.2}\n    - print: next\n",
  });
  await using app = spawnCli(["run", "-c", `${dir.path}/app.yml`]);
  await app.waitFor("Running 2 action(s)");
  await app.signal("USR2");
  await app.waitFor("stubborn start 1\n", { stream: "stdout" });
  await app.waitFor(/Action "stubborn" \(usr2 #1\) timed out after 0.2 s/, { stream: "stderr" });
  await app.waitFor("next\n", { stream: "stdout" });

  // The old run still goes on: the action is skipped, the next one still runs.
  await app.signal("USR2");
  await app.waitFor(
    /Action "stubborn" \(usr2 #1\) skipped: its run that timed out has been going for \d+\.\d s and has not ended/,
    { stream: "stderr" },
  );
  await app.waitFor("next\n", { stream: "stdout" });
  assert.doesNotMatch(app.stdout, /stubborn start 2/, "never two runs of one instance at once");

  // Once it has ended, the action runs again.
  await Deno.writeTextFile(release, "");
  await app.waitFor("stubborn end 1\n", { stream: "stdout" });
  await app.waitFor(/Action "stubborn" \(usr2 #1\): its run that timed out ended after/, {
    stream: "stderr",
  });
  await app.signal("USR2");
  await app.waitFor("stubborn start 2\nstubborn end 2\nnext\n", { stream: "stdout" });
  await app.signal("TERM");
  const result = await app.finished();
  assert.equal(result.code, 0, result.stderr);
  assert.equal(
    result.stdout,
    "init\nstubborn start 1\nnext\nnext\nstubborn end 1\nstubborn start 2\nstubborn end 2\nnext\n" +
      "stubborn down\ncleanup\n",
  );
  assert.equal(app.count(/skipped: /, "stderr"), 1);
});

Deno.test("a reload that removes an action with a run going on does not wait; its tear-down comes after the run", async () => {
  await using dir = await tempDir();
  const release = `${dir.path}/release`;
  await writeFiles(dir.path, {
    "actions/stubborn.js": stubborn(release),
    "app.yml": "Signals:\n  usr2: [{stubborn: null, timeout: 0.2}]\n  usr1: [{print: alive}]\n",
  });
  await using app = spawnCli(["run", "-c", `${dir.path}/app.yml`]);
  await app.waitFor("Running 2 action(s)");
  await app.signal("USR2");
  await app.waitFor("stubborn start 1\n", { stream: "stdout" });
  await app.waitFor(/Action "stubborn" \(usr2 #1\) timed out after 0.2 s/, { stream: "stderr" });

  await Deno.writeTextFile(`${dir.path}/app.yml`, "Signals:\n  usr1: [{print: alive}]\n");
  await app.signal("HUP");
  await app.waitFor(
    /Action "stubborn" \(usr2 #1\): tear-down deferred until its run ends \(going for \d+\.\d s, past its timeout\)/,
    { stream: "stderr" },
  );
  await app.waitFor("Config reloaded", { stream: "stderr" });
  // The dispatcher goes on meanwhile.
  await app.signal("USR1");
  await app.waitFor("alive\n", { stream: "stdout" });
  assert.doesNotMatch(app.stdout, /stubborn down/, "no tear-down beside the run");

  await Deno.writeTextFile(release, "");
  await app.waitFor("stubborn end 1\nstubborn down\n", { stream: "stdout" });
  await app.signal("TERM");
  const result = await app.finished();
  assert.equal(result.code, 0, result.stderr);
  assert.equal(app.count(/stubborn down/, "stdout"), 1, "torn down once");
});

Deno.test("a stop waits for the run of a timed-out action before its tear-down", async () => {
  await using dir = await tempDir();
  const release = `${dir.path}/release`;
  await writeFiles(dir.path, {
    "actions/stubborn.js": stubborn(release),
    "app.yml": "Daemon:\n  stop_timeout: 120\n" +
      "Signals:\n  usr2: [{stubborn: null, timeout: 0.2}]\n",
  });
  await using app = spawnCli(["run", "-c", `${dir.path}/app.yml`]);
  await app.waitFor("Running 1 action(s)");
  await app.signal("USR2");
  await app.waitFor("stubborn start 1\n", { stream: "stdout" });
  await app.waitFor(/Action "stubborn" \(usr2 #1\) timed out after 0.2 s/, { stream: "stderr" });
  await app.signal("TERM");
  await app.waitFor(
    /WARNING.*Action "stubborn" \(usr2 #1\): tear-down deferred until its run ends/,
    { stream: "stderr" },
  );
  assert.doesNotMatch(app.stdout, /stubborn down/, "no tear-down beside the run");
  await Deno.writeTextFile(release, "");
  const result = await app.finished();
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout, "stubborn start 1\nstubborn end 1\nstubborn down\n");
});

Deno.test("an action that closes itself in a run that then times out is torn down after that run", async () => {
  await using dir = await tempDir();
  const release = `${dir.path}/release`;
  await writeFiles(dir.path, {
    "actions/stubborn.js": stubborn(release, true),
    "app.yml": "Signals:\n  usr2: [{stubborn: null, timeout: 0.2}]\n  usr1: [{print: alive}]\n",
  });
  await using app = spawnCli(["run", "-c", `${dir.path}/app.yml`]);
  await app.waitFor("Running 2 action(s)");
  await app.signal("USR2");
  await app.waitFor(/Action "stubborn" \(usr2 #1\) timed out after 0.2 s/, { stream: "stderr" });
  await app.waitFor(/Action "stubborn" \(usr2 #1\) closed: done/, { stream: "stderr" });
  await app.waitFor(/Action "stubborn" \(usr2 #1\): tear-down deferred until its run ends/, {
    stream: "stderr",
  });
  // Closed: USR2 has nothing left to run; the dispatcher goes on.
  await app.signal("USR2");
  await app.signal("USR1");
  await app.waitFor("alive\n", { stream: "stdout" });
  assert.doesNotMatch(app.stdout, /stubborn down/, "no tear-down beside the run");
  await Deno.writeTextFile(release, "");
  await app.waitFor("stubborn end 1\nstubborn down\n", { stream: "stdout" });
  await app.signal("TERM");
  const result = await app.finished();
  assert.equal(result.code, 0, result.stderr);
  assert.equal(
    result.stdout,
    "init\nstubborn start 1\nalive\nstubborn end 1\nstubborn down\ncleanup\n",
  );
});

Deno.test("a timeout past the timer limit (3000000 s) does not fire at once", async () => {
  await using dir = await tempDir();
  await writeFiles(dir.path, {
    "app.yml": "Signals:\n  usr2: [{hang: null, timeout: 3000000}]\n",
  });
  await using app = spawnCli(["run", "-c", `${dir.path}/app.yml`, "--actions-dir", FIXTURES]);
  await app.waitFor("Running 1 action(s)");
  await app.signal("USR2");
  await app.waitFor("hang start\n", { stream: "stdout" });
  // Only the stop ends it: an overflowing timer would have fired within a millisecond.
  await app.signal("TERM");
  const result = await app.finished();
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout, "hang start\nhang aborted: AbortError\n");
  assert.doesNotMatch(result.stderr, /timed out/);
});
