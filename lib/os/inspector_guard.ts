/**
 * Keeps Deno's SIGUSR1 debugger shut under `deno run`.
 *
 * Deno (since 2.9.2; `cli/worker.rs`, `spawn_sigusr1_inspector_listener`)
 * starts a V8 inspector server on 127.0.0.1:9229 when the process receives
 * SIGUSR1 500 ms or more after start, whether or not the program listens for
 * USR1, and there is no flag to turn it off. The inspector has no
 * authentication: any local user who connects can run code with the
 * process's rights (root, before a privilege drop). A compiled binary does
 * not do this. USR1 is flagstaff's default reload signal, so under
 * `deno run` flagstaff guards it two ways:
 *
 * 1. It holds 127.0.0.1:9229 itself (a plain TCP listener that accepts
 *    nothing), so Deno's activation fails to bind ("Failed to start
 *    inspector server", printed by Deno on stderr) and no debugger opens.
 *    `activate_default_inspector_server` binds that one address only.
 * 2. When another process holds the port (another flagstaff, a developer's
 *    `node --inspect`), Deno's activation fails too; if that holder lets go,
 *    the next USR1 could succeed. So every USR1 (synchronously, in the
 *    signal listener, which Deno runs before its own activation task) first
 *    closes any inspector server Deno opened (`node:inspector`'s `close()`,
 *    which needs no permission), then tries to take the port again; the
 *    guard also retries every few seconds while it does not hold the port.
 *
 * Residual risk: none known while flagstaff holds the port. While another
 * process holds it, that process decides who may connect to 9229. The
 * compiled binary has no such debugger at all: use it in production.
 *
 * @module
 */

import { setLongTimeout } from "../core/delay.ts";

/** Deno's default inspector address (`default_inspector_host()`). */
export const INSPECTOR_HOST = "127.0.0.1";
/** Deno's default inspector port. */
export const INSPECTOR_PORT = 9229;
/** How often to try again to take the port while someone else holds it, in milliseconds. */
export const RETRY_MS = 5_000;

type InspectorModule = { close(): void };

/** What {@link InspectorGuard} knows. */
export interface InspectorGuardState {
  /** Whether this process holds 127.0.0.1:9229. */
  readonly held: boolean;
  /** Why it does not, when it does not. */
  readonly reason?: string;
}

/**
 * The guard; {@link InspectorGuard.start} it once, as early as possible in a
 * `run` under `deno run`, and call {@link InspectorGuard.onSigusr1} from the
 * SIGUSR1 listener.
 */
export class InspectorGuard implements Disposable {
  #listener: Deno.Listener | undefined;
  #reason: string | undefined;
  #inspector: InspectorModule | undefined;
  #retry: { cancel(): void } | undefined;
  #closed = false;

  private constructor() {}

  /** Takes the port if it can, and loads what closing Deno's debugger needs if it cannot. */
  static start(): InspectorGuard {
    const guard = new InspectorGuard();
    guard.#take();
    return guard;
  }

  /** Whether the port is held, and why not. */
  get state(): InspectorGuardState {
    return { held: this.#listener !== undefined, reason: this.#reason };
  }

  /** Call first thing in the SIGUSR1 listener. */
  onSigusr1(): void {
    if (this.#listener || this.#closed) return;
    try {
      this.#inspector?.close();
    } catch {
      // Nothing was open.
    }
    this.#take();
  }

  #take(): void {
    if (this.#closed || this.#listener) return;
    try {
      this.#listener = Deno.listen({ hostname: INSPECTOR_HOST, port: INSPECTOR_PORT });
      this.#reason = undefined;
      this.#retry?.cancel();
      this.#retry = undefined;
      // Accept nothing: connections wait in the backlog until the process ends.
      return;
    } catch (error) {
      this.#reason = error instanceof Deno.errors.AddrInUse
        ? `another process holds ${INSPECTOR_HOST}:${INSPECTOR_PORT}`
        : error instanceof Error
        ? error.message
        : String(error);
    }
    if (!this.#inspector) {
      import("node:inspector").then((module) => this.#inspector = module, () => {});
    }
    this.#retry ??= setLongTimeout(
      () => {
        this.#retry = undefined;
        this.#take();
      },
      RETRY_MS,
      { persistent: false },
    );
  }

  /** Lets the port go (at exit). */
  [Symbol.dispose](): void {
    this.#closed = true;
    this.#retry?.cancel();
    try {
      this.#listener?.close();
    } catch {
      // Closed already.
    }
    this.#listener = undefined;
  }
}
