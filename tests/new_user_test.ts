/**
 * What a new user trips on, tried as a new user would: the argv grammar
 * (action words are the action's), flagman's habits (`--list`, `-l`, `-q`,
 * `-c` without `run`), helper's app arguments in library mode, built-in
 * actions and the app's own actions folder by default, messages naming the
 * app's command, and `check`, `run` and reload agreeing. The real CLI, as a
 * process.
 */
import assert from "node:assert/strict";
import { ROOT, runCli, spawnCli, tempDir, writeFiles } from "./_helpers.ts";

const MOD = new URL("lib/mod.ts", `file://${ROOT}`).href;
const PROBE = new URL("./fixtures/probe_controller.ts", import.meta.url).pathname;

Deno.test("every word after an action's name is the action's: sh -c and -v reach the program", async () => {
  await using app = spawnCli([
    "--usr2",
    "exec",
    "sh",
    "-c",
    "echo hi from sh",
    "--usr1",
    "exec",
    "echo",
    "hello",
    "-v",
  ]);
  await app.waitFor("Running 2 action(s)");
  await app.signal("USR2");
  await app.waitFor("hi from sh");
  await app.signal("USR1");
  await app.waitFor(/^ {2}hello -v$/m, { stream: "stderr" });
  await app.signal("TERM");
  const result = await app.finished();
  assert.equal(result.code, 0, result.stderr);
  // -v reached echo: flagstaff's own logging stayed at INFO.
  assert.doesNotMatch(result.stderr, / DEBUG /);
});

Deno.test("\"--\" ends an action's words: flagstaff's own options may follow", async () => {
  await using app = spawnCli(["--usr1", "print", "x", "--", "-v"]);
  await app.waitFor("Running 1 action(s)");
  await app.signal("TERM");
  const result = await app.finished();
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, / DEBUG /, "-v after -- is flagstaff's");
});

Deno.test("flagman's --list and -l list the actions", async () => {
  for (const flag of ["--list", "-l"]) {
    const result = await runCli([flag]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^name +description \(arguments\)\n/);
    assert.match(result.stdout, /^print_once +Prints a message on the first run/m);
  }
});

Deno.test("-q logs critical messages only (flagman's -q), also over -v", async () => {
  await using dir = await tempDir();
  // An invalid reload logs an ERROR; the start logs INFO.
  await writeFiles(dir.path, { "app.yml": `Application:\n  controller: ${PROBE}\n` });
  for (const args of [["-q"], ["-q", "-vv"]]) {
    await using app = spawnCli(["-c", `${dir.path}/app.yml`, ...args]);
    await app.waitFor("process end 1", { stream: "stdout" });
    await Deno.writeTextFile(`${dir.path}/app.yml`, "Application: [broken\n");
    await app.signal("HUP");
    // Signals run in the order they came: once USR2's hook has run, the reload has failed.
    await app.signal("USR2");
    await app.waitFor("sigusr2 hook", { stream: "stdout" });
    await app.signal("TERM");
    const result = await app.finished();
    assert.equal(result.code, 0);
    assert.equal(result.stderr, "", `${args.join(" ")}: ${result.stderr}`);
    await Deno.writeTextFile(`${dir.path}/app.yml`, `Application:\n  controller: ${PROBE}\n`);
  }
});

Deno.test("flagstaff -c app.yml means flagstaff run -c app.yml", async () => {
  await using dir = await tempDir();
  await writeFiles(dir.path, { "app.yml": `Application:\n  controller: ${PROBE}\n` });
  await using app = spawnCli(["-c", `${dir.path}/app.yml`]);
  await app.waitFor("process end 1", { stream: "stdout" });
  await app.signal("TERM");
  assert.equal((await app.finished()).code, 0);
});

Deno.test("a broken module in the actions folder is refused alike by list, check and run", async () => {
  await using dir = await tempDir();
  await writeFiles(dir.path, {
    "actions/broken.ts": "export default class Broken {\n  run() {\n",
    "app.yml": "Signals:\n  usr1: [{print: hi}]\n",
  });
  for (const command of ["list", "check", "run"]) {
    const result = await runCli([command, "-c", `${dir.path}/app.yml`]);
    assert.equal(result.code, 2, `${command}: ${result.stderr}`);
    assert.match(
      result.stderr,
      new RegExp(
        `^error: Cannot load action "broken" from ${dir.path}/actions/broken\\.ts \\(every module of the actions folder is loaded, used or not: [^)]*\\): `,
      ),
      command,
    );
  }
});

Deno.test("a reload whose controller cannot be loaded is refused, as check refuses it", async () => {
  await using dir = await tempDir();
  const file = `${dir.path}/app.yml`;
  await writeFiles(dir.path, {
    "app.yml": `Application:\n  controller: ${PROBE}\n  greeting: one\n`,
  });
  await using app = spawnCli(["run", "-c", file]);
  await app.waitFor("process end 1", { stream: "stdout" });
  await Deno.writeTextFile(file, "Application:\n  controller: ./missing.ts\n  greeting: two\n");
  const check = await runCli(["check", "-c", file]);
  assert.equal(check.code, 2);
  assert.match(check.stderr, /Cannot load controller "\.\/missing\.ts"/);
  await app.signal("HUP");
  await app.waitFor(
    /Reload failed, keeping the running config: Cannot load controller "\.\/missing\.ts"/,
  );
  await app.signal("USR2");
  await app.waitFor("sigusr2 hook", { stream: "stdout" });
  await app.signal("TERM");
  const result = await app.finished();
  assert.equal(result.code, 0);
  assert.doesNotMatch(result.stdout, /reloaded greeting=two/);
});

Deno.test("an empty Signals list means nothing runs on that signal: check says so, run does so", async () => {
  await using dir = await tempDir();
  const file = `${dir.path}/app.yml`;
  await writeFiles(dir.path, {
    "app.yml": `Application:\n  controller: ${PROBE}\nSignals:\n  usr1: []\n`,
  });
  const check = await runCli(["check", "-c", file]);
  assert.equal(check.code, 0, check.stderr);
  assert.match(check.stdout, /^usr1: nothing \(an empty list replaces the default\)$/m);
  assert.match(check.stdout, /^hup: reloads the config \(default\)$/m);
  await using app = spawnCli(["run", "-c", file]);
  await app.waitFor("process end 1", { stream: "stdout" });
  await app.signal("USR1");
  await app.waitFor(/Received SIGUSR1 under `deno run`/); // Logged on receipt.
  await app.signal("HUP");
  await app.waitFor(/Config reloaded from/);
  await app.signal("TERM");
  const result = await app.finished();
  assert.equal(result.code, 0);
  assert.doesNotMatch(result.stderr, /Received SIGUSR1: reloading/);
});

const APP = `import { Controller, start } from "${MOD}";

interface Args { port: number; mode: string | undefined; verbose_app: boolean }

class MyApp extends Controller<Args> {
  override setup(): void {
    const { port, mode, verbose_app } = this.args;
    console.log(\`args port=\${port} (\${typeof port}) mode=\${mode} verbose_app=\${verbose_app}\`);
    console.log(\`platform \${this.systemPlatform.os} \${this.systemPlatform.implementation}\`);
  }
  override process(): void {}
}

if (import.meta.main) {
  Deno.exit(
    await start(MyApp, {
      name: "myapp",
      description: "myapp serves things",
      usage: "Usage: myapp [--port N] [options]",
      epilog: "See https://example.test/myapp for more.",
      options: {
        port: { type: "integer", short: "p", description: "port to serve on", default: 8080 },
        mode: { type: "string", value: "name", description: "mode to run in" },
        verbose_app: { type: "boolean", description: "say more in the app" },
      },
    }),
  );
}
`;

Deno.test("start(): the app's own options, description, usage and epilog, typed in this.args", async () => {
  await using dir = await tempDir();
  await writeFiles(dir.path, { "main.ts": APP });
  const main = `${dir.path}/main.ts`;
  const help = await runCli(["--help"], { main, cwd: dir.path });
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: myapp \[--port N\] \[options\]\n\nmyapp serves things\n/);
  assert.match(help.stdout, /See https:\/\/example\.test\/myapp for more\.\n$/);
  const runHelp = await runCli(["run", "--help"], { main, cwd: dir.path });
  assert.match(runHelp.stdout, /-p, --port <integer> +port to serve on \(default: 8080\)/);
  assert.match(runHelp.stdout, /--mode <name> +mode to run in/);
  assert.match(runHelp.stdout, /--verbose_app +say more in the app/);

  await using app = spawnCli(["-p", "9000", "--mode", "fast", "--verbose_app"], {
    main,
    cwd: dir.path,
  });
  await app.waitFor("args port=9000 (number) mode=fast verbose_app=true", { stream: "stdout" });
  await app.waitFor(`platform ${Deno.build.os} Deno`, { stream: "stdout" });
  await app.signal("TERM");
  assert.equal((await app.finished()).code, 0);

  await using defaults = spawnCli([], { main, cwd: dir.path });
  await defaults.waitFor("args port=8080 (number) mode=undefined verbose_app=false", {
    stream: "stdout",
  });
  await defaults.signal("TERM");
  assert.equal((await defaults.finished()).code, 0);

  const bad = await runCli(["--port", "eighty"], { main, cwd: dir.path });
  assert.deepEqual([bad.code, bad.stderr], [
    2,
    'error: Option "--port" takes a whole number, got "eighty" (see "myapp --help")\n',
  ]);
});

Deno.test("start() knows the built-in actions by default, and messages name the app's command", async () => {
  await using dir = await tempDir();
  await writeFiles(dir.path, { "main.ts": APP });
  const main = `${dir.path}/main.ts`;
  const list = await runCli(["list"], { main, cwd: dir.path });
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /^reload +Reloads the config/m);
  await writeFiles(dir.path, { "app.yml": "Signals:\n  hup: [reload]\n" });
  const check = await runCli(["check", "-c", `${dir.path}/app.yml`], { main, cwd: dir.path });
  assert.equal(check.code, 0, check.stderr);
  assert.match(check.stdout, /^hup: reload$/m);
  const unknown = await runCli(["--usr1", "nope"], { main, cwd: dir.path });
  assert.equal(unknown.code, 2);
  assert.equal(
    unknown.stderr,
    'error: Unknown action "nope" given by --usr1; run "myapp list" to see the known actions\n',
  );
});

Deno.test("start(): a new file in the app's actions/ folder is an action, no registration needed", async () => {
  await using dir = await tempDir();
  await writeFiles(dir.path, {
    "main.ts": APP,
    "actions/wave.ts": `export default class Wave {
  static description = "Waves";
  run(context: { out: { write(text: string): void } }) {
    context.out.write("wave!\\n");
  }
}
`,
  });
  // Run from another folder: the folder is the app's (beside main.ts), not the working directory's.
  await using elsewhere = await tempDir();
  await using app = spawnCli(["--usr2", "wave"], {
    main: `${dir.path}/main.ts`,
    cwd: elsewhere.path,
  });
  await app.waitFor("Running myapp");
  await app.signal("USR2");
  await app.waitFor("wave!\n", { stream: "stdout" });
  await app.signal("TERM");
  assert.equal((await app.finished()).code, 0);
});

Deno.test("start({ signal }): the app's own AbortSignal stops it as TERM does", async () => {
  await using dir = await tempDir();
  await writeFiles(dir.path, {
    "main.ts": `import { Controller, start } from "${MOD}";
const stop = new AbortController();
class App extends Controller {
  #ticks = 0;
  override process(): void {
    if (++this.#ticks === 2) stop.abort();
  }
  override cleanup(): void {
    console.log(\`cleanup after \${this.#ticks} ticks\`);
  }
}
Deno.exit(await start(App, { name: "app", args: ["-c", "app.yml"], signal: stop.signal, actionsDir: false }));
`,
    "app.yml": "Application:\n  wake_interval: 0.05\n",
  });
  const result = await runCli([], { main: `${dir.path}/main.ts`, cwd: dir.path });
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^cleanup after 2 ticks$/m);
  assert.match(result.stderr, /Stopped by the app's AbortSignal: stopping/);
});
