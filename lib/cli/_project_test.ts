import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { parseConfig } from "../config/config.ts";
import { FlagstaffError } from "../core/errors.ts";
import { PERMISSION_FLAGS } from "./permissions.ts";
import {
  checkProjectName,
  defaultFlagstaffUrl,
  newProject,
  PROJECT_NAME_PATTERN,
} from "./_project.ts";

const MOD_URL = new URL("../mod.ts", import.meta.url).href;
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const FILES = [
  ".gitignore",
  "README.md",
  "actions/hello.ts",
  "actions/hello_test.ts",
  "controller.ts",
  "deno.json",
  "deps.ts",
  "etc/app.initd",
  "etc/app.service",
  "etc/app.yml",
  "main.ts",
  "tests/controller_test.ts",
];

/** A temp folder, removed on dispose. */
async function tempDir(): Promise<AsyncDisposable & { path: string }> {
  const path = await Deno.makeTempDir({ prefix: "flagstaff_scaffold_" });
  return {
    path,
    async [Symbol.asyncDispose]() {
      await Deno.remove(path, { recursive: true });
    },
  };
}

/** Every file under `dir`, relative, sorted, with `/` separators. */
async function listFiles(dir: string, prefix = ""): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of Deno.readDir(`${dir}/${prefix}`)) {
    const path = `${prefix}${entry.name}`;
    if (entry.isDirectory) found.push(...await listFiles(dir, `${path}/`));
    else found.push(path);
  }
  return found.sort();
}

/** The names in `dir` (files and folders), sorted: staging folders left behind show here. */
async function entries(dir: string): Promise<string[]> {
  return (await Array.fromAsync(Deno.readDir(dir))).map((entry) => entry.name).sort();
}

/** Runs `fn`, which must throw a FlagstaffError; returns it. */
async function rejects(fn: () => Promise<unknown>): Promise<FlagstaffError> {
  try {
    await fn();
  } catch (error) {
    assert.ok(error instanceof FlagstaffError, `expected a FlagstaffError, got ${error}`);
    return error;
  }
  assert.fail("expected it to throw");
}

Deno.test("checkProjectName() accepts names usable as file, package and unit names", () => {
  for (const name of ["a", "app", "my-app", "my_app", "app2", "a-1_b", `a${"b".repeat(62)}`]) {
    checkProjectName(name);
    assert.match(name, PROJECT_NAME_PATTERN);
  }
});

Deno.test("checkProjectName() says which rule a name breaks", () => {
  const table: [string, string][] = [
    ["", "it is empty"],
    ["MyApp", 'it must start with a lowercase letter (a-z), not "M"'],
    ["1app", 'it must start with a lowercase letter (a-z), not "1"'],
    ["-app", 'it must start with a lowercase letter (a-z), not "-"'],
    ["_app", 'it must start with a lowercase letter (a-z), not "_"'],
    ["my app", 'it may contain only lowercase letters, digits, "_" and "-", not " "'],
    ["my.app", 'it may contain only lowercase letters, digits, "_" and "-", not "."'],
    ["app@1", 'it may contain only lowercase letters, digits, "_" and "-", not "@"'],
    ["a/b", 'it may contain only lowercase letters, digits, "_" and "-", not "/"'],
    ["appÄ", 'it may contain only lowercase letters, digits, "_" and "-", not "Ä"'],
    ["my-App", 'it may contain only lowercase letters, digits, "_" and "-", not "A"'],
    [`a${"b".repeat(63)}`, "it has 64 characters, at most 63 are allowed"],
  ];
  for (const [name, reason] of table) {
    let error: unknown;
    try {
      checkProjectName(name);
    } catch (caught) {
      error = caught;
    }
    assert.ok(error instanceof FlagstaffError, `"${name}" is refused`);
    assert.equal(error.code, "usage");
    assert.equal(error.exitCode, 2);
    assert.equal(
      error.message,
      `Invalid project name ${JSON.stringify(name)}: ${reason} ` +
        "(it names the executable, the config file and the systemd unit)",
    );
  }
});

Deno.test("newProject() refuses an invalid name and writes nothing", async () => {
  await using dir = await tempDir();
  const error = await rejects(() => newProject("My App", { dir: `${dir.path}/x` }));
  assert.match(error.message, /^Invalid project name "My App": /);
  assert.deepEqual(await listFiles(dir.path), []);
});

Deno.test("newProject() writes every file, importing flagstaff from the URL given", async () => {
  await using dir = await tempDir();
  const flagstaff = "https://flagstaff.example/v9/lib/mod.ts";
  const project = await newProject("app", { dir: `${dir.path}/app`, flagstaff });
  assert.equal(project.dir, `${dir.path}/app`);
  assert.deepEqual([...project.files].sort(), FILES);
  assert.deepEqual(await listFiles(project.dir), FILES);
  const importsOf = async (file: string) =>
    [...(await Deno.readTextFile(`${project.dir}/${file}`)).matchAll(/from "([^"]+)"/g)]
      .map((m) => m[1]);
  // deps.ts names flagstaff by its full URL; the other files import deps.ts, never flagstaff.
  assert.deepEqual(new Set(await importsOf("deps.ts")), new Set([flagstaff]));
  const local = /^(\.\/|\.\.\/|node:)/;
  for (const file of FILES.filter((f) => f.endsWith(".ts") && f !== "deps.ts")) {
    const imports = await importsOf(file);
    assert.ok(imports.every((i) => local.test(i)), `${file} imports ${imports}`);
  }
  assert.ok((await importsOf("main.ts")).includes("./deps.ts"));
  assert.ok((await importsOf("actions/hello.ts")).includes("../deps.ts"));
  if (Deno.build.os !== "windows") {
    assert.equal((await Deno.stat(`${project.dir}/etc/app.initd`)).mode! & 0o777, 0o755);
  }
  // Only what was written: no staging folder is left beside it.
  assert.deepEqual(await entries(dir.path), ["app"]);
});

Deno.test("newProject() gives deno.json tasks with flagstaff's permission flags", async () => {
  await using dir = await tempDir();
  const project = await newProject("app", { dir: `${dir.path}/app` });
  const config = JSON.parse(await Deno.readTextFile(`${project.dir}/deno.json`));
  const flags = PERMISSION_FLAGS.join(" ");
  assert.equal(config.tasks.start.command, `deno run ${flags} main.ts -c etc/app.yml -f`);
  assert.equal(config.tasks.dev.command, `deno run --watch ${flags} main.ts -c etc/app.yml -f`);
  assert.equal(
    config.tasks.compile.command,
    `deno compile ${flags} --include actions --output dist/app main.ts`,
  );
  for (const task of ["dev", "start", "test", "check", "compile"]) {
    assert.ok(config.tasks[task].description, `task "${task}" has a description`);
  }
});

Deno.test("newProject() imports this checkout's lib/mod.ts by default", async () => {
  await using dir = await tempDir();
  assert.equal(defaultFlagstaffUrl(), MOD_URL);
  const project = await newProject("app", { dir: `${dir.path}/app` });
  assert.match(await Deno.readTextFile(`${project.dir}/deps.ts`), new RegExp(`from "${MOD_URL}"`));
});

Deno.test("newProject() takes flagstaff as a path to lib/mod.ts or to a checkout", async () => {
  await using dir = await tempDir();
  for (const [flagstaff, i] of [[`${ROOT}lib/mod.ts`, 1], [ROOT, 2]] as const) {
    const project = await newProject("app", { dir: `${dir.path}/app${i}`, flagstaff });
    assert.match(await Deno.readTextFile(`${project.dir}/deps.ts`), new RegExp(`"${MOD_URL}"`));
  }
  const missing = await rejects(() =>
    newProject("app", { dir: `${dir.path}/app3`, flagstaff: `${dir.path}/nope/mod.ts` })
  );
  assert.equal(missing.message, `Cannot find flagstaff's lib/mod.ts at "${dir.path}/nope/mod.ts"`);
  const notCheckout = await rejects(() =>
    newProject("app", { dir: `${dir.path}/app4`, flagstaff: `${ROOT}tests` })
  );
  assert.equal(
    notCheckout.message,
    `Cannot find flagstaff's lib/mod.ts in the folder "${ROOT}tests"`,
  );
  const scheme = await rejects(() =>
    newProject("app", { dir: `${dir.path}/app5`, flagstaff: "ftp://x/lib/mod.ts" })
  );
  assert.equal(
    scheme.message,
    '--flagstaff takes a file:, http: or https: URL or a path, got "ftp://x/lib/mod.ts"',
  );
  assert.deepEqual(
    (await listFiles(dir.path)).filter((f) => !/^app[12]\//.test(f)),
    [],
    "the failed calls wrote nothing",
  );
});

Deno.test("newProject() writes into ./NAME by default", async () => {
  await using dir = await tempDir();
  const cwd = Deno.cwd();
  Deno.chdir(dir.path);
  try {
    const project = await newProject("app");
    assert.equal(await Deno.realPath(project.dir), await Deno.realPath(`${dir.path}/app`));
  } finally {
    Deno.chdir(cwd);
  }
});

Deno.test("newProject() refuses a folder that is not empty, and touches nothing", async () => {
  await using dir = await tempDir();
  const target = `${dir.path}/app`;
  await Deno.mkdir(target);
  await Deno.writeTextFile(`${target}/main.ts`, "mine\n");
  const error = await rejects(() => newProject("app", { dir: target }));
  assert.equal(error.code, "usage");
  assert.equal(error.message, `Target folder "${target}" is not empty (use --force)`);
  assert.deepEqual(await listFiles(dir.path), ["app/main.ts"]);
  assert.equal(await Deno.readTextFile(`${target}/main.ts`), "mine\n");
});

Deno.test("newProject() uses an empty folder without force", async () => {
  await using dir = await tempDir();
  await Deno.mkdir(`${dir.path}/app`);
  const project = await newProject("app", { dir: `${dir.path}/app` });
  assert.deepEqual(await listFiles(project.dir), FILES);
  assert.deepEqual(await entries(dir.path), ["app"]);
});

Deno.test("newProject() writes into an existing folder, never replacing the folder", {
  ignore: Deno.build.os === "windows",
}, async () => {
  await using dir = await tempDir();
  const target = `${dir.path}/app`;
  await Deno.mkdir(target);
  const before = (await Deno.stat(target)).ino;
  await newProject("app", { dir: target });
  // A shell whose working directory it is still sees the project.
  assert.equal((await Deno.stat(target)).ino, before);
  await newProject("app", { dir: target, force: true });
  assert.equal((await Deno.stat(target)).ino, before);
  assert.deepEqual(await listFiles(target), FILES);
});

Deno.test("newProject() with force replaces its files and keeps the others", async () => {
  await using dir = await tempDir();
  const target = `${dir.path}/app`;
  await Deno.mkdir(`${target}/etc`, { recursive: true });
  await Deno.writeTextFile(`${target}/main.ts`, "old\n");
  await Deno.writeTextFile(`${target}/notes.txt`, "keep\n");
  await Deno.writeTextFile(`${target}/etc/other.yml`, "keep: 1\n");
  const project = await newProject("app", { dir: target, force: true });
  assert.deepEqual(await listFiles(project.dir), [...FILES, "etc/other.yml", "notes.txt"].sort());
  assert.match(await Deno.readTextFile(`${target}/main.ts`), /start\(/);
  assert.equal(await Deno.readTextFile(`${target}/notes.txt`), "keep\n");
  assert.equal(await Deno.readTextFile(`${target}/etc/other.yml`), "keep: 1\n");
  assert.deepEqual(await entries(dir.path), ["app"], "no staging folder is left");
});

Deno.test("newProject() with force refuses a folder in a file's way, before writing", async () => {
  await using dir = await tempDir();
  const target = `${dir.path}/app`;
  await Deno.mkdir(`${target}/controller.ts`, { recursive: true });
  await Deno.writeTextFile(`${target}/main.ts`, "old\n");
  const error = await rejects(() => newProject("app", { dir: target, force: true }));
  assert.equal(
    error.message,
    `Cannot write "controller.ts" into "${target}": "controller.ts" is a folder`,
  );
  await Deno.writeTextFile(`${target}/actions`, "a file\n");
  await Deno.remove(`${target}/controller.ts`);
  const error2 = await rejects(() => newProject("app", { dir: target, force: true }));
  assert.equal(
    error2.message,
    `Cannot write "actions/hello.ts" into "${target}": "actions" is not a folder`,
  );
  assert.deepEqual(await listFiles(dir.path), ["app/actions", "app/main.ts"]);
  assert.equal(await Deno.readTextFile(`${target}/main.ts`), "old\n");
});

/**
 * Runs `code` in `deno eval`, which has every permission: Deno lets only
 * `--allow-all` touch `/dev`, and these tests run with the scoped flags.
 * Returns what it printed, parsed as JSON.
 */
async function evalWithAllAccess(code: string): Promise<unknown> {
  const { code: exit, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-config", code],
    env: { NO_COLOR: "1" },
  }).output();
  const text = new TextDecoder();
  assert.equal(exit, 0, text.decode(stderr));
  return JSON.parse(text.decode(stdout));
}

/** Whether /dev/shm (tmpfs) is on another file system than the temp folder. */
const SHM_ELSEWHERE = Deno.build.os === "linux" && await evalWithAllAccess(`
  const dev = (path) => { try { return Deno.statSync(path).dev; } catch { return null; } };
  const tmp = Deno.makeTempDirSync();
  console.log(JSON.stringify(dev("/dev/shm") !== null && dev("/dev/shm") !== dev(tmp)));
  Deno.removeSync(tmp);
`) === true;

Deno.test({
  name: "newProject() with force undoes its moves when one fails, leaving the folder as it was",
  // A move into a folder that is a symlink to another file system fails (EXDEV), even for root.
  ignore: !SHM_ELSEWHERE,
  async fn() {
    await using dir = await tempDir();
    const target = `${dir.path}/app`;
    await Deno.mkdir(target);
    await Deno.writeTextFile(`${target}/main.ts`, "old\n");
    await Deno.writeTextFile(`${target}/notes.txt`, "keep\n");
    const scaffold = new URL("./_project.ts", import.meta.url).href;
    const outcome = await evalWithAllAccess(`
      import { newProject } from ${JSON.stringify(scaffold)};
      const target = ${JSON.stringify(target)};
      const elsewhere = Deno.makeTempDirSync({ dir: "/dev/shm", prefix: "flagstaff_" });
      Deno.symlinkSync(elsewhere, target + "/etc");
      let message = "no error";
      try {
        await newProject("app", { dir: target, force: true });
      } catch (error) {
        message = error.message;
      }
      const left = [...Deno.readDirSync(elsewhere)].map((entry) => entry.name);
      Deno.removeSync(elsewhere, { recursive: true });
      console.log(JSON.stringify({ message, left }));
    `) as { message: string; left: string[] };
    assert.match(outcome.message, new RegExp(`^Cannot write project "app" to "${target}": `));
    assert.deepEqual(outcome.left, [], "nothing is left on the other file system");
    assert.deepEqual(await entries(target), ["etc", "main.ts", "notes.txt"]);
    assert.equal(await Deno.readTextFile(`${target}/main.ts`), "old\n");
  },
});

Deno.test("newProject() refuses a target that is a file", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/app`, "x");
  const error = await rejects(() => newProject("app", { dir: `${dir.path}/app`, force: true }));
  assert.equal(error.message, `Target "${dir.path}/app" is not a folder`);
  assert.deepEqual(await listFiles(dir.path), ["app"]);
});

Deno.test("newProject() writes nothing when the target's parent is a file (even as root)", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/file`, "x");
  const error = await rejects(() => newProject("app", { dir: `${dir.path}/file/sub/app` }));
  assert.equal(error.code, "usage");
  assert.match(
    error.message,
    new RegExp(`^Cannot write project "app" to "${dir.path}/file/sub/app": `),
  );
  assert.ok(error.cause instanceof Error, "the OS error is the cause");
  assert.deepEqual(await listFiles(dir.path), ["file"]);
});

Deno.test("newProject() creates missing parent folders", async () => {
  await using dir = await tempDir();
  const project = await newProject("app", { dir: `${dir.path}/a/b/app` });
  assert.deepEqual(await listFiles(project.dir), FILES);
});

Deno.test({
  name: "newProject() removes what it wrote when a write fails half-way (even as root)",
  // Linux's PATH_MAX: a path of 4096 bytes or more fails with ENAMETOOLONG, whoever runs it.
  ignore: Deno.build.os !== "linux",
  async fn() {
    await using dir = await tempDir();
    // The staging folder `<parent>/.p.new-XXXXXXXX` is 16 bytes longer than `<parent>`. At 4078
    // bytes, "deno.json" and "actions/hello.ts" fit under 4096, "actions/hello_test.ts" does not.
    const parentLength = 4078 - 16;
    let existing = dir.path;
    // Folders of 200 bytes until the last one can take up the rest (1 to 255 bytes).
    while (existing.length < parentLength - 457) existing += `/${"d".repeat(200)}`;
    await Deno.mkdir(existing, { recursive: true });
    // The last two folders do not exist yet: newProject() creates them, and must remove them.
    let parent = `${existing}/${"m".repeat(200)}`;
    const firstMissing = parent;
    parent += `/${"n".repeat(parentLength - parent.length - 1)}`;
    assert.equal(parent.length, parentLength);
    const error = await rejects(() => newProject("p", { dir: `${parent}/p` }));
    assert.match(
      error.message,
      /^Cannot write project "p" to ".*": writing "actions\/hello_test\.ts": /,
    );
    assert.equal(error.code, "usage");
    await assert.rejects(() => Deno.stat(firstMissing), Deno.errors.NotFound);
    assert.deepEqual([...Deno.readDirSync(existing)], []);
  },
});

Deno.test("the config has every key, and stays valid with every #key line switched on", async () => {
  await using dir = await tempDir();
  const project = await newProject("no", { dir: `${dir.path}/no` });
  const text = await Deno.readTextFile(`${project.dir}/etc/no.yml`);
  const config = await parseConfig(text, `${project.dir}/etc/no.yml`);
  assert.equal(config.application.wake_interval, 10);
  assert.deepEqual(config.signals.SIGUSR2?.map((use) => [use.name, use.args, use.timeout]), [[
    "hello",
    ["world"],
    5,
  ]]);
  assert.deepEqual(Object.keys(config.logging?.loggers ?? {}), ["helper", "no"]);
  const switchedOn = text.replace(/^(\s*)#(?=[a-z0-9_]+:)/gm, "$1");
  assert.notEqual(switchedOn, text);
  const full = await parseConfig(switchedOn, "all.yml");
  assert.deepEqual(Object.keys(full.daemon).sort(), [
    "detach",
    "group",
    "pidfile",
    "prevent_core",
    "state_dir",
    "stop_timeout",
    "umask",
    "user",
  ]);
  assert.equal(full.daemon.umask, 0o027);
  assert.equal(full.application.controller, "../controller.ts");
  assert.deepEqual(Object.keys(full.signals).sort(), ["SIGHUP", "SIGUSR1", "SIGUSR2"]);
  assert.deepEqual(full.actions, {}, "action names are the user's own: none to switch on");
  // The commented-out Schedules example is valid as it stands.
  const scheduled = text.replace("Schedules: []\n#  -", "Schedules:\n  -").replace(
    /^# {2}/gm,
    "  ",
  );
  const example = (await parseConfig(scheduled, "s.yml")).schedules;
  assert.deepEqual(example.map((s) => [s.name, s.cron, s.jitterMs, s.catchUp, s.run?.[0].name]), [
    ["hourly-hello", "@hourly", 300_000, true, "hello"],
  ]);
  const logging = full.logging!;
  assert.deepEqual(Object.keys(logging).sort(), [
    "disable_existing_loggers",
    "filters",
    "formatters",
    "handlers",
    "incremental",
    "loggers",
    "root",
    "version",
  ]);
});

Deno.test("the init script is valid POSIX sh", {
  ignore: Deno.build.os === "windows",
}, async () => {
  await using dir = await tempDir();
  const project = await newProject("app", { dir: `${dir.path}/app` });
  const { code, stderr } = await new Deno.Command("sh", {
    args: ["-n", `${project.dir}/etc/app.initd`],
  }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
});
