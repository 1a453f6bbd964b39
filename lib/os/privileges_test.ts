import assert from "node:assert/strict";
import { libc } from "./_libc.ts";
import { FlagstaffError } from "../core/errors.ts";
import { dropPrivileges } from "./privileges.ts";

// The C library stays open for the life of the process: open it before any
// test runs, or the resource sanitizer blames the first test that uses it.
const c = libc("run the privileges tests");
/** Switching users needs root: the tests that do are ignored, and say so in their names, without it. */
const NOT_ROOT = c.geteuid() !== 0;

const PRIVILEGES_TS = new URL("./privileges.ts", import.meta.url).href;

/** The `nobody` account and the name of its primary group, from the system's files. */
async function nobody(): Promise<{ uid: number; gid: number; group: string }> {
  const passwd = (await Deno.readTextFile("/etc/passwd")).split("\n").map((l) => l.split(":"));
  const user = passwd.find((fields) => fields[0] === "nobody");
  assert.ok(user, "this system has a nobody user");
  const uid = Number(user[2]);
  const gid = Number(user[3]);
  const groups = (await Deno.readTextFile("/etc/group")).split("\n").map((l) => l.split(":"));
  const group = groups.find((fields) => Number(fields[2]) === gid && fields[0] !== "");
  assert.ok(group, `this system names group ${gid}`);
  return { uid, gid, group: group[0] };
}

/**
 * The child: drops privileges as `Deno.args[0]` (JSON options) says, then, if
 * `Deno.args[1]` is given, asks for those options (JSON) too, and prints the
 * outcome. Then, so the parent can read its /proc entries first, it waits for
 * a line on stdin, tries to take root back (through its own FFI handle) and
 * prints whether that worked.
 */
const CHILD = `
import { dropPrivileges } from "${PRIVILEGES_TS}";
const outcome = {};
try {
  outcome.result = dropPrivileges(JSON.parse(Deno.args[0]));
  if (Deno.args[1]) outcome.second = dropPrivileges(JSON.parse(Deno.args[1]));
} catch (error) {
  outcome.error = { code: error.code, message: error.message };
}
console.log(JSON.stringify(outcome));
const stdin = Deno.stdin.readable.getReader();
await stdin.read();
const own = Deno.dlopen("libc.so.6", {
  setuid: { parameters: ["u32"], result: "i32" },
  seteuid: { parameters: ["u32"], result: "i32" },
  setgid: { parameters: ["u32"], result: "i32" },
});
console.log(JSON.stringify({
  setuid: own.symbols.setuid(0) === 0,
  seteuid: own.symbols.seteuid(0) === 0,
  setgid: own.symbols.setgid(0) === 0,
}));
own.close();
`;

interface ProcStatus {
  uid: string[];
  gid: string[];
  groups: string[];
  umask: string;
  taskUids: string[][];
  taskGids: string[][];
}

/** Reads /proc/PID/status and each thread's status (Deno needs --allow-all for /proc; cat does not). */
async function procStatus(pid: number): Promise<ProcStatus> {
  const script = `cat /proc/${pid}/status; for f in /proc/${pid}/task/*/status; do ` +
    `grep -E '^(Uid|Gid):' "$f" | sed 's/^/Task/'; done`;
  const output = await new Deno.Command("sh", { args: ["-c", script], stdout: "piped" }).output();
  assert.equal(output.code, 0);
  const lines = new TextDecoder().decode(output.stdout).split("\n");
  const field = (name: string) =>
    lines.filter((l) => l.startsWith(`${name}:`)).map((l) =>
      l.slice(name.length + 1).trim().split(/\s+/).filter(Boolean)
    );
  return {
    uid: field("Uid")[0],
    gid: field("Gid")[0],
    groups: field("Groups")[0] ?? [],
    umask: field("Umask")[0][0],
    taskUids: field("TaskUid"),
    taskGids: field("TaskGid"),
  };
}

/** This process's umask, which a child inherits. */
async function ownUmask(): Promise<number> {
  return parseInt((await procStatus(Deno.pid)).umask, 8);
}

/** Runs the child with `options`, returns its outcome and /proc view. */
async function dropInChild(
  options: object,
  second?: object,
  flags: string[] = ["--allow-ffi"],
): Promise<{ outcome: Record<string, unknown>; proc: ProcStatus; stderr: string }> {
  const dir = await Deno.makeTempDir({ prefix: "flagstaff-privileges-" });
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-config",
      ...flags,
      `${dir}/child.ts`,
      JSON.stringify(options),
      ...(second ? [JSON.stringify(second)] : []),
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    cwd: dir,
  });
  await Deno.writeTextFile(`${dir}/child.ts`, CHILD);
  const process = child.spawn();
  const stdin = process.stdin.getWriter();
  const stderr = new Response(process.stderr).text();
  const stdout = process.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const timer = setTimeout(() => process.kill("SIGKILL"), 20_000); // hard deadline
  try {
    let text = "";
    const line = async (): Promise<Record<string, unknown>> => {
      while (!text.includes("\n")) {
        const { value, done } = await stdout.read();
        if (done) throw new Error(`The child ended early; stderr: ${await stderr}`);
        text += value;
      }
      const end = text.indexOf("\n");
      const json = text.slice(0, end);
      text = text.slice(end + 1);
      return JSON.parse(json);
    };
    const outcome = await line();
    const proc = await procStatus(process.pid);
    await stdin.write(new TextEncoder().encode("go\n"));
    outcome.regained = await line();
    await stdin.close();
    assert.equal((await process.status).code, 0);
    return { outcome, proc, stderr: await stderr };
  } finally {
    clearTimeout(timer);
    try {
      process.kill("SIGKILL");
    } catch {
      // Already ended.
    }
    await process.status;
    await stdin.abort().catch(() => {});
    await stdout.cancel();
    await stderr;
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test({
  name: "dropPrivileges() switches every thread to the user and group, for good (needs root)",
  ignore: NOT_ROOT,
  async fn() {
    const { uid, gid, group } = await nobody();
    const { outcome, proc, stderr } = await dropInChild({ user: "nobody", group, umask: 0o027 });
    assert.equal(stderr, "");
    assert.deepEqual(outcome.result, { uid, gid, switched: true, previousUmask: await ownUmask() });
    assert.deepEqual(outcome.regained, { setuid: false, seteuid: false, setgid: false });
    assert.deepEqual(proc.uid, [uid, uid, uid, uid].map(String), "real, effective, saved, fs uid");
    assert.deepEqual(proc.gid, [gid, gid, gid, gid].map(String), "real, effective, saved, fs gid");
    assert.deepEqual(proc.groups, [String(gid)], "root's groups are gone");
    assert.equal(proc.umask, "0027");
    assert.ok(proc.taskUids.length >= 2, `Deno runs several threads: ${proc.taskUids.length}`);
    for (const taskUid of proc.taskUids) {
      assert.deepEqual(taskUid, [uid, uid, uid, uid].map(String));
    }
    for (const taskGid of proc.taskGids) {
      assert.deepEqual(taskGid, [gid, gid, gid, gid].map(String));
    }
  },
});

Deno.test({
  name: "dropPrivileges() takes numeric ids, and the user's primary group by default (needs root)",
  ignore: NOT_ROOT,
  async fn() {
    const { uid, gid } = await nobody();
    for (const options of [{ user: String(uid), group: String(gid) }, { user: "nobody" }]) {
      const { outcome, proc } = await dropInChild(options);
      assert.deepEqual(outcome.result, { uid, gid, switched: true }, JSON.stringify(options));
      assert.deepEqual(proc.uid, [uid, uid, uid, uid].map(String));
      assert.deepEqual(proc.gid, [gid, gid, gid, gid].map(String));
      assert.ok(!proc.groups.includes("0"), `${proc.groups}`);
    }
  },
});

Deno.test({
  name: "dropPrivileges() with a uid not in the user database needs a group (needs root)",
  ignore: NOT_ROOT,
  async fn() {
    const { gid } = await nobody();
    const { outcome, proc } = await dropInChild({ user: "54321", group: String(gid) });
    assert.deepEqual(outcome.result, { uid: 54321, gid, switched: true });
    assert.deepEqual(proc.groups, [String(gid)]);
    assert.throws(
      () => dropPrivileges({ user: "54321" }),
      new FlagstaffError(
        "usage",
        'Cannot switch to user "54321": uid 54321 has no entry in the user database, so a group is needed',
      ),
    );
  },
});

Deno.test({
  name: "dropPrivileges() with only a group keeps the user and drops root's groups (needs root)",
  ignore: NOT_ROOT,
  async fn() {
    const { gid, group } = await nobody();
    const { outcome, proc } = await dropInChild({ group });
    assert.deepEqual(outcome.result, { uid: 0, gid, switched: true });
    assert.deepEqual(proc.uid, ["0", "0", "0", "0"]);
    assert.deepEqual(proc.gid, [gid, gid, gid, gid].map(String));
    assert.deepEqual(proc.groups, [String(gid)]);
  },
});

Deno.test({
  name: "dropPrivileges() refuses to switch user when not root (needs root)",
  ignore: NOT_ROOT,
  async fn() {
    const { uid, gid, group } = await nobody();
    const { outcome } = await dropInChild({ user: "nobody", group }, { user: "root" });
    // Not being root is a privileges failure (exit 1, as the README's table says), not a usage one.
    assert.deepEqual(outcome.error, {
      code: "privileges",
      message: `Cannot switch to user "root": not running as root (uid ${uid})`,
    });
    const again = await dropInChild({ user: "nobody" }, { group: "root" });
    assert.deepEqual(again.outcome.error, {
      code: "privileges",
      message: `Cannot switch to group "root": not running as root (uid ${uid})`,
    });
    const same = await dropInChild({ user: "nobody" }, { user: "nobody", group, umask: 0o077 });
    assert.deepEqual(same.outcome.second, {
      uid,
      gid,
      switched: false,
      previousUmask: await ownUmask(),
    });
    assert.equal(same.proc.umask, "0077");
  },
});

Deno.test("dropPrivileges() names a user or group that does not exist, changing nothing", () => {
  const before = { uid: c.getuid(), gid: c.getgid(), egid: c.getegid() };
  assert.throws(
    () => dropPrivileges({ user: "no-such-user-flagstaff" }),
    new FlagstaffError("usage", 'Cannot switch to user "no-such-user-flagstaff": no such user'),
  );
  assert.throws(
    () => dropPrivileges({ user: "root", group: "no-such-group-flagstaff" }),
    new FlagstaffError("usage", 'Cannot switch to group "no-such-group-flagstaff": no such group'),
  );
  assert.throws(
    () => dropPrivileges({ umask: 0o1000 }),
    new FlagstaffError("usage", "Invalid umask 512: expected a number from 0 to 0o777"),
  );
  assert.throws(() => dropPrivileges({ umask: -1 }), /^FlagstaffError: Invalid umask -1/);
  assert.deepEqual({ uid: c.getuid(), gid: c.getgid(), egid: c.getegid() }, before);
});

Deno.test("dropPrivileges() asks for --allow-ffi when it is missing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "flagstaff-privileges-" });
  try {
    await Deno.writeTextFile(
      `${dir}/perm.ts`,
      `import { dropPrivileges } from "${PRIVILEGES_TS}";
      try { dropPrivileges({ user: "nobody" }); } catch (e) { console.log(e.code, e.message); }`,
    );
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-config", `${dir}/perm.ts`],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(
      new TextDecoder().decode(output.stdout),
      "permission Cannot switch user and group: run deno with --allow-ffi\n",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
