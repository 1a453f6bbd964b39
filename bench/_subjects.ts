/**
 * The three things compared, started the same way for every measure:
 *
 * - **flagstaff**: `deno run <documented permissions> main.ts run -c app.yml`,
 *   the bench action (`bench/actions/stamp.ts`) on USR2 or the bench
 *   controller (`bench/_tick_controller.ts`) on the wake schedule.
 * - **bash trap loop**: `bench/_trap_loop.sh`, a `trap … USR2` with a
 *   `sleep N & wait $!` loop.
 * - **naive Deno loop**: `bench/_naive_loop.ts`, `Deno.addSignalListener`
 *   running the action in the listener, or `setInterval`.
 *
 * Ready means: flagstaff sent `READY=1` on the `NOTIFY_SOCKET` the harness
 * listens on, or (until flagstaff sends it) logged its ready line on stderr
 * (`Running N action(s); waiting for signals`, `Running NAME: process() every
 * …`); the loops print `ready` once their listener is in place.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { PERMISSION_FLAGS } from "../lib/cli/permissions.ts";
import { listenNotifySocket, type NotifyListener } from "../lib/os/notify_listener.ts";
import { BenchChild } from "./_child.ts";
import { wallMs } from "./_clock.ts";

/** Which subject. */
export type SubjectId = "flagstaff" | "bash" | "deno";

/** The subjects, in table order, with their column titles. */
export const SUBJECTS: Readonly<Record<SubjectId, string>> = {
  flagstaff: "flagstaff",
  bash: "bash trap loop",
  deno: "naive Deno loop",
};

/** Every subject id, in table order. */
export const SUBJECT_IDS: readonly SubjectId[] = ["flagstaff", "bash", "deno"];

/** The repository root, with a trailing slash. */
export const ROOT: string = fileURLToPath(new URL("..", import.meta.url));

/** How readiness is detected. */
export type ReadyVia = "notify" | "line";

/** A started subject. */
export interface Started {
  /** The process. */
  readonly child: BenchChild;
  /** Exec to ready, in milliseconds. */
  readonly readyMs: number;
  /** How readiness was seen: `READY=1`, or a line of output. */
  readonly via: ReadyVia;
  /** Notify messages received so far (flagstaff under `NOTIFY_SOCKET`). */
  readonly messages: readonly string[];
}

/** What a run of the benchmarks shares: the temp dir and the readiness mode. */
export interface BenchContext {
  /** Temp dir for configs. */
  readonly dir: string;
  /** How flagstaff's readiness is detected. */
  ready: ReadyVia;
}

/** flagstaff's ready line (stderr, INFO). */
export const READY_LINE =
  /Running \d+ action\(s\); waiting for signals|Running .+: (process\(\) every|run\(\) is its own loop)/;

const READY_TIMEOUT_MS = 20_000;
let addresses = 0;

/**
 * The `deno run` command line of flagstaff's CLI, with the documented
 * permissions; `root` is the checkout to run (default this one; `--before`
 * runs an older one beside it).
 */
export function flagstaffArgs(args: readonly string[], root = ROOT): string[] {
  return ["run", ...PERMISSION_FLAGS, `${root}main.ts`, ...args];
}

/** Writes a config that runs the bench action on USR2 (taking `delayMs` each run). */
export async function actionsConfig(context: BenchContext, delayMs: number): Promise<string> {
  const file = `${context.dir}/actions_${delayMs}.yml`;
  await Deno.writeTextFile(
    file,
    [
      "Signals:",
      "  usr2:",
      `    - stamp: ${delayMs}`,
      "Actions:",
      `  stamp: ${ROOT}bench/actions/stamp.ts`,
      "",
    ].join("\n"),
  );
  return file;
}

/**
 * Writes a config that runs the bench controller every `intervalS`, busy for
 * `busyMs`; with `appendFile`, its USR2 hook appends a line to that file.
 */
export async function controllerConfig(
  context: BenchContext,
  intervalS: number,
  busyMs: number,
  appendFile?: string,
): Promise<string> {
  const file = `${context.dir}/controller_${intervalS}_${busyMs}${appendFile ? "_append" : ""}.yml`;
  await Deno.writeTextFile(
    file,
    [
      "Application:",
      `  wake_interval: ${intervalS}`,
      `  controller: ${ROOT}bench/_tick_controller.ts`,
      `  busy_ms: ${busyMs}`,
      ...(appendFile ? [`  append_file: ${appendFile}`] : []),
      "",
    ].join("\n"),
  );
  return file;
}

/** Options for {@link startFlagstaff}. */
export interface StartOptions {
  /** Run this executable (the compiled binary) instead of `deno run main.ts`. */
  binary?: string;
  /** The checkout whose `main.ts` runs. Default: this one. */
  root?: string;
}

/** The compiled binary `deno task compile` builds. */
export const COMPILED = `${ROOT}dist/flagstaff`;

/**
 * Spawns flagstaff with `args` and waits until it is ready, by `READY=1`
 * when `context.ready` is `"notify"`, else by its ready line. It runs in
 * `context.dir`, so that no `actions/` folder of the working directory is
 * scanned.
 */
export async function startFlagstaff(
  context: BenchContext,
  args: readonly string[],
  options: StartOptions = {},
): Promise<Started> {
  const { binary, root } = options;
  let listener: NotifyListener | undefined;
  const env: Record<string, string> = { NO_COLOR: "1" };
  if (context.ready === "notify") {
    listener = listenNotifySocket(`@flagstaff-bench-${Deno.pid}-${++addresses}`);
    env.NOTIFY_SOCKET = listener.address;
  }
  const child = binary
    ? new BenchChild(binary, args, { env, cwd: context.dir })
    : new BenchChild(Deno.execPath(), flagstaffArgs(args, root), { env, cwd: context.dir });
  if (listener) {
    // As a service manager does: keep receiving (STATUS= on ticks) until the child is gone.
    const open = listener;
    const messages: string[] = [];
    let drain: Promise<void> | undefined;
    child.defer(async () => {
      await open.close();
      await drain;
    });
    try {
      const readyAtMs = await receiveReady(open, messages, READY_TIMEOUT_MS);
      drain = (async () => {
        try {
          while (true) messages.push(await open.receive({ timeoutMs: 3_600_000 }));
        } catch {
          // closed
        }
      })();
      return { child, readyMs: readyAtMs - child.spawnedAtMs, via: "notify", messages };
    } catch (error) {
      await child.stop();
      throw error;
    }
  }
  try {
    const line = await child.waitLine((text) => READY_LINE.test(text), {
      stream: "stderr",
      timeoutMs: READY_TIMEOUT_MS,
    });
    return { child, readyMs: line.atMs - child.spawnedAtMs, via: "line", messages: [] };
  } catch (error) {
    await child.stop();
    throw error;
  }
}

/** Waits for a datagram holding `READY=1`; returns when it was received. */
async function receiveReady(
  listener: NotifyListener,
  messages: string[],
  timeoutMs: number,
): Promise<number> {
  const deadline = wallMs() + timeoutMs;
  while (true) {
    const message = await listener.receive({ timeoutMs: Math.max(1, deadline - wallMs()) });
    const atMs = wallMs();
    messages.push(message);
    if (message.split("\n").includes("READY=1")) return atMs;
  }
}

/**
 * Spawns a loop (`bash` or `deno`) with `args` and waits for its `ready` line.
 * The Deno loop with `signal 0` is "the empty Deno script that listens for
 * signals" that start-up and memory targets are ratios of.
 */
export async function startLoop(id: "bash" | "deno", args: readonly string[]): Promise<Started> {
  const child = id === "bash"
    ? new BenchChild("bash", [`${ROOT}bench/_trap_loop.sh`, ...args])
    : new BenchChild(Deno.execPath(), ["run", `${ROOT}bench/_naive_loop.ts`, ...args]);
  try {
    const line = await child.waitLine((text) => text === "ready", { timeoutMs: READY_TIMEOUT_MS });
    return { child, readyMs: line.atMs - child.spawnedAtMs, via: "line", messages: [] };
  } catch (error) {
    await child.stop();
    throw error;
  }
}

/** Starts `id` with the bench action on USR2, each run taking `delayMs`. */
export async function startSignalSubject(
  context: BenchContext,
  id: SubjectId,
  delayMs: number,
): Promise<Started> {
  switch (id) {
    case "flagstaff":
      return await startFlagstaff(context, ["run", "-c", await actionsConfig(context, delayMs)]);
    case "bash":
      return await startLoop("bash", ["signal", String(delayMs / 1000)]);
    case "deno":
      return await startLoop("deno", ["signal", String(delayMs)]);
  }
}

/** Starts `id` ticking every `intervalS`, each tick busy for `busyMs`. */
export async function startTickSubject(
  context: BenchContext,
  id: SubjectId,
  intervalS: number,
  busyMs: number,
): Promise<Started> {
  switch (id) {
    case "flagstaff":
      return await startFlagstaff(context, [
        "run",
        "-c",
        await controllerConfig(context, intervalS, busyMs),
      ]);
    case "bash":
      return await startLoop("bash", [
        "tick",
        String(intervalS),
        String(Math.round(busyMs * 1000)),
      ]);
    case "deno":
      return await startLoop("deno", ["tick", String(intervalS * 1000), String(busyMs)]);
  }
}

/**
 * Finds out whether flagstaff sends `READY=1`: starts it once with
 * `NOTIFY_SOCKET` set and waits for the datagram up to a second past its
 * ready line. Returns the mode to use and why.
 */
export async function probeReady(context: BenchContext): Promise<{ via: ReadyVia; why: string }> {
  let listener: NotifyListener;
  try {
    listener = listenNotifySocket(`@flagstaff-bench-${Deno.pid}-probe`);
  } catch (error) {
    return { via: "line", why: `cannot listen: ${(error as Error).message}` };
  }
  const config = await actionsConfig(context, 0);
  await using child = new BenchChild(Deno.execPath(), flagstaffArgs(["run", "-c", config]), {
    env: { NO_COLOR: "1", NOTIFY_SOCKET: listener.address },
  });
  try {
    const line = child.waitLine((text) => READY_LINE.test(text), {
      stream: "stderr",
      timeoutMs: READY_TIMEOUT_MS,
    });
    const notify = receiveReady(listener, [], READY_TIMEOUT_MS);
    notify.catch(() => {}); // rejects when the listener closes first
    // Whichever comes first; then give READY=1 a second more.
    const first = await Promise.race([line.then(() => "line"), notify.then(() => "notify")]);
    line.catch(() => {});
    if (first === "notify") return { via: "notify", why: "flagstaff sends READY=1" };
    const late = await Promise.race([
      notify.then(() => true, () => false),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 1000)),
    ]);
    return late
      ? { via: "notify", why: "flagstaff sends READY=1" }
      : { via: "line", why: "flagstaff does not send READY=1 on NOTIFY_SOCKET yet" };
  } catch (error) {
    return { via: "line", why: `probe failed: ${(error as Error).message.split("\n")[0]}` };
  } finally {
    await listener.close();
  }
}
