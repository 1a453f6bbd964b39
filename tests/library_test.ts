/**
 * Library mode: an app's own main.ts imports lib/mod.ts, subclasses
 * Controller and calls start(); run as a real process.
 */
import assert from "node:assert/strict";
import { ROOT, runCli, spawnCli, tempDir, writeFiles } from "./_helpers.ts";

const APP = `import { Controller, start } from "${new URL("lib/mod.ts", `file://${ROOT}`).href}";

class MyApp extends Controller {
  #ticks = 0;
  override setup(): void {
    console.log(\`setup \${this.currentState} wake=\${this.wakeIntervalS}\`);
  }
  override process(): void {
    this.#ticks++;
    console.log(\`tick \${this.#ticks} \${this.config.application.greeting} \${this.currentState}\`);
    this.logger.info("tick {n}", { n: this.#ticks });
  }
  override configurationReloaded(): void {
    console.log(\`reloaded \${this.config.application.greeting} wake=\${this.wakeIntervalS}\`);
  }
  override onSigusr2(): void {
    console.log("usr2");
  }
  override cleanup(): void {
    console.log(\`cleanup \${this.currentState} waiting=\${this.isWaitingToStop}\`);
  }
}

if (import.meta.main) Deno.exit(await start(MyApp, { name: "myapp", version: "1.2.3" }));
`;

Deno.test("start() runs a Controller subclass with helper's -c and -f flags", async () => {
  await using dir = await tempDir();
  await writeFiles(dir.path, {
    "main.ts": APP,
    "etc/myapp.yml": "Application:\n  wake_interval: 0.05\n  greeting: hi\n",
  });
  const main = `${dir.path}/main.ts`;
  await using app = spawnCli(["-c", `${dir.path}/etc/myapp.yml`, "-f"], { main });
  await app.waitFor("setup Initializing wake=0.05");
  await app.waitFor("tick 2 hi Active");
  await app.waitFor(/myapp: tick 2/, { stream: "stderr" });
  await Deno.writeTextFile(
    `${dir.path}/etc/myapp.yml`,
    "Application:\n  wake_interval: 0.1\n  greeting: ho\n",
  );
  await app.signal("HUP");
  await app.waitFor("reloaded ho wake=0.1");
  await app.waitFor(/tick \d+ ho Active/);
  await app.signal("USR2");
  await app.waitFor("usr2");
  await app.signal("TERM");
  const result = await app.finished();
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /cleanup Stopping waiting=false\n$/);
});

Deno.test("start() gives the app its own --help and --version", async () => {
  await using dir = await tempDir();
  await writeFiles(dir.path, { "main.ts": APP });
  const help = await runCli(["--help"], { main: `${dir.path}/main.ts` });
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: myapp \[command\] \[options\]\n/);
  assert.doesNotMatch(help.stdout, /--controller/);
  // The default command's own help says it may be left out.
  const runHelp = await runCli(["run", "--help"], { main: `${dir.path}/main.ts` });
  assert.equal(runHelp.code, 0);
  assert.match(runHelp.stdout, /^Usage: myapp \[run\] \[options\]/);
  const checkHelp = await runCli(["check", "--help"], { main: `${dir.path}/main.ts` });
  assert.match(checkHelp.stdout, /^Usage: myapp check \[options\]/);
  const version = await runCli(["--version"], { main: `${dir.path}/main.ts` });
  assert.deepEqual([version.code, version.stdout], [0, "1.2.3\n"]);
  const check = await runCli(["check"], { main: `${dir.path}/main.ts` });
  assert.equal(check.code, 0, check.stderr);
  assert.match(
    check.stdout,
    /^config: \(none: built-in defaults\)\nname: myapp\ncontroller: class MyApp\n/,
  );
});

Deno.test("start() with actions: an Action subclass and a built-in run on their signals", async () => {
  await using dir = await tempDir();
  const mod = new URL("lib/mod.ts", `file://${ROOT}`).href;
  const builtins = new URL("actions/mod.ts", `file://${ROOT}`).href;
  await writeFiles(dir.path, {
    "main.ts": `import { Action, type ActionContext, Controller, start } from "${mod}";
import { BUILTIN_ACTIONS } from "${builtins}";

class Hi extends Action {
  static override description = "Says hi";
  static override arguments = [{ name: "who" }];
  #who = "";
  override setUp(who: string): void {
    this.#who = who;
  }
  override run(context: ActionContext): void {
    context.out.write(\`hi \${this.#who} on \${context.trigger}\\n\`);
  }
}

class App extends Controller {}

if (import.meta.main) Deno.exit(await start(App, { name: "app", actions: { ...BUILTIN_ACTIONS, hi: Hi } }));
`,
  });
  await using app = spawnCli(["--usr2", "hi", "there", "--hup", "print", "hup!"], {
    main: `${dir.path}/main.ts`,
    cwd: dir.path,
  });
  await app.waitFor("init\n", { stream: "stdout" });
  await app.waitFor("Running app: process() every 60 s");
  await app.signal("USR2");
  await app.waitFor("hi there on SIGUSR2\n", { stream: "stdout" });
  await app.signal("HUP");
  await app.waitFor("hup!\n", { stream: "stdout" });
  await app.signal("TERM");
  const result = await app.finished();
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /cleanup\n$/);
});
