import assert from "node:assert/strict";
import { libc } from "./_libc.ts";
import { FlagstaffError } from "../core/errors.ts";
import { notifierFromEnv } from "./notify.ts";
import { listenNotifySocket } from "./notify_listener.ts";

// The C library stays open for the life of the process: open it before any
// test runs, or the resource sanitizer blames the first test that uses it.
libc("run the notify listener tests");

const NOTIFY_TS = new URL("./notify.ts", import.meta.url).href;

/** A temp folder removed when disposed. */
async function tempDir(): Promise<AsyncDisposable & { path: string }> {
  const path = await Deno.makeTempDir({ prefix: "flagstaff-notify-" });
  return { path, [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }) };
}

Deno.test("listenNotifySocket() receive() times out, and close() wakes a pending receive", async () => {
  const listener = listenNotifySocket(`@flagstaff-test-idle-${Deno.pid}-${crypto.randomUUID()}`);
  const started = performance.now();
  await assert.rejects(listener.receive({ timeoutMs: 120 }), Deno.errors.TimedOut);
  assert.ok(performance.now() - started >= 119);
  const controller = new AbortController();
  const aborted = listener.receive({ signal: controller.signal });
  controller.abort(new Error("given up"));
  await assert.rejects(aborted, /given up/);
  const pending = listener.receive({ timeoutMs: 60_000 });
  const closing = listener.close();
  await assert.rejects(pending, Deno.errors.BadResource);
  await closing;
  await assert.rejects(listener.receive(), Deno.errors.BadResource);
});

Deno.test("listenNotifySocket() refuses a path that exists and an invalid address", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/taken.sock`;
  await using _listener = listenNotifySocket(path);
  assert.throws(
    () => listenNotifySocket(path),
    new FlagstaffError("usage", `Cannot listen on "${path}": address already in use (errno 98)`),
  );
  assert.throws(
    () => listenNotifySocket("relative.sock"),
    /^FlagstaffError: Cannot listen on "relative.sock": expected an absolute path/,
  );
});

/** A folder that `nobody` can read, for a script it runs with a Deno cache of its own. */
async function nobodyDir(): Promise<AsyncDisposable & { path: string }> {
  const dir = await tempDir();
  await Deno.chmod(dir.path, 0o755);
  await Deno.mkdir(`${dir.path}/cache`);
  await new Deno.Command("chown", { args: ["nobody", `${dir.path}/cache`] }).output();
  return dir;
}

Deno.test("receiveMessage() gives each sender's pid, uid and gid as the kernel saw them", async () => {
  await using listener = listenNotifySocket(
    `@flagstaff-test-creds-${Deno.pid}-${crypto.randomUUID()}`,
  );
  const own = notifierFromEnv({ NOTIFY_SOCKET: listener.address });
  assert.equal(own?.send("FROM=me"), true);
  own?.close();
  assert.deepEqual(await listener.receiveMessage({ timeoutMs: 5000 }), {
    text: "FROM=me",
    sender: { pid: Deno.pid, uid: Deno.uid(), gid: Deno.gid() },
  });
  if (Deno.uid() !== 0) return; // the rest needs another user
  await using dir = await nobodyDir();
  const script = `${dir.path}/send.ts`;
  // The sender lies about itself in the text; the credentials tell the truth.
  await Deno.writeTextFile(
    script,
    `import { notifierFromEnv } from "${NOTIFY_TS}";
const notifier = notifierFromEnv({ NOTIFY_SOCKET: ${JSON.stringify(listener.address)} })!;
notifier.send("MAINPID=1");
console.log(Deno.pid);
`,
  );
  await Deno.chmod(script, 0o644);
  const output = await new Deno.Command("setpriv", {
    args: [
      "--reuid=nobody",
      "--regid=nogroup",
      "--clear-groups",
      Deno.execPath(),
      "run",
      "--no-config",
      "--allow-ffi",
      script,
    ],
    env: { DENO_DIR: `${dir.path}/cache`, NO_COLOR: "1" },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 0, stderr);
  const pid = Number(new TextDecoder().decode(output.stdout));
  assert.deepEqual(await listener.receiveMessage({ timeoutMs: 5000 }), {
    text: "MAINPID=1",
    sender: { pid, uid: 65534, gid: 65534 },
  });
});

Deno.test("receiveQueued() drains what is queued and returns undefined at once when empty", async () => {
  await using listener = listenNotifySocket(
    `@flagstaff-test-queued-${Deno.pid}-${crypto.randomUUID()}`,
  );
  assert.equal(listener.receiveQueued(), undefined);
  const notifier = notifierFromEnv({ NOTIFY_SOCKET: listener.address })!;
  for (const message of ["A=1", "B=2", "C=3"]) assert.equal(notifier.send(message), true);
  notifier.close();
  // An aborted wait takes no message with it: they stay queued.
  const aborted = listener.receiveMessage({ signal: AbortSignal.abort(new Error("stop")) });
  await assert.rejects(aborted, /stop/);
  const texts: string[] = [];
  for (let message; (message = listener.receiveQueued());) texts.push(message.text);
  assert.deepEqual(texts, ["A=1", "B=2", "C=3"]);
  await listener.close();
  assert.throws(() => listener.receiveQueued(), Deno.errors.BadResource);
});

Deno.test("receiveMessage() closes file descriptors that a sender pushes along (SCM_RIGHTS)", async () => {
  await using listener = listenNotifySocket(
    `@flagstaff-test-rights-${Deno.pid}-${crypto.randomUUID()}`,
  );
  const c = Deno.dlopen("libc.so.6", {
    socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
    sendmsg: { parameters: ["i32", "buffer", "i32"], result: "isize" },
    pipe2: { parameters: ["buffer", "i32"], result: "i32" },
    read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
    close: { parameters: ["i32"], result: "i32" },
  });
  try {
    const fds = new Int32Array(2);
    assert.equal(c.symbols.pipe2(fds, 0o4000 /* O_NONBLOCK */), 0);
    const [readEnd, writeEnd] = fds;
    // sendmsg(2) of "READY=1" to the listener, with the pipe's write end as SCM_RIGHTS.
    const name = new TextEncoder().encode(listener.address.slice(1));
    const address = new Uint8Array(3 + name.length);
    address[0] = 1; // AF_UNIX; address[2] = 0: the abstract namespace
    address.set(name, 3);
    const text = new TextEncoder().encode("READY=1");
    const iovec = new BigUint64Array([pointer(text), BigInt(text.length)]);
    const control = new Uint8Array(24); // cmsghdr (16 bytes) + one int, aligned
    const view = new DataView(control.buffer);
    view.setBigUint64(0, 20n, true); // CMSG_LEN(sizeof(int))
    view.setInt32(8, 1, true); // SOL_SOCKET
    view.setInt32(12, 1, true); // SCM_RIGHTS
    view.setInt32(16, writeEnd, true);
    const header = new BigUint64Array([
      pointer(address),
      BigInt(address.length),
      pointer(new Uint8Array(iovec.buffer)),
      1n,
      pointer(control),
      BigInt(control.length),
      0n,
    ]);
    const socket = c.symbols.socket(1, 2, 0);
    assert.equal(c.symbols.sendmsg(socket, header, 0), BigInt(text.length));
    c.symbols.close(socket);
    c.symbols.close(writeEnd);
    const message = await listener.receiveMessage({ timeoutMs: 5000 });
    assert.deepEqual([message.text, message.sender?.pid], ["READY=1", Deno.pid]);
    // End of file: no write end is left open, so the listener closed the one it got.
    assert.equal(c.symbols.read(readEnd, new Uint8Array(1), 1n), 0n);
    c.symbols.close(readEnd);
  } finally {
    c.close();
  }
});

function pointer(buffer: Uint8Array<ArrayBuffer>): bigint {
  return BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(buffer)));
}
