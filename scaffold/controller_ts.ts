/**
 * `controller.ts` of a new project: a documented `Controller` subclass, with
 * helper's stub messages.
 *
 * @module
 */

import type { TemplateVars } from "./_legacy.ts";

/** Renders `controller.ts`. */
export function controller(vars: TemplateVars): string {
  return `/**
 * ${vars.name}'s controller. flagstaff calls \`setup()\` once, then \`process()\` every
 * \`Application.wake_interval\` seconds on a fixed-rate schedule (the first time right after
 * \`setup()\`), and \`cleanup()\` once on stop. One unit of work runs at a time: a tick, a reload or
 * a signal's actions never overlap, so these methods never race each other.
 *
 * What a controller has: \`this.config\` (the current config: read it each time, a reload swaps
 * it; \`this.config.application\` holds the app's own keys), \`this.logger\` (logs under the app's
 * name, configured by the \`Logging\` section), \`this.signal\` (an AbortSignal that fires on
 * stop: hand it to fetch() and timers), \`this.wakeIntervalS\`, \`this.currentState\`,
 * \`this.setState("idle")\` to pause \`process()\` until the state is set back to \`"active"\`,
 * \`this.args\` (the app's own command-line options, declared in \`main.ts\`, typed below) and
 * \`this.systemPlatform\` (the operating system and runtime).
 *
 * @module
 */

import { Controller } from "./deps.ts";

/** The app's own command-line options, as \`main.ts\` declares them (\`OPTIONS\`). */
export interface AppArgs {
  /** \`--dry-run\`: log what \`process()\` would do, change nothing. */
  readonly "dry-run": boolean;
}

/** The app: override what it needs; every method may be async. */
export class AppController extends Controller<AppArgs> {
  /** Called once before the first \`process()\`: open connections, read files. A throw exits 1. */
  override setup(): void {
    const { os, implementation, version } = this.systemPlatform;
    this.logger.info("setup invoked on {os} ({implementation} {version})", {
      os,
      implementation,
      version,
    });
  }

  /** Called every \`wake_interval\` seconds. A throw is logged and the next tick still runs. */
  override process(): void {
    this.logger.info("process invoked (dry run: {dry})", { dry: this.args["dry-run"] });
  }

  /** Called after HUP (or USR1) swapped in a new, valid config: \`this.config\` is the new one. */
  override configurationReloaded(): void {
    this.logger.info("configuration reloaded, wake_interval is {seconds} s", {
      seconds: this.wakeIntervalS,
    });
  }

  /** Called on USR2 when the config's \`Signals\` section gives \`usr2\` no actions. */
  override onSigusr2(): void {
    this.logger.info("onSigusr2 invoked");
  }

  /** Called once on stop (TERM or INT), after the tick in flight has finished. */
  override cleanup(): void {
    this.logger.info("cleanup invoked");
  }
}
`;
}
