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
 * @module
 */

import { PERMISSION_FLAGS } from "./permissions.ts";
import { listenNotifySocket, notifierFromEnv } from "./notify.ts";

/** Names the handshake socket in the child's environment. */
export const READY_SOCKET_ENV = "FLAGSTAFF_READY_SOCKET";
/** Set to `1` in the detached child. */
export const DETACHED_ENV = "FLAGSTAFF_DETACHED";

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

/**
 * Starts `argv` again detached and waits for its handshake. Resolves with
 * the exit code for the parent: 0 when the child is ready.
 */
export async function detach(
  argv: readonly string[],
  options: DetachOptions = {},
): Promise<number> {
  const printError = options.printError ?? ((message) => console.error(`error: ${message}`));
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
  const exited = child.status.then((status) => ({ exited: status.code || 1 }));
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  let error: string | undefined;
  let code: number | undefined;
  while (true) {
    const next = await Promise.race([
      listener.receive({ timeoutMs: Math.max(1, deadline - Date.now()) }).then((message) => ({
        message,
      }))
        .catch((reason) => ({ failed: reason as Error })),
      exited,
    ]);
    if ("message" in next) {
      const fields = Object.fromEntries(
        next.message.split("\n").map((line) => line.split(/=(.*)/s, 2)),
      );
      if (fields.READY === "1") {
        child.unref();
        return 0;
      }
      if (fields.FLAGSTAFF_ERROR !== undefined) error = fields.FLAGSTAFF_ERROR;
      if (fields.EXIT_CODE !== undefined) code = Number(fields.EXIT_CODE);
      continue;
    }
    if ("exited" in next) {
      // Messages sent just before the exit may still be queued.
      const late = await listener.receive({ timeoutMs: 50 }).catch(() => undefined);
      if (late) {
        const fields = Object.fromEntries(late.split("\n").map((line) => line.split(/=(.*)/s, 2)));
        error ??= fields.FLAGSTAFF_ERROR;
        if (fields.EXIT_CODE !== undefined) code ??= Number(fields.EXIT_CODE);
      }
      printError(error ?? `the daemon exited with code ${next.exited} before it was ready`);
      return code ?? next.exited;
    }
    printError(`the daemon did not get ready in time: ${next.failed.message}`);
    child.kill("SIGTERM");
    child.unref();
    return 1;
  }
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
