/**
 * `actions/hello.ts` and its test: the example action of a new project.
 *
 * @module
 */

import type { TemplateVars } from "./_legacy.ts";

/** Renders `actions/hello.ts`. */
export function helloAction(vars: TemplateVars): string {
  return `/**
 * An example action: prints a greeting each time its signal arrives. \`etc/${vars.name}.yml\` runs it
 * on USR2 (\`kill -USR2 PID\`).
 *
 * An action module's default export is a class (or an object) with \`run(context)\` and optional
 * \`setUp(...args)\` and \`tearDown()\`, and statics \`description\` and \`arguments\`. It needs no
 * runtime import of flagstaff: everything comes through the context it is handed, so
 * \`import type\` is enough.
 *
 * @module
 */

import type { ActionContext } from "../deps.ts";

/** Prints \`hello, WHO (SIGNAL)\` on each run. */
export default class Hello {
  /** One line for \`${vars.name} list\`. */
  static readonly description = "Prints a greeting on each signal";
  /** What it takes; the words after the action's name, checked before it is set up. */
  static readonly arguments = [{ name: "who", type: "string" as const, doc: "whom to greet" }];

  #who = "";

  /** Called once with the arguments, before signals are listened to: validate here. */
  setUp(who: string): void {
    if (who.trim() === "") throw new Error("hello: the name to greet is empty");
    this.#who = who;
  }

  /** Called on each delivery of the signal. */
  run(context: ActionContext): void {
    context.out.write(\`hello, \${this.#who} (\${context.trigger})\\n\`);
    context.logger.debug("greeted {who}", { who: this.#who });
  }

  /** Called once when the action is removed or the app stops. */
  tearDown(): void {}
}
`;
}

/** Renders `actions/hello_test.ts`: a unit test with a hand-made context. */
export function helloActionTest(_vars: TemplateVars): string {
  return `import assert from "node:assert/strict";
import type { ActionContext } from "../deps.ts";
import Hello from "./hello.ts";

/** A context with just what \`hello\` uses; \`written\` collects what it prints. */
function fakeContext(written: string[]): ActionContext {
  const logger = { debug() {} };
  return {
    trigger: "SIGUSR2",
    logger,
    out: { write: (text: string) => written.push(text) },
  } as unknown as ActionContext;
}

Deno.test("hello prints a greeting on each run", () => {
  const written: string[] = [];
  const context = fakeContext(written);
  const action = new Hello();
  action.setUp("world");
  action.run(context);
  action.run(context);
  action.tearDown();
  assert.deepEqual(written, ["hello, world (SIGUSR2)\\n", "hello, world (SIGUSR2)\\n"]);
});

Deno.test("hello refuses an empty name when set up", () => {
  assert.throws(() => new Hello().setUp(" "), /the name to greet is empty/);
});
`;
}
