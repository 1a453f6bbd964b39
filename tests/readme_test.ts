/**
 * The README is the truth: its help blocks are the CLI's real `--help`, its
 * tables match the code, and its examples run.
 */
import assert from "node:assert/strict";
import { configKeyDocs } from "../lib/config/config.ts";
import { ERROR_CODES } from "../lib/core/errors.ts";
import { PERMISSION_FLAGS } from "../lib/cli/permissions.ts";
import { VERSION } from "../lib/core/version.ts";
import { fileMatching, ROOT, runCli, spawnCli, tempDir, writeFiles } from "./_helpers.ts";

const README = await Deno.readTextFile(`${ROOT}README.md`);
const DENO_JSON = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
const MOD_URL = new URL("lib/mod.ts", `file://${ROOT}`).href;

/** The fenced blocks of a language, in order. */
function blocks(lang: string): string[] {
  return [...README.matchAll(new RegExp("```" + lang + "\\n([\\s\\S]*?)```", "g"))].map((m) =>
    m[1]
  );
}

Deno.test("README help blocks are the CLI's real --help", async () => {
  const helps = blocks("text").filter((b) => b.startsWith("Usage: flagstaff"));
  assert.ok(helps.length >= 3, "the README shows the help of flagstaff, run and check");
  for (const block of helps) {
    const usage = block.split("\n")[0];
    const command = usage.match(/^Usage: flagstaff (\w+)?/)?.[1];
    const args = command && command !== "options" ? [command, "--help"] : ["--help"];
    const result = await runCli(args);
    assert.equal(result.code, 0);
    assert.equal(block, result.stdout, `README block for "flagstaff ${args.join(" ")}"`);
  }
});

Deno.test("README exit-code table is the code's table", () => {
  const rows = [...README.matchAll(/^\|\s*(\d)\s*\|\s*`(\w+)`\s*\|\s*(.+?)\s*\|$/gm)].map((
    m,
  ) => [m[2], Number(m[1]), m[3]]);
  const expected = Object.entries(ERROR_CODES).map((
    [code, { exitCode, summary }],
  ) => [code, exitCode, summary]);
  assert.deepEqual(rows, expected);
});

Deno.test("README, deno.json tasks and tests share one permission list", () => {
  const flags = PERMISSION_FLAGS.join(" ");
  assert.ok(README.includes(`deno run ${flags} main.ts`), "README shows the permission list");
  for (const task of ["dev", "demo", "compile", "compile:all"]) {
    assert.ok(
      DENO_JSON.tasks[task].command.includes(flags),
      `task ${task} uses the permission list`,
    );
  }
});

Deno.test("README set-up commands exist as tasks, and CI runs the test command", async () => {
  assert.match(README, /deno task demo {3}# run the demo app/);
  assert.match(README, /deno task test {3}# run every test/);
  assert.ok(DENO_JSON.tasks.demo && DENO_JSON.tasks.test);
  // CI runs the gate, whose last step is the README's test command.
  const ci = await Deno.readTextFile(`${ROOT}.ci/run`);
  assert.match(ci, /\ndeno task gate /);
  assert.match(DENO_JSON.tasks.gate.command, /&& deno task test$/);
  assert.equal(DENO_JSON.version, VERSION);
});

/** The published module URL the README's deno.json names. */
const PUBLISHED = `https://raw.githubusercontent.com/flagstaff/flagstaff/v${VERSION}/lib/mod.ts`;

/**
 * A user's own folder (a temp folder, outside the checkout) holding the
 * README's `deno.json` and `files`. These machines have no network, so the
 * import map's published URL is pointed at this checkout's lib/mod.ts: the
 * only change made to what the README shows.
 */
async function userFolder(
  files: Record<string, string>,
): Promise<AsyncDisposable & { path: string }> {
  const dir = await tempDir();
  assert.ok(!dir.path.startsWith(ROOT), "the folder is outside the checkout");
  const denoJson = blocks("json").find((b) => b.includes('"imports"'))!;
  assert.equal(JSON.parse(denoJson).imports.flagstaff, PUBLISHED, "the README names the release");
  await writeFiles(dir.path, { "deno.json": denoJson.replace(PUBLISHED, MOD_URL), ...files });
  return dir;
}

/** `deno check` in `cwd`, as a user runs it; returns its output on failure. */
async function denoCheck(cwd: string, file: string): Promise<void> {
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["check", file],
    cwd,
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
}

Deno.test("README's tool-mode tour type-checks and runs in a user's own folder", async () => {
  const controller = blocks("ts").find((b) => b.startsWith("// controller.ts"))!;
  const config = blocks("yaml").find((b) => b.startsWith("# app.yml"))!;
  assert.match(controller, /from "flagstaff";/);
  await using dir = await userFolder({ "controller.ts": controller, "app.yml": config });
  await denoCheck(dir.path, "controller.ts");
  await using app = spawnCli(["run", "-c", "app.yml"], { cwd: dir.path });
  await app.waitFor(/INFO app: hello, world$/m);
  await app.signal("TERM");
  assert.equal((await app.finished()).code, 0);
});

Deno.test("README's library-mode example type-checks and runs in a user's own folder", async () => {
  const main = blocks("ts").find((b) => b.startsWith("// main.ts") && b.includes("start(MyApp"))!;
  assert.match(main, /from "flagstaff";/);
  await using dir = await userFolder({
    "main.ts": main,
    "app.yml": "Application:\n  greeting: hi\n",
  });
  await denoCheck(dir.path, "main.ts");
  await using app = spawnCli(["-c", "app.yml"], { cwd: dir.path, main: `${dir.path}/main.ts` });
  await app.waitFor(/INFO myapp: tick; greeting is hi$/m);
  await app.signal("TERM");
  assert.equal((await app.finished()).code, 0);
});

Deno.test("README's app command-line example: typed options, help texts, platform", async () => {
  const serve = blocks("ts").find((b) => b.startsWith("// serve.ts"))!;
  await using dir = await userFolder({ "serve.ts": serve });
  await denoCheck(dir.path, "serve.ts");
  const main = `${dir.path}/serve.ts`;
  await using app = spawnCli(["-p", "9000"], { cwd: dir.path, main });
  await app.waitFor(
    `INFO serve: port 9000, mode undefined, on ${Deno.build.os} (Deno ${Deno.version.deno})`,
  );
  await app.signal("TERM");
  assert.equal((await app.finished()).code, 0);
  const help = await runCli(["--help"], { cwd: dir.path, main });
  assert.match(help.stdout, /^Answers on a port until TERM$/m);
  assert.match(help.stdout, /\nSignals: HUP reloads the config, TERM stops\.\n$/);
  const runHelp = await runCli(["run", "--help"], { cwd: dir.path, main });
  assert.match(runHelp.stdout, /^ {2}-p, --port <integer> +port to serve on \(default: 8080\)$/m);
  const bad = await runCli(["-p", "x"], { cwd: dir.path, main });
  assert.equal(bad.code, 2);
  assert.equal(
    bad.stderr,
    'error: Option "--port" takes a whole number, got "x" (see "serve --help")\n',
  );
});

Deno.test("README lists every config key the code accepts", () => {
  // The first table of the Configuration section, one row per key (or group of keys).
  const section = README.slice(README.indexOf("\n## Configuration\n"));
  const table = section.slice(section.indexOf("\n|") + 1).split("\n\n")[0];
  const cells = (line: string) => line.slice(1, -1).split(/(?<!\\)\|/).map((cell) => cell.trim());
  const [header, , ...rows] = table.split("\n").map(cells);
  assert.deepEqual(header, ["key", "type", "unit", "default", "example", "meaning"]);
  const documented = Object.fromEntries(rows.map(([key, ...rest]) => [key, rest]));
  const code = Object.fromEntries(
    configKeyDocs().map((doc) => [
      doc.keys.map((key) => `\`${key}\``).join(", "),
      [doc.type, doc.unit, doc.default, doc.example, doc.doc],
    ]),
  );
  assert.deepEqual(documented, code, "README rows = lib/config tables (key, type, unit, …)");
});

Deno.test("README's flagman one-liner behaves as flagman's session: order, print_once closing, tear-down on TERM", async () => {
  const line = blocks("sh").map((b) => b.trim()).find((b) =>
    b.startsWith("flagstaff --usr1 print")
  )!;
  const argv = [...line.matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2]).slice(1);
  assert.deepEqual(argv, [
    "--usr1",
    "print",
    "a fun message",
    "--usr1",
    "print",
    "another message",
    "--usr2",
    "print_once",
    "will be printed once",
  ]);
  await using app = spawnCli(argv);
  await app.waitFor(/^init\ninit\ninit\n/, { stream: "stdout" });
  await app.waitFor("Running 3 action(s); waiting for signals", { stream: "stderr" });
  await app.signal("USR1");
  await app.waitFor("a fun message\nanother message\n", { stream: "stdout" });
  await app.signal("USR2");
  await app.waitFor("will be printed once\ncleanup\n", { stream: "stdout" });
  await app.waitFor(/Action "print_once" \(usr2 #1\) closed: Only print once/, {
    stream: "stderr",
  });
  await app.signal("USR1");
  await app.waitFor("a fun message\nanother message\n", { stream: "stdout" });
  await app.signal("TERM");
  const result = await app.finished();
  assert.equal(result.code, 0, result.stderr);
  assert.equal(
    result.stdout,
    "init\ninit\ninit\na fun message\nanother message\nwill be printed once\ncleanup\n" +
      "a fun message\nanother message\ncleanup\ncleanup\n",
  );
  assert.doesNotMatch(result.stderr, /at .*print_once/, "closing is not an error: no traceback");
});

Deno.test("README's Signals/Actions config and its greet action run as shown", async () => {
  const greet = blocks("ts").find((b) => b.startsWith("// greet.ts"))!;
  const config = blocks("yaml").find((b) => b.startsWith("# actions.yml"))!;
  await using dir = await userFolder({ "greet.ts": greet, "actions.yml": config });
  // exec runs in flagstaff's working directory, the user's folder here.
  const touched = `${dir.path}/usr1.stamp`;
  await denoCheck(dir.path, "greet.ts");
  const check = await runCli(["check", "-c", "actions.yml"], { cwd: dir.path });
  assert.equal(check.code, 0, check.stderr);
  assert.match(
    check.stdout,
    /^usr1: print "hi"; exec "touch" "usr1\.stamp" \(timeout 5 s\); greet "world"$/m,
  );
  // Its static check() is what `check` reports, in the words run gives setUp()'s errors.
  await Deno.writeTextFile(`${dir.path}/empty.yml`, config.replace("greet: world", 'greet: " "'));
  const refused = await runCli(["check", "-c", "empty.yml"], { cwd: dir.path });
  assert.equal(refused.code, 2, refused.stdout);
  assert.match(
    refused.stderr,
    /Action "greet" \(usr1 #\d\) given by .*empty\.yml line \d+ \(Signals\.usr1\[\d\]\) failed to set up: Argument "who" is empty/,
  );
  await using app = spawnCli(["run", "-c", "actions.yml"], { cwd: dir.path });
  await app.waitFor("Running 5 action(s)");
  await app.signal("USR1");
  await app.waitFor("hi\nhello world (SIGUSR1)\n", { stream: "stdout" });
  assert.ok((await Deno.stat(touched)).isFile, "touched in the working directory");
  await app.signal("HUP");
  await app.waitFor(/Config reloaded from/);
  await app.waitFor(/INFO flagstaff.action.log: reloaded/);
  await app.signal("TERM");
  assert.equal((await app.finished()).code, 0);
});

Deno.test("`deno task demo` runs the demo: ticks, answers HUP and USR2, stops on TERM", async () => {
  // The task's own command line, as `deno task demo` runs it from the repository root.
  const words = (DENO_JSON.tasks.demo.command as string).split(/\s+/);
  assert.deepEqual(words.slice(0, 2), ["deno", "run"]);
  const main = words.indexOf("main.ts");
  await using app = spawnCli(words.slice(main + 1), {
    permissions: words.slice(2, main),
    main: `${ROOT}main.ts`,
  });
  const hello = await app.waitFor(/Demo running as pid \d+/);
  assert.match(hello, new RegExp(`pid ${app.pid}\\. From another terminal: kill -HUP ${app.pid}`));
  await app.waitFor(/demo: Tick 1: hello/);
  await app.signal("USR2");
  await app.waitFor(/demo: Hello from onSigusr2\(\) after \d+ ticks/);
  await app.signal("HUP");
  await app.waitFor(/demo: Config reloaded: greeting is now hello, every 2 s/);
  await app.signal("TERM");
  const result = await app.finished();
  assert.equal(result.code, 0);
  assert.match(result.stdout, /demo: Cleaning up after \d+ tick\(s\)\n.*Stopped demo\n$/);
});

Deno.test("README's daemon session runs as shown", async () => {
  await using dir = await tempDir();
  const config = blocks("yaml").find((b) => b.startsWith("# myapp.yml"))!;
  await writeFiles(dir.path, { "myapp.yml": config });
  const session = blocks("sh").find((b) => b.startsWith("flagstaff run -c myapp.yml --daemon"))!;
  let pid = "";
  for (const line of session.trimEnd().split("\n")) {
    const [command, comment] = line.split(/\s+# /);
    const result = await runCli(command.trim().split(/\s+/).slice(1), { cwd: dir.path });
    assert.equal(result.stderr, "", command);
    if (comment.startsWith("returns once ready")) {
      assert.deepEqual([result.code, result.stdout], [0, ""]);
      pid = (await Deno.readTextFile(`${dir.path}/myapp.pid`)).trim();
      continue;
    }
    // The comment shows the output, with pid 4242 standing for the real one.
    const expected = comment.replaceAll("/srv/myapp", dir.path).replaceAll("4242", pid)
      .replace("up 0s", "up \\d+s");
    assert.match(result.stdout, new RegExp(`^${expected.replace(/[()]/g, "\\$&")}\n$`), command);
    assert.equal(result.code, comment.startsWith("not running") ? 3 : 0, command);
    // Its action's line reaches the log file before the session goes on.
    if (command.includes("USR2")) {
      await fileMatching(
        `${dir.path}/myapp.log`,
        /INFO flagstaff\.action\.log: hello from the daemon$/m,
      );
    }
  }
});
