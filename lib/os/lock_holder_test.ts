import assert from "node:assert/strict";
import { fstatFd } from "./file_stat.ts";
import { tryFlock } from "./flock.ts";
import { checkLockHolder } from "./lock_holder.ts";
import { closeFd, O_RDONLY, openNoFollow } from "./safe_file.ts";
import { libc } from "./_libc.ts";

libc("test"); // opened once for the file, not blamed on the first test

const comm = Deno.readTextFileSync("/proc/self/comm").trimEnd();

Deno.test("checkLockHolder() says holds only for a descriptor of the process's own that holds the exclusive lock", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/f`, "");
    const plain = openNoFollow(`${dir}/f`, O_RDONLY);
    const stat = fstatFd(plain);
    const none = {
      kind: "not_held",
      found: `pid ${Deno.pid} (${
        JSON.stringify(comm)
      }) runs, but none of its open files holds the lock`,
    };
    assert.deepEqual(checkLockHolder(Deno.pid, stat), none);
    assert.equal(tryFlock(plain, false), true);
    assert.deepEqual(checkLockHolder(Deno.pid, stat), none, "a shared lock is not the lock");
    closeFd(plain);
    const locked = openNoFollow(`${dir}/f`, O_RDONLY);
    assert.equal(tryFlock(locked, true), true);
    assert.deepEqual(checkLockHolder(Deno.pid, stat), { kind: "holds" });
    closeFd(locked);
    assert.deepEqual(checkLockHolder(Deno.pid, stat), none);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("checkLockHolder() says a pid no process has no longer runs", () => {
  // Above the largest pid Linux hands out (PID_MAX_LIMIT - 1 on 64-bit).
  const stat = { devMajor: 0, devMinor: 0, ino: 1n };
  assert.deepEqual(checkLockHolder(4_194_304, stat), {
    kind: "not_held",
    found: "pid 4194304 no longer runs",
  });
});

Deno.test({
  name: "checkLockHolder() cannot tell for another user's process, and says why",
  ignore: Deno.uid() !== 0,
  async fn() {
    const dir = await Deno.makeTempDir();
    await Deno.chmod(dir, 0o755);
    try {
      await Deno.writeTextFile(`${dir}/f`, "");
      await Deno.mkdir(`${dir}/cache`);
      await Deno.chown(`${dir}/cache`, 65534, 65534);
      await Deno.writeTextFile(
        `${dir}/check.ts`,
        `import { checkLockHolder } from "${new URL("./lock_holder.ts", import.meta.url)}";
import { lstatPath } from "${new URL("./file_stat.ts", import.meta.url)}";
console.log(JSON.stringify(checkLockHolder(${Deno.pid}, lstatPath("${dir}/f"))));
`,
      );
      const fd = openNoFollow(`${dir}/f`, O_RDONLY);
      try {
        assert.equal(tryFlock(fd, true), true);
        const { code, stdout, stderr } = await new Deno.Command("setpriv", {
          args: [
            "--reuid=nobody",
            "--regid=nogroup",
            "--clear-groups",
            Deno.execPath(),
            "run",
            "--no-config",
            "--allow-read",
            "--allow-ffi",
            `${dir}/check.ts`,
          ],
          env: { DENO_DIR: `${dir}/cache`, NO_COLOR: "1" },
          clearEnv: true,
          stdout: "piped",
          stderr: "piped",
        }).output();
        assert.equal(code, 0, new TextDecoder().decode(stderr));
        assert.deepEqual(JSON.parse(new TextDecoder().decode(stdout)), {
          kind: "unknown",
          reason: `cannot read "/proc/${Deno.pid}/fd": permission denied (errno 13)`,
        });
      } finally {
        closeFd(fd);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
