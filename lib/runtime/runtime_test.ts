import assert from "node:assert/strict";
import { type Config, parseConfig } from "../config/config.ts";
import { Controller } from "./controller.ts";
import { Runtime } from "./runtime.ts";
import type { SignalName, SignalSource } from "../os/signals.ts";

/** A signal source the test fires by hand. */
class FakeSignals implements SignalSource {
  readonly handlers = new Set<(signal: SignalName) => void>();
  readonly unavailable = new Set<SignalName>();
  listen(handler: (signal: SignalName) => void): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }
  listening(signal: SignalName): boolean {
    return !this.unavailable.has(signal);
  }
  emit(signal: SignalName): void {
    if (this.unavailable.has(signal)) return;
    for (const handler of this.handlers) handler(signal);
  }
  get count(): number {
    return this.handlers.size;
  }
}

function config(text = "Application:\n  wake_interval: 0.01\n"): Promise<Config> {
  return parseConfig(text, "");
}

function until(predicate: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const check = () => predicate() ? resolve() : setTimeout(check, 1);
    check();
  });
}

Deno.test("Runtime moves through helper's states and the getters follow", async () => {
  const seen: string[] = [];
  const signals = new FakeSignals();
  class App extends Controller {
    override setup(): void {
      seen.push(`setup ${this.currentState} running=${this.isRunning} init=${this.isInitializing}`);
    }
    override process(): void {
      seen.push(`process ${this.currentState} active=${this.isActive}`);
      if (seen.length === 3) signals.emit("SIGTERM");
    }
    override cleanup(): void {
      seen.push(
        `cleanup ${this.currentState} stopping=${this.isStopping} aborted=${this.signal.aborted}`,
      );
    }
  }
  const app = new App();
  const runtime = new Runtime(function () {
    return app;
  } as never, { name: "t", config: await config(), signals });
  const code = await runtime.run();
  assert.equal(code, 0);
  assert.deepEqual(seen, [
    "setup Initializing running=true init=true",
    "process Active active=true",
    "process Active active=true",
    "cleanup Stopping stopping=true aborted=true",
  ]);
  assert.equal(app.currentState, "Stopped");
  assert.ok(app.isStopped);
  assert.equal(signals.count, 0, "every signal listener is removed");
});

Deno.test("Runtime sleeps between ticks and setState('idle') pauses process()", async () => {
  const signals = new FakeSignals();
  let ticks = 0;
  let sleeping = false;
  class App extends Controller {
    override process(): void {
      ticks++;
      if (ticks === 2) assert.equal(this.setState("idle"), true);
    }
  }
  const app = new App();
  const runtime = new Runtime(function () {
    return app;
  } as never, { name: "t", config: await config(), signals });
  const done = runtime.run();
  await until(() => ticks === 1 && app.isSleeping && (sleeping = true));
  await until(() => app.isIdle);
  // Idle: several intervals pass without a tick.
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(ticks, 2);
  assert.equal(app.setState("sleeping"), true);
  await until(() => ticks === 3);
  signals.emit("SIGTERM");
  assert.equal(await done, 0);
  assert.ok(sleeping);
});

Deno.test("Controller.setState() rejects unknown states and forbidden transitions", async () => {
  const signals = new FakeSignals();
  const results: unknown[] = [];
  class App extends Controller {
    override setup(): void {
      assert.throws(() => this.setState("paused" as never), /Invalid state "paused"/);
      results.push(this.setState("stopped"), this.setState("stopping"), this.setState("active"));
    }
    override process(): void {
      signals.emit("SIGTERM");
    }
    override cleanup(): void {
      results.push(this.setState("active"));
    }
  }
  const app = new App();
  const runtime = new Runtime(function () {
    return app;
  } as never, { name: "t", config: await config(), signals });
  assert.equal(await runtime.run(), 0);
  // The runtime owns stopping and stopped; nothing leaves stopping.
  assert.deepEqual(results, [false, false, true, false]);
});

Deno.test("Runtime gives run() an AbortSignal that fires on stop", async () => {
  const signals = new FakeSignals();
  const seen: string[] = [];
  class Loop extends Controller {
    override async run(signal: AbortSignal): Promise<void> {
      seen.push(`run ${this.currentState}`);
      setTimeout(() => signals.emit("SIGINT"), 5);
      await new Promise((resolve) => signal.addEventListener("abort", resolve));
      seen.push(`aborted ${this.currentState}`);
    }
    override cleanup(): void {
      seen.push("cleanup");
    }
  }
  const runtime = new Runtime(Loop as never, { name: "t", config: await config(), signals });
  assert.equal(await runtime.run(), 0);
  assert.deepEqual(seen, ["run Active", "aborted Stop Requested", "cleanup"]);
});

Deno.test("Runtime appends unhandled errors to the errors file when not in the foreground", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const signals = new FakeSignals();
    let ticks = 0;
    class App extends Controller {
      override process(): void {
        if (++ticks === 1) throw new Error("tick failed");
        signals.emit("SIGTERM");
      }
    }
    const runtime = new Runtime(App as never, {
      name: "bg",
      config: await config(),
      signals,
      foreground: false,
      errorsFileDirs: [dir],
    });
    assert.equal(await runtime.run(), 0);
    await until(() => {
      try {
        return Deno.readTextFileSync(`${dir}/bg.errors`).includes("[END]");
      } catch {
        return false;
      }
    });
    const text = await Deno.readTextFile(`${dir}/bg.errors`);
    assert.match(text, /bg Exception \[/);
    assert.match(text, /Error: tick failed\n\s+at App.process/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Runtime reload without a config file keeps running", async () => {
  const signals = new FakeSignals();
  let reloaded = 0;
  let ticks = 0;
  class App extends Controller {
    override process(): void {
      if (++ticks === 1) signals.emit("SIGHUP");
      if (ticks === 3) signals.emit("SIGTERM");
    }
    override configurationReloaded(): void {
      reloaded++;
    }
  }
  const runtime = new Runtime(App as never, { name: "t", config: await config(), signals });
  assert.equal(await runtime.run(), 0);
  assert.equal(reloaded, 0);
});

Deno.test("Runtime refuses a signal the platform cannot deliver only when actions need it", async () => {
  const { ActionRegistry } = await import("./action_registry.ts");
  const registry = new ActionRegistry([{
    name: "noop",
    origin: "built-in",
    load: () =>
      Promise.resolve(
        class {
          run() {}
        } as never,
      ),
  }]);
  // Windows has no USR1/USR2.
  const signals = new FakeSignals();
  signals.unavailable.add("SIGUSR1").add("SIGUSR2");
  const withActions = new Runtime(undefined, {
    name: "t",
    config: await config(),
    signals,
    cliActions: { SIGUSR1: [{ name: "noop", args: [], origin: "--usr1" }] },
    loadRegistry: () => Promise.resolve(registry),
  });
  await assert.rejects(() => withActions.run(), /Cannot listen to SIGUSR1 on \w+/);

  // Without actions for USR1/USR2 their defaults are skipped and the controller runs.
  let ticks = 0;
  class App extends Controller {
    override process(): void {
      if (++ticks === 2) signals.emit("SIGTERM");
    }
  }
  const plain = new Runtime(App as never, { name: "t", config: await config(), signals });
  assert.equal(await plain.run(), 0);
});
