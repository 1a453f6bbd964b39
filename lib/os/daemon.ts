/**
 * Classic daemon mode (`--daemon`, `Daemon.detach: true`), as `daemon(7)`
 * asks: flagstaff starts itself again detached, in a new session
 * (`setsid`), with stdin, stdout and stderr on /dev/null, and the parent
 * waits for a ready handshake: it exits 0 once the child is ready, or prints
 * the child's start-up error and exits with its code.
 *
 * The handshake speaks sd_notify's protocol on a private socket named by
 * `FLAGSTAFF_READY_SOCKET`: the child sends `READY=1`, or
 * `FLAGSTAFF_ERROR=<message>` and `EXIT_CODE=<n>` before it exits. The child
 * keeps the working directory, so relative paths mean what they meant.
 *
 * Trust: the socket has an abstract name, which every local user can read in
 * `/proc/net/unix` and send to, so the parent takes a message only when the
 * kernel says (`SCM_CREDENTIALS`) that its own child sent it, by pid, as
 * systemd does for `NOTIFY_SOCKET`; any other is ignored and logged at debug
 * level. Nothing the child sent is lost to its exit: datagrams sent before
 * it are queued by then, and the parent drains them before it reports.
 *
 * @module
 */

import { DEFAULT_STOP_TIMEOUT_S } from "../config/config.ts";
import { delay, setLongTimeout } from "../core/delay.ts";
import { getLogger } from "../deps.ts";
import { PERMISSION_FLAGS } from "../cli/permissions.ts";
import { notifierFromEnv } from "./notify.ts";
import { listenNotifySocket, type NotifyMessage } from "./notify_listener.ts";

const log = getLogger(["flagstaff", "daemon"]);

/** Names the handshake socket in the child's environment. */
export const READY_SOCKET_ENV = "FLAGSTAFF_READY_SOCKET";
/** Set to `1` in the detached child. */
export const DETACHED_ENV = "FLAGSTAFF_DETACHED";
/** How long the parent waits for the child to be ready, in milliseconds. */
export const DEFAULT_READY_TIMEOUT_MS = 60_000;
/**
 * How much longer than the child's own stop timeout the parent waits after
 * TERM before it sends KILL, in milliseconds: the child's forced stop goes first.
 */
const KILL_MARGIN_MS = 1_000;

/** Whether this process is the detached child of `--daemon`. */
export function isDetachedChild(): boolean {
  try {
    return Deno.env.get(DETACHED_ENV) === "1";
  } catch {
    return false;
  }
}

/** Options for {@link detach}. */
export interface DetachOptions {
  /** Where to print the child's start-up error. Default: stderr. */
  printError?: (message: string) => void;
  /** How long to wait for the child to be ready, in milliseconds. Default 60 000. */
  timeoutMs?: number;
  /**
   * When the child did not get ready in time, how long it has to stop after
   * TERM, in milliseconds, before the parent kills its process group with
   * KILL (1 s more than this). Pass `Daemon.stop_timeout` in milliseconds.
   * Default 10 000 (`Daemon.stop_timeout`'s default).
   */
  stopTimeoutMs?: number;
  /**
   * Fires when the parent is interrupted (TERM or INT: a Ctrl-C while it
   * waits): the child is stopped as on a timeout, and `detach` resolves 1.
   * Default: none.
   */
  signal?: AbortSignal;
}

/** The command that starts this program again: the binary, or `deno run <permissions> <main module>`. */
export function selfCommand(): { command: string; args: string[] } {
  if (Deno.build.standalone) return { command: Deno.execPath(), args: [] };
  const flags = new Set(PERMISSION_FLAGS);
  // Keep what the user granted beyond flagstaff's own list (a controller may need --allow-sys).
  for (const name of ["read", "write", "net", "env", "run", "ffi", "sys", "import"] as const) {
    if (Deno.permissions.querySync({ name }).state === "granted") {
      for (const flag of [...flags]) if (flag.startsWith(`--allow-${name}=`)) flags.delete(flag);
      flags.add(`--allow-${name}`);
    }
  }
  return { command: Deno.execPath(), args: ["run", "--no-prompt", ...flags, Deno.mainModule] };
}

/** What the child has said so far. */
interface Heard {
  ready: boolean;
  error?: string;
  exitCode?: number;
}

/**
 * Folds `message` into `heard` when the kernel says the child sent it (by
 * pid: the child may have switched user since); ignores it otherwise.
 * Fields as the child writes them: `READY=1`, `FLAGSTAFF_ERROR=`, `EXIT_CODE=`.
 */
function hear(heard: Heard, message: NotifyMessage, childPid: number): void {
  if (message.sender?.pid !== childPid) {
    log.debug(
      "Ignored a handshake message from pid {pid} (uid {uid}): only the daemon's (pid {child}) count",
      {
        pid: message.sender?.pid ?? "unknown",
        uid: message.sender?.uid ?? "unknown",
        child: childPid,
        text: message.text.slice(0, 200),
      },
    );
    return;
  }
  for (const line of message.text.split("\n")) {
    const at = line.indexOf("=");
    if (at < 0) continue;
    const [key, value] = [line.slice(0, at), line.slice(at + 1)];
    if (key === "READY" && value === "1") heard.ready = true;
    if (key === "FLAGSTAFF_ERROR") heard.error = value;
    if (key === "EXIT_CODE" && /^[0-9]{1,3}$/.test(value) && Number(value) <= 255) {
      heard.exitCode = Number(value);
    }
  }
}

/**
 * Starts `argv` again detached and waits for its handshake. Resolves with
 * the exit code for the parent: 0 when the child is ready; the child's code
 * (from `EXIT_CODE=`, else its exit status) when it exited first, after
 * printing its `FLAGSTAFF_ERROR=` (or how it exited); 1 when it did not get
 * ready within `timeoutMs`: then it is stopped (TERM, then KILL to its
 * process group after `stopTimeoutMs`) and reaped before this resolves.
 * Only messages that the kernel says the child sent count.
 *
 * @throws {FlagstaffError} from {@link listenNotifySocket} when the socket
 *   cannot be made (`permission` without `--allow-ffi`).
 */
export async function detach(
  argv: readonly string[],
  options: DetachOptions = {},
): Promise<number> {
  const printError = options.printError ?? ((message) => console.error(`error: ${message}`));
  const timeoutMs = options.timeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
  const stopTimeoutMs = options.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_S * 1000;
  const address = `@flagstaff-ready-${Deno.pid}-${crypto.randomUUID()}`;
  await using listener = listenNotifySocket(address);
  const self = selfCommand();
  const child = new Deno.Command(self.command, {
    args: [...self.args, ...argv],
    env: { [READY_SOCKET_ENV]: listener.address, [DETACHED_ENV]: "1" },
    stdin: "null",
    stdout: "null",
    stderr: "null",
    detached: true,
  }).spawn();
  // Ends the wait: the child exited, or the time is up. An aborted receive takes no message with it.
  const ended = new AbortController();
  let status: Deno.CommandStatus | undefined;
  const exited = child.status.then((result) => {
    status = result;
    ended.abort();
  });
  const timer = setLongTimeout(() => ended.abort(), timeoutMs);
  const interrupt = () => ended.abort();
  options.signal?.addEventListener("abort", interrupt, { once: true });
  const heard: Heard = { ready: false };
  try {
    while (!heard.ready) {
      let message: NotifyMessage;
      try {
        message = await listener.receiveMessage({ timeoutMs: Infinity, signal: ended.signal });
      } catch (error) {
        if (ended.signal.aborted) break;
        throw error;
      }
      hear(heard, message, child.pid);
    }
    if (status) {
      // Everything the child sent before it exited is queued now: take it all, without waiting.
      for (let message; !heard.ready && (message = listener.receiveQueued());) {
        hear(heard, message, child.pid);
      }
    }
  } catch (error) {
    await stopChild(child, exited, stopTimeoutMs + KILL_MARGIN_MS);
    throw error;
  } finally {
    timer.cancel();
    options.signal?.removeEventListener("abort", interrupt);
  }
  if (heard.ready) {
    child.unref();
    return 0;
  }
  if (status) {
    const how = status.signal
      ? `was killed by ${status.signal}`
      : `exited with code ${status.code}`;
    printError(heard.error ?? `the daemon ${how} before it was ready`);
    return heard.exitCode || status.code || 1;
  }
  printError(
    options.signal?.aborted
      ? `Interrupted: stopping the daemon (pid ${child.pid}), which was not ready yet`
      : `the daemon (pid ${child.pid}) did not get ready within ${timeoutMs / 1000} s: stopping it`,
  );
  await stopChild(child, exited, stopTimeoutMs + KILL_MARGIN_MS);
  return 1;
}

/**
 * Sends TERM to `child`, then KILL to its process group (it leads one: it
 * runs in a session of its own) if it has not exited after `graceMs`, and
 * resolves once it is reaped, so nothing is left behind.
 */
async function stopChild(
  child: Deno.ChildProcess,
  exited: Promise<void>,
  graceMs: number,
): Promise<void> {
  try {
    child.kill("SIGTERM");
  } catch {
    // Already exited.
  }
  const gone = new AbortController();
  const killed = delay(graceMs, { signal: gone.signal }).then(() => {
    log.debug("Pid {pid} still runs {ms} ms after TERM: sending KILL to its group", {
      pid: child.pid,
      ms: graceMs,
    });
    for (const kill of [() => Deno.kill(-child.pid, "SIGKILL"), () => child.kill("SIGKILL")]) {
      try {
        kill();
      } catch {
        // Gone already.
      }
    }
  }, () => {});
  await exited;
  gone.abort();
  await killed;
}

/**
 * The detached child's side of the handshake: `ready()` once running,
 * `failed()` before exiting on a start-up error. Does nothing outside `--daemon`.
 */
export function readyHandshake(): {
  ready(): void;
  failed(message: string, code: number): Promise<void>;
} {
  let address: string | undefined;
  try {
    address = Deno.env.get(READY_SOCKET_ENV);
  } catch {
    address = undefined;
  }
  const notifier = address ? notifierFromEnv({ NOTIFY_SOCKET: address }) : undefined;
  let done = false;
  return {
    ready() {
      if (done || !notifier) return;
      done = true;
      void notifier.send("READY=1");
    },
    async failed(message, code) {
      if (done || !notifier) return;
      done = true;
      await notifier.send(`FLAGSTAFF_ERROR=${message.replace(/\n/g, " ")}\nEXIT_CODE=${code}`);
    },
  };
}
