import assert from "node:assert/strict";
import { libc } from "./_libc.ts";
import { FlagstaffError } from "../core/errors.ts";
import { monotonicUsec, notifierFromEnv, watchdogIntervalUs } from "./notify.ts";
import { listenNotifySocket, type NotifyListener } from "./notify_listener.ts";

// The C library stays open for the life of the process: open it before any
// test runs, or the resource sanitizer blames the first test that uses it.
libc("run the notify tests");

const NOTIFY_TS = new URL("./notify.ts", import.meta.url).href;

/** Runs `source` as a module in a new deno process with `flags`. */
async function runScript(
  source: string,
  flags: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const file = await Deno.makeTempFile({ prefix: "flagstaff-notify-", suffix: ".ts" });
  try {
    await Deno.writeTextFile(file, source);
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-config", ...flags, file],
      env,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const decoder = new TextDecoder();
    return {
      code: output.code,
      stdout: decoder.decode(output.stdout),
      stderr: decoder.decode(output.stderr),
    };
  } finally {
    await Deno.remove(file);
  }
}

/** A temp folder removed when disposed. */
async function tempDir(): Promise<AsyncDisposable & { path: string }> {
  const path = await Deno.makeTempDir({ prefix: "flagstaff-notify-" });
  return { path, [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }) };
}

async function receiveAll(listener: NotifyListener, count: number): Promise<string[]> {
  const messages: string[] = [];
  for (let i = 0; i < count; i++) messages.push(await listener.receive({ timeoutMs: 5000 }));
  return messages;
}

Deno.test("notifierFromEnv() returns undefined when NOTIFY_SOCKET is unset or empty", () => {
  assert.equal(notifierFromEnv({}), undefined);
  assert.equal(notifierFromEnv({ NOTIFY_SOCKET: "" }), undefined);
});

Deno.test("notifierFromEnv() sends each message as one datagram, in order, to a path", async () => {
  await using dir = await tempDir();
  await using listener = listenNotifySocket(`${dir.path}/notify.sock`);
  assert.equal((await Deno.lstat(listener.address)).isSocket, true);
  const errors: unknown[] = [];
  const notifier = notifierFromEnv({ NOTIFY_SOCKET: listener.address }, {
    onError: (error) => errors.push(error),
  });
  assert.ok(notifier);
  const messages = [
    "READY=1\nSTATUS=Sleeping",
    "RELOADING=1\nMONOTONIC_USEC=123",
    "STOPPING=1",
    "",
  ];
  for (const message of messages) assert.equal(await notifier.send(message), true);
  notifier.close();
  assert.deepEqual(await receiveAll(listener, messages.length), messages);
  assert.deepEqual(errors, []);
});

Deno.test("notifierFromEnv() sends to an abstract name given with a leading @", async () => {
  const address = `@flagstaff-test-${Deno.pid}-${crypto.randomUUID()}`;
  await using listener = listenNotifySocket(address);
  const notifier = notifierFromEnv({ NOTIFY_SOCKET: address });
  assert.ok(notifier);
  assert.equal(notifier.send("READY=1"), true);
  assert.equal(notifier.send("STATUS=Ünïcode ✓"), true);
  notifier.close();
  assert.deepEqual(await receiveAll(listener, 2), ["READY=1", "STATUS=Ünïcode ✓"]);
  // The name is exactly the bytes after "@", as systemd binds it: the kernel
  // lists it as "@name" (a trailing NUL would show as "@name@"), and a longer
  // name is another socket.
  const table = await new Deno.Command("cat", { args: ["/proc/net/unix"], stdout: "piped" })
    .output();
  const paths = new TextDecoder().decode(table.stdout).split("\n").map((line) =>
    line.split(/\s+/)[7]
  );
  assert.ok(paths.includes(address), `${address} is bound by that exact name`);
  const other = notifierFromEnv({ NOTIFY_SOCKET: `${address}x` });
  assert.equal(other?.send("READY=1"), false);
  other?.close();
});

Deno.test("send() returns false and reports once when the socket path does not exist", async () => {
  await using dir = await tempDir();
  const errors: FlagstaffError[] = [];
  const address = `${dir.path}/missing.sock`;
  const notifier = notifierFromEnv({ NOTIFY_SOCKET: address }, {
    onError: (error) => errors.push(error),
  });
  assert.ok(notifier);
  for (let i = 0; i < 5; i++) assert.equal(await notifier.send("WATCHDOG=1"), false);
  notifier.close();
  assert.equal(errors.length, 1);
  assert.ok(errors[0] instanceof FlagstaffError);
  assert.equal(
    errors[0].message,
    `Cannot notify "${address}": no such file or directory (errno 2)`,
  );
});

Deno.test("send() reports again after a success in between", async () => {
  await using dir = await tempDir();
  const address = `${dir.path}/later.sock`;
  const errors: string[] = [];
  const notifier = notifierFromEnv({ NOTIFY_SOCKET: address }, {
    onError: (error) => errors.push(error.message),
  });
  assert.ok(notifier);
  assert.equal(notifier.send("A=1"), false);
  {
    await using listener = listenNotifySocket(address);
    assert.equal(notifier.send("B=1"), true);
    assert.equal(await listener.receive({ timeoutMs: 5000 }), "B=1");
  }
  assert.equal(notifier.send("C=1"), false);
  assert.equal(notifier.send("D=1"), false);
  notifier.close();
  assert.equal(notifier.send("E=1"), false);
  assert.deepEqual(errors, [
    `Cannot notify "${address}": no such file or directory (errno 2)`,
    `Cannot notify "${address}": no such file or directory (errno 2)`,
  ]);
});

Deno.test("send() fails through onError for an address that is not a path or @ name", () => {
  for (const address of ["relative.sock", "vsock:2:1234", "@", `/${"x".repeat(107)}`]) {
    const errors: string[] = [];
    const notifier = notifierFromEnv({ NOTIFY_SOCKET: address }, {
      onError: (error) => errors.push(error.message),
    });
    assert.ok(notifier);
    assert.equal(notifier.send("READY=1"), false);
    assert.equal(notifier.send("READY=1"), false);
    notifier.close();
    assert.equal(errors.length, 1, address);
    assert.match(errors[0], new RegExp(`^Cannot notify "${address}": `));
  }
});

Deno.test("send() never throws, even when onError does", () => {
  const notifier = notifierFromEnv({ NOTIFY_SOCKET: "relative" }, {
    onError: () => {
      throw new Error("boom");
    },
  });
  assert.equal(notifier?.send("READY=1"), false);
  notifier?.close();
});

Deno.test("notifierFromEnv() reaches a listener from another process", async () => {
  const address = `@flagstaff-test-child-${Deno.pid}-${crypto.randomUUID()}`;
  await using listener = listenNotifySocket(address);
  const script = `
    import { notifierFromEnv } from "${NOTIFY_TS}";
    const env = { NOTIFY_SOCKET: Deno.env.get("NOTIFY_SOCKET") };
    const notifier = notifierFromEnv(env, { onError: (e) => console.error(e.message) });
    notifier.send("READY=1\\nMAINPID=" + Deno.pid);
    notifier.send("STOPPING=1");
    notifier.close();
  `;
  const output = await runScript(script, ["--allow-ffi", "--allow-env=NOTIFY_SOCKET"], {
    NOTIFY_SOCKET: address,
  });
  assert.deepEqual(output, { code: 0, stdout: "", stderr: "" });
  const [ready, stopping] = await receiveAll(listener, 2);
  assert.match(ready, /^READY=1\nMAINPID=\d+$/);
  assert.equal(stopping, "STOPPING=1");
});

Deno.test("notifierFromEnv() asks for --allow-ffi when it is missing", async () => {
  const script = `
    import { notifierFromEnv } from "${NOTIFY_TS}";
    try { notifierFromEnv({ NOTIFY_SOCKET: "@x" }); } catch (e) { console.log(e.code, e.message); }
  `;
  const output = await runScript(script, []);
  assert.deepEqual(output, {
    code: 0,
    stdout: "permission Cannot use the notify socket: run deno with --allow-ffi\n",
    stderr: "",
  });
});

Deno.test("monotonicUsec() reads CLOCK_MONOTONIC", async () => {
  const first = monotonicUsec();
  const firstMs = performance.now();
  await new Promise((resolve) => setTimeout(resolve, 50));
  const second = monotonicUsec();
  const elapsedUs = Number(second - first);
  const elapsedMs = performance.now() - firstMs;
  assert.ok(Math.abs(elapsedUs / 1000 - elapsedMs) < 20, `${elapsedUs} us vs ${elapsedMs} ms`);
  // CLOCK_MONOTONIC counts from boot (less time suspended): never more than
  // /proc/uptime (CLOCK_BOOTTIME), and not performance.now()'s origin.
  const uptime = await new Deno.Command("cat", { args: ["/proc/uptime"], stdout: "piped" })
    .output();
  const uptimeUs = Number(new TextDecoder().decode(uptime.stdout).split(" ")[0]) * 1e6;
  assert.ok(Number(second) <= uptimeUs + 20_000, `${second} > uptime ${uptimeUs}`);
  assert.ok(Number(second) > performance.now() * 1000 + 1e6, "counts from boot, not process start");
});

Deno.test("watchdogIntervalUs() halves WATCHDOG_USEC for this pid only", () => {
  const cases: [{ WATCHDOG_USEC?: string; WATCHDOG_PID?: string }, number | undefined][] = [
    [{}, undefined],
    [{ WATCHDOG_USEC: "30000000" }, 15_000_000],
    [{ WATCHDOG_USEC: "3" }, 1],
    [{ WATCHDOG_USEC: "30000000", WATCHDOG_PID: "42" }, 15_000_000],
    [{ WATCHDOG_USEC: "30000000", WATCHDOG_PID: "" }, 15_000_000],
    [{ WATCHDOG_USEC: "30000000", WATCHDOG_PID: "43" }, undefined],
    [{ WATCHDOG_USEC: "30000000", WATCHDOG_PID: "x" }, undefined],
    [{ WATCHDOG_PID: "42" }, undefined],
    [{ WATCHDOG_USEC: "" }, undefined],
    [{ WATCHDOG_USEC: "0" }, undefined],
    [{ WATCHDOG_USEC: "-5" }, undefined],
    [{ WATCHDOG_USEC: "1.5" }, undefined],
    [{ WATCHDOG_USEC: "1e6" }, undefined],
    [{ WATCHDOG_USEC: "99999999999999999999" }, undefined],
  ];
  for (const [env, expected] of cases) {
    assert.equal(watchdogIntervalUs(env, 42), expected, JSON.stringify(env));
  }
});
