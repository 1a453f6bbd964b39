/**
 * SIGUSR1 under `deno run` must never leave a debugger that a local user can
 * attach to. Deno starts a V8 inspector on 127.0.0.1:9229 on any SIGUSR1
 * that comes 500 ms or more after start; an attacker loops on that port
 * while USR1s arrive. These tests are that attacker: they try, in a tight
 * loop, to read the inspector's target list (the first step of attaching)
 * while flagstaff gets USR1s, and fail if it ever answers.
 */
import assert from "node:assert/strict";
import { delay } from "../lib/core/delay.ts";
import { eventually, spawnCli } from "./_helpers.ts";

/**
 * Tries to reach Deno's inspector until stopped (or disposed: a failed test
 * leaves no loop behind); resolves with what it found, if anything.
 */
function attacker(): AsyncDisposable & { stop(): Promise<string | undefined>; tries(): number } {
  let running = true;
  let tries = 0;
  let found: string | undefined;
  const loop = (async () => {
    while (running && found === undefined) {
      tries++;
      try {
        const response = await fetch("http://127.0.0.1:9229/json/list", {
          signal: AbortSignal.timeout(150),
        });
        const text = await response.text();
        if (text.includes("webSocketDebuggerUrl")) found = text;
      } catch {
        // Refused, or held open without an answer: no debugger there.
        await delay(1);
      }
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return found;
    },
    tries: () => tries,
    async [Symbol.asyncDispose]() {
      running = false;
      await loop;
    },
  };
}

async function usr1Rounds(app: ReturnType<typeof spawnCli>, rounds: number): Promise<void> {
  for (let i = 1; i <= rounds; i++) {
    await app.signal("USR1");
    await app.waitFor(/^x$/m, { stream: "stdout" });
  }
}

Deno.test("USR1 under deno run opens no debugger a local user can attach to", async () => {
  const started = performance.now();
  await using app = spawnCli(["run", "--usr1", "print", "x"]);
  await app.waitFor("Running 1 action(s)");
  // The input: Deno activates its inspector only for a USR1 500 ms or more after start.
  await delay(Math.max(0, 700 - (performance.now() - started)));
  await using probe = attacker();
  await usr1Rounds(app, 10);
  const found = await probe.stop();
  assert.equal(found, undefined, `a debugger answered on 127.0.0.1:9229: ${found}`);
  assert.ok(probe.tries() > 0);
  await app.signal("TERM");
  const result = await app.finished();
  assert.equal(result.code, 0);
  // Said once, where it happens.
  assert.equal(app.count(/Received SIGUSR1 under `deno run`/, "stderr"), 1, result.stderr);
});

Deno.test("USR1 opens no debugger even when another process held 9229 at start and let go", async () => {
  // Another holder (another flagstaff, a developer's debugger) at flagstaff's start. Another
  // flagstaff under `deno run` on this machine may hold it now: wait for our turn.
  let holder: Deno.Listener | undefined = await eventually(
    "127.0.0.1:9229 to be free",
    () => {
      try {
        return Deno.listen({ hostname: "127.0.0.1", port: 9229 });
      } catch (error) {
        if (error instanceof Deno.errors.AddrInUse) return undefined;
        throw error;
      }
    },
  );
  const started = performance.now();
  try {
    await using app = spawnCli(["run", "--usr1", "print", "x"]);
    await app.waitFor("Running 1 action(s)");
    holder.close();
    holder = undefined;
    await delay(Math.max(0, 700 - (performance.now() - started)));
    await using probe = attacker();
    await usr1Rounds(app, 10);
    const found = await probe.stop();
    assert.equal(found, undefined, `a debugger answered on 127.0.0.1:9229: ${found}`);
    await app.signal("TERM");
    assert.equal((await app.finished()).code, 0);
  } finally {
    holder?.close();
  }
});
