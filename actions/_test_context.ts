/**
 * A fake {@link ActionContext} for the unit tests of the built-in actions: it
 * records what an action prints, logs, closes and asks of the runtime, so a
 * test asserts on values instead of on the console.
 *
 * @module
 */

import type { ActionContext, ActionOutput, RuntimeControl } from "../lib/runtime/action.ts";
import type { Config } from "../lib/config/config.ts";
import type { Logger } from "../lib/runtime/controller.ts";
import type { ActionSignal } from "../lib/config/config.ts";

/** Options for {@link createTestContext}. */
export interface TestContextOptions {
  /** The action's name. Default `"test"`. */
  name?: string;
  /** The signal it runs for. Default `"SIGUSR1"`. */
  trigger?: ActionSignal;
  /** The signal handed to the action. Default: one of the context's own, see {@link TestContext.abort}. */
  signal?: AbortSignal;
  /** What the runtime calls do once recorded. Default: resolve at once. */
  runtime?: Partial<RuntimeControl>;
}

/** A fake context plus what it recorded. */
export interface TestContext extends ActionContext {
  /** Everything written to `out`, concatenated. */
  readonly output: string;
  /** The reason of each `close()` call, in order (`undefined` when none was given). */
  readonly closed: readonly (string | undefined)[];
  /** Each runtime call: `reload`, `restart`, `stop: <reason>`. */
  readonly runtimeCalls: readonly string[];
  /** Each log record as `<level>: <message>`, placeholders filled in. */
  readonly logs: readonly string[];
  /** Aborts the context's own signal (when no `signal` option was given). */
  abort(reason?: unknown): void;
}

/**
 * Renders a LogTape message template as the project's formatter does:
 * `{key}` takes the property (strings as they are, other values through
 * `Deno.inspect`), `{{` and `}}` are literal braces.
 */
function render(template: string, properties: Record<string, unknown> = {}): string {
  return template.replace(/\{\{|\}\}|\{([^{}]*)\}/g, (match, key: string | undefined) => {
    if (key === undefined) return match[0];
    const value = properties[key];
    return typeof value === "string" ? value : Deno.inspect(value);
  });
}

/**
 * Creates a fake context that records what the action does with it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createTestContext } from "./_test_context.ts";
 * const context = createTestContext();
 * context.out.write("hi\n");
 * context.logger.info("n is {n}", { n: 1 });
 * context.close("done");
 * assert.equal(context.output, "hi\n");
 * assert.deepEqual(context.logs, ["info: n is 1"]);
 * assert.deepEqual(context.closed, ["done"]);
 * ```
 */
export function createTestContext(options: TestContextOptions = {}): TestContext {
  const controller = new AbortController();
  let output = "";
  const closed: (string | undefined)[] = [];
  const runtimeCalls: string[] = [];
  const logs: string[] = [];
  const record = (level: string) => (message: string, properties?: Record<string, unknown>) => {
    logs.push(`${level}: ${render(message, properties)}`);
  };
  const logger: Logger = {
    trace: record("trace"),
    debug: record("debug"),
    info: record("info"),
    warn: record("warning"),
    error: record("error"),
    fatal: record("fatal"),
  };
  const out: ActionOutput = {
    write(text: string): void {
      output += text;
    },
  };
  const runtime: RuntimeControl = {
    reload(): Promise<void> {
      runtimeCalls.push("reload");
      return options.runtime?.reload?.() ?? Promise.resolve();
    },
    restart(): Promise<void> {
      runtimeCalls.push("restart");
      return options.runtime?.restart?.() ?? Promise.resolve();
    },
    stop(reason: string): void {
      runtimeCalls.push(`stop: ${reason}`);
      options.runtime?.stop?.(reason);
    },
  };
  return {
    name: options.name ?? "test",
    trigger: options.trigger ?? "SIGUSR1",
    get config(): Config {
      throw new Error("The test context has no config");
    },
    logger,
    signal: options.signal ?? controller.signal,
    out,
    runtime,
    close(reason?: string): void {
      closed.push(reason);
    },
    get output(): string {
      return output;
    },
    closed,
    runtimeCalls,
    logs,
    abort(reason?: unknown): void {
      controller.abort(reason);
    },
  };
}
