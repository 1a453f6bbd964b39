/**
 * `tests/controller_test.ts` of a new project: the app run as users run it.
 *
 * @module
 */

import type { TemplateVars } from "./_legacy.ts";

/** Renders `tests/controller_test.ts`. */
export function controllerTest(vars: TemplateVars): string {
  return `/**
 * The app as users run it: the real \`main.ts\` as a child process with the permission flags of the
 * \`start\` task, synchronised on its output, never on sleeps, and always cleaned up.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
/** The app's name. */
const NAME = "${vars.name}";
/** The config the project ships, as \`deno task start\` uses it. */
const CONFIG = "etc/${vars.name}.yml";
/** How long a wait may take before the test fails and the app is killed. */
const DEADLINE_MS = 30_000;

/** The \`--allow-*\` flags of the \`start\` task in deno.json. */
async function permissionFlags(): Promise<string[]> {
  const config = JSON.parse(await Deno.readTextFile(\`\${ROOT}deno.json\`));
  const words: string[] = config.tasks.start.command.split(/\\s+/);
  return words.filter((word) => word.startsWith("--allow-"));
}

/** The app as a child process. Disposing it kills it if it still runs, and reaps it. */
class App implements AsyncDisposable {
  readonly #child: Deno.ChildProcess;
  readonly #output: Promise<void>;
  #text = "";
  #cursor = 0;
  #exited = false;
  #wake = () => {};

  constructor(args: string[], flags: string[]) {
    this.#child = new Deno.Command(Deno.execPath(), {
      args: ["run", ...flags, "main.ts", ...args],
      cwd: ROOT,
      env: { NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const read = async (stream: ReadableStream<Uint8Array>) => {
      for await (const text of stream.pipeThrough(new TextDecoderStream())) {
        this.#text += text;
        this.#wake();
      }
    };
    this.#output = Promise.all([read(this.#child.stdout), read(this.#child.stderr)]).then(() => {
      this.#exited = true;
      this.#wake();
    });
  }

  /** Everything printed so far, stdout and stderr together. */
  get output(): string {
    return this.#text;
  }

  /** Waits until \`text\` is printed after the previous match; fails at the deadline or exit. */
  async waitFor(text: string): Promise<void> {
    const deadline = Date.now() + DEADLINE_MS;
    while (true) {
      const at = this.#text.indexOf(text, this.#cursor);
      if (at >= 0) {
        this.#cursor = at + text.length;
        return;
      }
      const left = deadline - Date.now();
      if (this.#exited || left <= 0) {
        throw new Error(
          \`"\${text}" did not appear (\${this.#exited ? "exited" : "timed out"}):\\n\${this.#text}\`,
        );
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
    }
  }

  /** Sends a signal, as \`kill\` would. */
  kill(signal: Deno.Signal): void {
    this.#child.kill(signal);
  }

  /** Waits for the exit (killing the app at the deadline) and returns its code. */
  async finished(): Promise<number> {
    const timer = setTimeout(() => this.#exited || this.#child.kill("SIGKILL"), DEADLINE_MS);
    try {
      const status = await this.#child.status;
      await this.#output;
      return status.code;
    } finally {
      clearTimeout(timer);
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.#exited) {
      try {
        this.#child.kill("SIGKILL");
      } catch {
        // It has just exited.
      }
    }
    await this.finished();
  }
}

Deno.test("the app runs process() on its schedule and stops cleanly on TERM", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const config = \`\${dir}/test.yml\`;
    await Deno.writeTextFile(config, "Application:\\n  wake_interval: 0.05\\n");
    await using app = new App(["-c", config, "-f", "--dry-run"], await permissionFlags());
    await app.waitFor(\`setup invoked on \${Deno.build.os} (Deno \${Deno.version.deno})\`);
    await app.waitFor("process invoked (dry run: true)");
    await app.waitFor("process invoked (dry run: true)");
    app.kill("SIGTERM");
    assert.equal(await app.finished(), 0, app.output);
    assert.match(app.output, /cleanup invoked/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--help shows the app's own options and description", async () => {
  await using app = new App(["--help"], await permissionFlags());
  assert.equal(await app.finished(), 0, app.output);
  assert.ok(app.output.startsWith(\`Usage: \${NAME} [command] [options]\`), app.output);
  assert.match(app.output, /ticks, reloads on HUP, stops on TERM/);
  await using run = new App(["run", "--help"], await permissionFlags());
  assert.equal(await run.finished(), 0, run.output);
  assert.match(run.output, /--dry-run +log what/);
  assert.ok(run.output.includes("log what process() would do, change nothing"), run.output);
});

Deno.test("a new file in actions/ is an action, with no registration", async () => {
  const file = \`\${ROOT}actions/shout_probe.ts\`;
  await Deno.writeTextFile(
    file,
    'export default class ShoutProbe {\\n  static description = "Shouts";\\n  run() {}\\n}\\n',
  );
  try {
    await using app = new App(["list"], await permissionFlags());
    assert.equal(await app.finished(), 0, app.output);
    assert.match(app.output, /^shout_probe +Shouts \(\)/m);
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("the shipped config is valid and its actions load", async () => {
  await using app = new App(["check", "-c", CONFIG], await permissionFlags());
  assert.equal(await app.finished(), 0, app.output);
  assert.match(app.output, /usr2: hello "world"/);
  assert.match(app.output, /config OK/);
});
`;
}
