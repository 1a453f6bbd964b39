/**
 * As root, flagstaff imports a local module (controller, action of an actions
 * folder, `Actions:` path) only when no other user can change it or the path
 * to it. Real attacks: the user `nobody` (through `setpriv`) plants modules in
 * a folder it owns or in a world-writable sticky folder like /tmp; root runs
 * the real CLI there. The planted module's top-level code writes a marker
 * into a folder only root can write: if the marker appears, root ran it.
 */
import assert from "node:assert/strict";
import { type Finished, runCli, tempDir, writeFiles } from "./_helpers.ts";
import { PERMISSION_FLAGS } from "../lib/cli/permissions.ts";

const IS_ROOT = Deno.uid() === 0;
const NOBODY_UID = 65534;
const RULE =
  "(as root, flagstaff loads code only from files and folders that only root can change)";

/** Runs `sh -c script` as nobody, as the attacker would. */
async function asNobody(script: string): Promise<void> {
  const result = await new Deno.Command("setpriv", {
    args: ["--reuid=nobody", "--regid=nogroup", "--clear-groups", "sh", "-c", script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(result.code, 0, new TextDecoder().decode(result.stderr));
}

/** A module that is both an action and a controller, whose top-level code writes `marker`. */
function markerModule(marker: string): string {
  return `Deno.writeTextFileSync(${JSON.stringify(marker)}, "ran");
export default class Planted {
  static description = "planted";
  run() {}
  process() {}
}
`;
}

/** Writes `text` to `path` as nobody (a file nobody owns, mode 0644). */
async function plantAsNobody(path: string, text: string): Promise<void> {
  await asNobody(`cat > '${path}' <<'EOF'\n${text}EOF\n`);
}

/**
 * The attack's stage: `work`, a folder another user controls (`sticky`: root's, mode 1777 like
 * /tmp; `owned`: nobody's, 0755), and `marker`, a path in a folder only root can write.
 */
interface Stage extends AsyncDisposable {
  readonly work: string;
  readonly marker: string;
}

async function stage(kind: "sticky" | "owned"): Promise<Stage> {
  const work = await tempDir();
  const safe = await tempDir(); // root's, 0700: only root can create the marker
  if (kind === "sticky") {
    await Deno.chmod(work.path, 0o1777);
  } else {
    await Deno.chmod(work.path, 0o755);
    await Deno.chown(work.path, NOBODY_UID, NOBODY_UID);
  }
  return {
    work: work.path,
    marker: `${safe.path}/marker`,
    async [Symbol.asyncDispose]() {
      await work[Symbol.asyncDispose]();
      await safe[Symbol.asyncDispose]();
    },
  };
}

async function exists(path: string): Promise<boolean> {
  return await Deno.lstat(path).then(() => true, () => false);
}

/** Asserts a refusal: exit 2, exactly `messages` on stderr, and the marker never written. */
async function assertRefused(
  result: Finished,
  messages: string[],
  marker: string,
  what: string,
): Promise<void> {
  assert.ok(!(await exists(marker)), `${what}: the planted module ran as root`);
  assert.equal(
    result.stderr,
    messages.map((message) => `error: ${message} ${RULE}\n`).join(""),
    what,
  );
  assert.equal(result.code, 2, what);
}

for (const kind of ["sticky", "owned"] as const) {
  Deno.test({
    name:
      `as root in a folder nobody can write (${kind}), list, check and run refuse nobody's actions/ folder whole`,
    ignore: !IS_ROOT,
    async fn() {
      await using s = await stage(kind);
      await asNobody(`mkdir '${s.work}/actions'`);
      await plantAsNobody(`${s.work}/actions/evil.ts`, markerModule(s.marker));
      for (const args of [["list"], ["check"], ["run", "--usr1", "evil"]]) {
        const result = await runCli(args, { cwd: s.work });
        await assertRefused(
          result,
          [
            `Refusing actions folder "${s.work}/actions" as root: ${
              kind === "owned" ? `its folder "${s.work}"` : "it"
            } belongs to uid 65534`,
          ],
          s.marker,
          args.join(" "),
        );
      }
    },
  });
}

Deno.test({
  name:
    "as root, a module nobody planted in root's sticky actions folder is refused by list, check and run",
  ignore: !IS_ROOT,
  async fn() {
    await using s = await stage("sticky");
    await Deno.mkdir(`${s.work}/actions`);
    await Deno.chmod(`${s.work}/actions`, 0o1777);
    await plantAsNobody(`${s.work}/actions/evil.ts`, markerModule(s.marker));
    for (const args of [["list"], ["check"], ["run", "--usr1", "evil"]]) {
      const result = await runCli(args, { cwd: s.work });
      await assertRefused(
        result,
        [`Refusing to load "${s.work}/actions/evil.ts" as root: it belongs to uid 65534`],
        s.marker,
        args.join(" "),
      );
    }
  },
});

for (const kind of ["sticky", "owned"] as const) {
  Deno.test({
    name:
      `as root, Actions: {e: ./evil.ts}, controller: ./evil.ts and --controller naming nobody's module (${kind}) are refused`,
    ignore: !IS_ROOT,
    async fn() {
      await using s = await stage(kind);
      await plantAsNobody(`${s.work}/evil.ts`, markerModule(s.marker));
      // Root's configs (a config nobody can change is refused before anything it names).
      const safe = s.marker.slice(0, s.marker.lastIndexOf("/"));
      await Deno.writeTextFile(`${safe}/actions.yml`, `Actions:\n  e: ${s.work}/evil.ts\n`);
      await Deno.writeTextFile(
        `${safe}/controller.yml`,
        `Application:\n  controller: ${s.work}/evil.ts\n`,
      );
      // The first step of the path from / that nobody can change is named.
      const refusal = `Refusing to load "${s.work}/evil.ts" as root: ${
        kind === "owned" ? `its folder "${s.work}"` : "it"
      } belongs to uid 65534`;
      const cases = [
        ["list", "-c", `${safe}/actions.yml`],
        ["check", "-c", `${safe}/actions.yml`, "--usr1", "e"],
        ["run", "-c", `${safe}/actions.yml`, "--usr1", "e"],
        ["check", "-c", `${safe}/controller.yml`],
        ["run", "-c", `${safe}/controller.yml`],
        ["check", "--controller", `${s.work}/evil.ts`],
        ["run", "--controller", `${s.work}/evil.ts`],
      ];
      for (const args of cases) {
        // From the repository: the working directory is root's.
        const result = await runCli(args);
        await assertRefused(result, [refusal], s.marker, args.join(" "));
      }
    },
  });
}

Deno.test({
  name:
    "as root, root's own module is refused when another user can change it or the path to it; each refusal says why",
  ignore: !IS_ROOT,
  async fn() {
    await using owned = await stage("owned");
    await using sticky = await stage("sticky");
    await using mine = await tempDir(); // root's, 0700
    const marker = owned.marker;
    const source = markerModule(marker);
    // Root's file in nobody's folder: nobody can rename it away and put its own there.
    await writeFiles(owned.work, { "c.ts": source });
    // Root's folder in nobody's folder: nobody can swap the whole folder.
    await Deno.mkdir(`${owned.work}/sub`);
    await writeFiles(`${owned.work}/sub`, { "c.ts": source });
    // Root's files that group or others may write, or in such a folder without the sticky bit.
    await writeFiles(mine.path, { "open.ts": source, "open/c.ts": source });
    await Deno.chmod(`${mine.path}/open.ts`, 0o666);
    await Deno.chmod(`${mine.path}/open`, 0o777);
    await writeFiles(mine.path, { "group.ts": source });
    await Deno.chmod(`${mine.path}/group.ts`, 0o664);
    // Root's link to nobody's module; nobody's link (in a sticky folder) to root's module.
    await plantAsNobody(`${sticky.work}/evil.ts`, markerModule(sticky.marker));
    await Deno.symlink(`${sticky.work}/evil.ts`, `${mine.path}/link.ts`);
    await writeFiles(mine.path, { "good.ts": source });
    await asNobody(`ln -s '${mine.path}/good.ts' '${sticky.work}/nobodys_link.ts'`);
    // A link through a folder nobody owns: root's link, root's file, nobody's folder between.
    await Deno.symlink(`${owned.work}/sub`, `${mine.path}/via`);
    const cases: [string, string][] = [
      [`${owned.work}/c.ts`, `its folder "${owned.work}" belongs to uid 65534`],
      [`${owned.work}/sub/c.ts`, `the folder "${owned.work}" on its path belongs to uid 65534`],
      [`${mine.path}/open.ts`, "it is writable by group or others (mode 0666)"],
      [`${mine.path}/group.ts`, "it is writable by group or others (mode 0664)"],
      [
        `${mine.path}/open/c.ts`,
        `its folder "${mine.path}/open" is writable by group or others (mode 0777) without the sticky bit`,
      ],
      [`${mine.path}/link.ts`, `its target "${sticky.work}/evil.ts" belongs to uid 65534`],
      [`${sticky.work}/nobodys_link.ts`, "it (a symbolic link) belongs to uid 65534"],
      [`${mine.path}/via/c.ts`, `the folder "${owned.work}" on its path belongs to uid 65534`],
      [
        `${sticky.work}/missing.ts`,
        `it does not exist, and another user could create it in the folder "${sticky.work}"`,
      ],
    ];
    for (const [path, why] of cases) {
      const result = await runCli(["check", "--controller", path]);
      await assertRefused(result, [`Refusing to load "${path}" as root: ${why}`], marker, path);
      assert.ok(!(await exists(sticky.marker)), path);
    }
  },
});

Deno.test({
  name:
    "as root, root's own modules in root's folders load: actions folder, Actions:, controller, a root link, a root file in a sticky folder",
  ignore: !IS_ROOT,
  async fn() {
    await using mine = await tempDir(); // root's, 0700, in /tmp
    await using sticky = await stage("sticky");
    const marker = `${mine.path}/marker`;
    await writeFiles(mine.path, {
      "actions/good.ts": markerModule(marker),
      "ctl.ts": markerModule(marker),
      "app.yml":
        `Application:\n  controller: ./ctl.ts\nActions:\n  e: ./linked.ts\n  s: ${sticky.work}/root.ts\n`,
    });
    await Deno.symlink(`${mine.path}/ctl.ts`, `${mine.path}/linked.ts`);
    await writeFiles(sticky.work, { "root.ts": markerModule(marker) });
    // Whatever the umask: what root's files and folders must be.
    await Deno.chmod(`${mine.path}/actions`, 0o755);
    for (const file of ["actions/good.ts", "ctl.ts", "app.yml"]) {
      await Deno.chmod(`${mine.path}/${file}`, 0o644);
    }
    await Deno.chmod(`${sticky.work}/root.ts`, 0o644);
    const list = await runCli(["list", "-c", `${mine.path}/app.yml`]);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^e +planted/m);
    assert.match(list.stdout, /^good +planted/m);
    assert.match(list.stdout, /^s +planted/m);
    assert.equal((await Deno.lstat(marker)).uid, 0);
    await Deno.remove(marker);
    const check = await runCli(["check", "-c", `${mine.path}/app.yml`, "--usr1", "e"]);
    assert.equal(check.code, 0, check.stderr);
    assert.ok(await exists(marker));
  },
});

Deno.test({
  name:
    "as root with Daemon.user: nobody, list -c drops first: nobody's module loads, as nobody (the rule is for root proper)",
  ignore: !IS_ROOT,
  async fn() {
    await using s = await stage("owned");
    const marker = `${s.work}/marker`;
    await plantAsNobody(`${s.work}/evil.ts`, markerModule(marker));
    // Root's config, in a folder nobody may read (after the drop, nothing reads it again here).
    const safe = s.marker.slice(0, s.marker.lastIndexOf("/"));
    await Deno.chmod(safe, 0o755);
    await Deno.writeTextFile(
      `${safe}/app.yml`,
      `Daemon:\n  user: nobody\nActions:\n  e: ${s.work}/evil.ts\n`,
    );
    // The default DENO_DIR, under HOME=/root (mode 0700): nobody neither reads nor writes it.
    const result = await runCli(["list", "-c", `${safe}/app.yml`], { env: { HOME: "/root" } });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^e +planted/m);
    assert.equal((await Deno.lstat(marker)).uid, NOBODY_UID);
  },
});

Deno.test("without --allow-ffi, a local module is refused: flagstaff cannot tell whether it runs as root (exit 2)", async () => {
  await using dir = await tempDir();
  const marker = `${dir.path}/marker`;
  await writeFiles(dir.path, { "c.ts": markerModule(marker) });
  const result = await runCli(["check", "--controller", `${dir.path}/c.ts`], {
    permissions: PERMISSION_FLAGS.filter((flag) => flag !== "--allow-ffi"),
  });
  assert.equal(
    result.stderr,
    "error: Cannot tell whether flagstaff runs as root before loading code: run deno with --allow-ffi\n",
  );
  assert.equal(result.code, 2);
  assert.ok(!(await exists(marker)));
});

Deno.test({
  name: "as root, a config file another user can change is refused: it chooses the code",
  ignore: !IS_ROOT,
  async fn() {
    await using dir = await tempDir();
    await Deno.chmod(dir.path, 0o755);
    await writeFiles(dir.path, { "app.yml": "Signals:\n  usr1: [{print: x}]\n" });
    await new Deno.Command("chown", { args: ["nobody", `${dir.path}/app.yml`] }).output();
    for (const command of ["check", "run", "list"]) {
      const result = await runCli([command, "-c", `${dir.path}/app.yml`]);
      assert.equal(result.code, 2, `${command}: ${result.stderr}`);
      assert.match(
        result.stderr,
        new RegExp(
          `^error: Refusing config "${dir.path}/app\\.yml" as root: it belongs to uid 65534`,
        ),
        command,
      );
    }
  },
});

Deno.test({
  name:
    "started as root with Daemon.user, code another user can change is refused after the drop too",
  ignore: !IS_ROOT,
  async fn() {
    await using dir = await tempDir();
    await Deno.chmod(dir.path, 0o755); // the daemon's user may look inside
    const id = await new Deno.Command("id", { args: ["-u", "www-data"] }).output();
    assert.equal(id.code, 0, "the test needs a www-data user beside nobody");
    const www = Number(new TextDecoder().decode(id.stdout).trim());
    for (const [folder, owner] of [["nob", NOBODY_UID], ["own", www]] as const) {
      await Deno.mkdir(`${dir.path}/${folder}`, { mode: 0o755 });
      await Deno.writeTextFile(
        `${dir.path}/${folder}/c.ts`,
        'console.log("PLANTED ran");\nexport default class C {\n  process() {}\n}\n',
      );
      await Deno.chown(`${dir.path}/${folder}/c.ts`, owner, owner);
      await Deno.chown(`${dir.path}/${folder}`, owner, owner);
    }
    await writeFiles(dir.path, {
      "nob.yml": `Daemon:\n  user: www-data\nApplication:\n  controller: ${dir.path}/nob/c.ts\n`,
      "own.yml": `Daemon:\n  user: www-data\nApplication:\n  controller: ${dir.path}/own/c.ts\n`,
    });
    // nobody's module would run as www-data (its files, its log folder): refused.
    const refused = await runCli(["check", "-c", `${dir.path}/nob.yml`]);
    assert.equal(refused.code, 2);
    assert.doesNotMatch(refused.stdout, /PLANTED/);
    assert.equal(
      refused.stderr,
      `error: Refusing to load "${dir.path}/nob/c.ts" as uid ${www} (Daemon.user, started as root): ` +
        `its folder "${dir.path}/nob" belongs to uid ${NOBODY_UID} (started as root, flagstaff loads ` +
        `code only from files and ` +
        `folders that only root and Daemon.user can change)\n`,
    );
    // The daemon's own user's module is its own code: it loads.
    const own = await runCli(["check", "-c", `${dir.path}/own.yml`]);
    assert.equal(own.code, 0, own.stderr);
    assert.match(own.stdout, /^PLANTED ran$/m);
  },
});
