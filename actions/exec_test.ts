import assert from "node:assert/strict";
import ExecAction from "./exec.ts";
import { createTestContext } from "./_test_context.ts";
import { runWithPermissions } from "./_test_permissions.ts";
import { relative } from "node:path";
import { fileURLToPath } from "node:url";

const posix = Deno.build.os !== "windows";

/** A process's state letter from `ps` (`S`, `R`, `Z`...), or undefined when there is none. */
async function processState(pid: number): Promise<string | undefined> {
  const { code, stdout } = await new Deno.Command("ps", { args: ["-o", "stat=", "-p", `${pid}`] })
    .output();
  return code === 0 ? new TextDecoder().decode(stdout).trim() || undefined : undefined;
}

/** Asserts that process `pid` has exited (gone, or a zombie not reaped yet). */
async function assertDead(pid: number): Promise<void> {
  const state = await processState(pid);
  assert.ok(state === undefined || state.startsWith("Z"), `process ${pid} is alive: ${state}`);
}

/**
 * A FIFO in a new temp folder: a script run by the action writes to it, and
 * the test reads what it wrote (opening blocks until the writer comes).
 */
async function fifo(): Promise<AsyncDisposable & { path: string; read(): Promise<string> }> {
  const dir = await Deno.makeTempDir({ prefix: "flagstaff_exec_test_" });
  const path = `${dir}/fifo`;
  const made = await new Deno.Command("mkfifo", { args: [path] }).output();
  assert.equal(made.code, 0, "mkfifo");
  return {
    path,
    read: () => Deno.readTextFile(path),
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}

Deno.test({
  name: "`exec` runs the program without a shell and logs its exit code and output at info",
  ignore: !posix,
  fn: async () => {
    const context = createTestContext({ name: "exec" });
    const action = new ExecAction(context);
    action.setUp("echo", "a  b", "$HOME", "*", "it's");
    await action.run(context);
    assert.deepEqual(context.logs, [
      `info: exec "echo 'a  b' '$HOME' '*' 'it'\\''s'" exited with code 0`,
      `info: exec "echo 'a  b' '$HOME' '*' 'it'\\''s'" output (1 line):\n  a  b $HOME * it's`,
    ]);
    assert.equal(context.output, "", "the program's output is logged, not printed");
  },
});

Deno.test({
  name: "`exec` logs a non-zero exit code and the output at warning",
  ignore: !posix,
  fn: async () => {
    const context = createTestContext();
    const action = new ExecAction(context);
    action.setUp("sh", "-c", "echo broken >&2; exit 3");
    await action.run(context);
    assert.deepEqual(context.logs, [
      `warning: exec "sh -c 'echo broken >&2; exit 3'" exited with code 3`,
      `warning: exec "sh -c 'echo broken >&2; exit 3'" output (1 line):\n  broken`,
    ]);
  },
});

Deno.test({
  name: "`exec` logs only the last 10 lines of a long output, and no output line when silent",
  ignore: !posix,
  fn: async () => {
    const context = createTestContext();
    const long = new ExecAction(context);
    long.setUp("sh", "-c", 'i=1; while [ "$i" -le 25 ]; do echo "line $i"; i=$((i + 1)); done');
    await long.run(context);
    const lines = Array.from({ length: 10 }, (_, i) => `  line ${i + 16}`).join("\n");
    assert.match(context.logs[1], /output \(last 10 of 25 lines\):\n/);
    assert.equal(context.logs[1].split(":\n")[1], lines);

    const quiet = createTestContext();
    const silent = new ExecAction(quiet);
    silent.setUp("true");
    await silent.run(quiet);
    assert.deepEqual(quiet.logs, ['info: exec "true" exited with code 0']);
  },
});

Deno.test({
  name: "`exec` runs a path relative to the working directory at set-up",
  ignore: !posix,
  fn: async () => {
    const program = relative(Deno.cwd(), "/bin/echo");
    assert.match(program, /^(\.\.\/)*bin\/echo$/);
    const context = createTestContext();
    const action = new ExecAction(context);
    action.setUp(program, "hello");
    await action.run(context);
    assert.deepEqual(context.logs, [
      `info: exec "${program} hello" exited with code 0`,
      `info: exec "${program} hello" output (1 line):\n  hello`,
    ]);
  },
});

Deno.test("`exec` set-up fails for a program that is not on PATH", () => {
  assert.throws(() => new ExecAction(createTestContext()).setUp("flagstaff-no-such-program"), {
    message: 'Cannot find program "flagstaff-no-such-program" (searched PATH)',
  });
});

Deno.test({
  name: "`exec` set-up fails for a path that is missing, not a file, or not executable",
  ignore: !posix,
  fn: () => {
    const thisFile = fileURLToPath(import.meta.url);
    assert.equal(Deno.statSync(thisFile).mode! & 0o111, 0, "this test file is not executable");
    const table: [string, string][] = [
      [
        "/flagstaff-no-such-dir/program",
        'Cannot find program "/flagstaff-no-such-dir/program": No such file or directory',
      ],
      ["/", 'Cannot run program "/": it is not a file'],
      [thisFile, `Cannot run program "${thisFile}": it is not executable`],
    ];
    for (const [path, message] of table) {
      assert.throws(() => new ExecAction(createTestContext()).setUp(path), (error: Error) => {
        assert.equal(error.message.replace(/ \(os error \d+\).*$/, ""), message);
        return true;
      });
    }
    assert.throws(() => new ExecAction(createTestContext()).setUp(""), {
      message: 'Argument "command" is empty',
    });
  },
});

Deno.test({
  name: "`exec` stops the program with SIGTERM when the run's signal fires",
  ignore: !posix,
  fn: async () => {
    const context = createTestContext();
    const action = new ExecAction(context);
    action.setUp("sleep", "30");
    const started = performance.now();
    const run = action.run(context); // spawned by the time run() returns its promise
    context.abort(new Error("timed out after 1 s"));
    await run;
    await action.tearDown();
    assert.ok(performance.now() - started < 5_000);
    assert.deepEqual(context.logs, [
      'warning: exec "sleep 30" was killed by SIGTERM, after its run was aborted: timed out after 1 s',
    ]);
  },
});

Deno.test("`exec` kills a program that ignores SIGTERM with SIGKILL after the grace period", async () => {
  // The child, a Deno that ignores TERM, says it is ready with a request to this server.
  const ready = Promise.withResolvers<void>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => {
    ready.resolve();
    return new Response("ok");
  });
  try {
    const context = createTestContext();
    const action = new ExecAction(context, { killGraceMs: 50 });
    const script = [
      'Deno.addSignalListener("SIGTERM", () => {});',
      `await (await fetch("http://127.0.0.1:${server.addr.port}/")).text();`,
      "setTimeout(() => {}, 30_000);",
    ].join(" ");
    action.setUp(Deno.execPath(), "eval", script);
    const run = action.run(context);
    await ready.promise;
    context.abort(new Error("stopping"));
    await run;
    await action.tearDown();
    assert.equal(context.logs.length, 2, context.logs.join("\n"));
    assert.match(
      context.logs[0],
      /^warning: exec ".*": its process group \d+ was still there 0.05 s after SIGTERM: sent SIGKILL$/,
    );
    assert.match(
      context.logs[1],
      /^warning: exec ".*" was killed by SIGKILL, after its run was aborted: stopping$/,
    );
  } finally {
    await server.shutdown();
  }
});

Deno.test({
  name: "`exec` sends SIGTERM to the program's whole process group when the run's signal fires",
  ignore: !posix,
  fn: async () => {
    const context = createTestContext();
    const action = new ExecAction(context);
    // The shell reports the pid of its background sleep, then waits for it.
    await using report = await fifo();
    action.setUp("sh", "-c", `sleep 40 & echo "$!" > ${report.path}; wait`);
    const run = action.run(context);
    const pid = Number(await report.read());
    assert.ok(pid > 1 && (await processState(pid))?.startsWith("S"), "the sleep runs");
    const started = performance.now();
    context.abort(new Error("timed out after 1 s"));
    await run;
    await action.tearDown();
    assert.ok(performance.now() - started < 4_000, "SIGTERM was enough: no SIGKILL grace");
    assert.deepEqual(context.logs, [
      `warning: exec "sh -c 'sleep 40 & echo \"$!\" > ${report.path}; wait'" was killed by SIGTERM, ` +
      "after its run was aborted: timed out after 1 s",
    ]);
    await assertDead(pid);
  },
});

Deno.test({
  name: "`exec` sends SIGKILL to the group when a grandchild outlives SIGTERM and the program",
  ignore: !posix,
  fn: async () => {
    const context = createTestContext();
    const action = new ExecAction(context, { killGraceMs: 100 });
    // The subshell (and the sleep it runs) ignores TERM; the shell itself does not.
    await using report = await fifo();
    action.setUp("sh", "-c", `(trap "" TERM; sleep 40; :) & echo "$!" > ${report.path}; wait`);
    const run = action.run(context);
    const pid = Number(await report.read());
    context.abort(new Error("stopping"));
    await run;
    await action.tearDown();
    // Two lines, in either order: the shell's exit (TERM) and the SIGKILL its group needed.
    assert.equal(context.logs.length, 2, context.logs.join("\n"));
    const [kill, exit] = context.logs[0].includes("sent SIGKILL")
      ? context.logs
      : [...context.logs].reverse();
    assert.match(
      kill,
      /^warning: exec ".*": its process group \d+ was still there 0.1 s after SIGTERM: sent SIGKILL$/,
    );
    assert.match(exit, /was killed by SIGTERM, after its run was aborted: stopping$/);
    await assertDead(pid);
  },
});

Deno.test({
  name: "`exec` sends SIGCONT after SIGTERM, so a stopped member of the group ends without SIGKILL",
  ignore: !posix,
  fn: async () => {
    const context = createTestContext();
    const action = new ExecAction(context, { killGraceMs: 20_000 });
    await using report = await fifo();
    action.setUp("sh", "-c", `sleep 40 & kill -STOP "$!"; echo "$!" > ${report.path}; wait`);
    const run = action.run(context);
    const pid = Number(await report.read());
    assert.match((await processState(pid)) ?? "gone", /^T/, "the sleep is stopped");
    const started = performance.now();
    context.abort(new Error("stopping"));
    await run;
    await action.tearDown();
    const elapsedMs = performance.now() - started;
    assert.ok(elapsedMs < 10_000, `ended by SIGTERM, not by SIGKILL after 20 s: ${elapsedMs} ms`);
    assert.equal(context.logs.length, 1, context.logs.join("\n"));
    assert.match(context.logs[0], /was killed by SIGTERM, after its run was aborted: stopping$/);
    await assertDead(pid);
  },
});

Deno.test({
  name: "`exec` does not wait for a grandchild that keeps the output pipes open",
  ignore: !posix,
  fn: async () => {
    const context = createTestContext();
    const action = new ExecAction(context, { drainGraceMs: 50 });
    action.setUp("sh", "-c", "sleep 3 & echo started");
    const started = performance.now();
    await action.run(context);
    const elapsedMs = performance.now() - started;
    assert.ok(elapsedMs < 2_000, `took ${elapsedMs} ms`);
    assert.deepEqual(context.logs, [
      `info: exec "sh -c 'sleep 3 & echo started'" exited with code 0`,
      `info: exec "sh -c 'sleep 3 & echo started'" output (1 line):\n  started`,
    ]);
  },
});

Deno.test({
  name: "`exec` does not start the program when the run's signal has already fired",
  ignore: !posix,
  fn: async () => {
    const context = createTestContext();
    const action = new ExecAction(context);
    action.setUp("echo", "hi");
    context.abort(new Error("stopping"));
    await action.run(context);
    assert.deepEqual(context.logs, ['debug: exec "echo hi" not started: stopping']);
  },
});

Deno.test({
  name: "`exec` set-up names the missing --allow-run, and checks at run time without PATH access",
  ignore: !posix,
  fn: async () => {
    const source = `
      import ExecAction from "./exec.ts";
      import { createTestContext } from "./_test_context.ts";
      for (const program of ["echo", "flagstaff-no-such-program"]) {
        const context = createTestContext();
        const action = new ExecAction(context);
        try {
          action.setUp(program, "hi");
          await action.run(context);
        } catch (error) {
          context.logs.push("thrown: " + error.message);
        }
        console.log(JSON.stringify(context.logs));
      }
    `;
    const noRun = await runWithPermissions(source, ["--allow-read", "--allow-env=PATH"]);
    assert.equal(noRun.code, 0, noRun.stderr);
    assert.deepEqual(noRun.stdout.trim().split("\n").map((line) => JSON.parse(line)), [
      ['thrown: Flagstaff may not run "echo": give it --allow-run=echo (or --allow-run)'],
      [
        'thrown: Flagstaff may not run "flagstaff-no-such-program": give it ' +
        "--allow-run=flagstaff-no-such-program (or --allow-run)",
      ],
    ]);

    const noEnv = await runWithPermissions(source, ["--allow-read", "--allow-run"]);
    assert.equal(noEnv.code, 0, noEnv.stderr);
    const why = "cannot check the program now (no env permission for PATH), at run time then";
    assert.deepEqual(noEnv.stdout.trim().split("\n").map((line) => JSON.parse(line)), [
      [
        `debug: exec "echo hi": ${why}`,
        'info: exec "echo hi" exited with code 0',
        'info: exec "echo hi" output (1 line):\n  hi',
      ],
      [
        `debug: exec "flagstaff-no-such-program hi": ${why}`,
        'error: exec "flagstaff-no-such-program hi" cannot start: ' +
        'Cannot find program "flagstaff-no-such-program"',
      ],
    ]);
  },
});

Deno.test({
  name: "`ExecAction.check()` says what `setUp()` would throw, in the same words, and else nothing",
  ignore: !posix,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "flagstaff_exec_test_" });
    try {
      await Deno.writeTextFile(`${dir}/run.sh`, "#!/bin/sh\n", { mode: 0o755 });
      await Deno.writeTextFile(`${dir}/plain.txt`, "", { mode: 0o644 });
      const relativeMissing = relative(Deno.cwd(), `${dir}/missing.sh`);
      const table = [
        "flagstaff-no-such-program",
        `${dir}/missing.sh`,
        relativeMissing.includes("/") ? relativeMissing : `./${relativeMissing}`,
        dir,
        `${dir}/plain.txt`,
        "",
      ];
      for (const command of table) {
        const problem = ExecAction.check(command, "arg");
        assert.ok(problem, `a problem for ${JSON.stringify(command)}`);
        assert.throws(
          () => new ExecAction(createTestContext()).setUp(command, "arg"),
          { message: problem },
        );
      }
      // A relative path is resolved against the working directory, as setUp() does.
      assert.match(
        ExecAction.check(`./${relative(Deno.cwd(), `${dir}/missing.sh`)}`)!,
        new RegExp(`^Cannot find program "${dir}/missing\\.sh": No such file or directory`),
      );
      for (const command of ["sh", `${dir}/run.sh`]) {
        assert.equal(ExecAction.check(command), undefined, command);
        new ExecAction(createTestContext()).setUp(command); // and setUp() accepts it
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
