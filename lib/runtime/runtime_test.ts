import assert from "node:assert/strict";
import { type Config, parseConfig } from "../config/config.ts";
import { Controller } from "./controller.ts";
import { Runtime } from "./runtime.ts";
import type { SignalName, SignalSource } from "../os/signals.ts";
import { FakeClock } from "../core/_fake_clock.ts";
import type { RuntimeEvent } from "./runtime_options.ts";

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

/** A config whose ticks come every 10 ms (of the fake clock, in the tests that install one). */
function config(text = "Application:\n  wake_interval: 0.01\n"): Promise<Config> {
  return parseConfig(text, "");
}

/** The events a runtime told, as `type` or `type index`. */
function recorder(): { seen: string[]; observe: (event: RuntimeEvent) => void } {
  const seen: string[] = [];
  return {
    seen,
    observe: (event) => seen.push(event.type === "tick" ? `tick ${event.index}` : event.type),
  };
}

Deno.test("Runtime moves through helper's states and the getters follow", async () => {
  using clock = FakeClock.install();
  const events = recorder();
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
  } as never, { name: "t", config: await config(), signals, clock, observe: events.observe });
  const done = runtime.run();
  // Tick 0 ran right after setup(); tick 1 waits for the clock.
  assert.equal(await clock.next(), 10);
  assert.equal(await done, 0);
  assert.deepEqual(events.seen, ["ready", "tick 0", "tick 1", "stopping"]);
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
  using clock = FakeClock.install();
  const events = recorder();
  const signals = new FakeSignals();
  let ticks = 0;
  class App extends Controller {
    override process(): void {
      ticks++;
      if (ticks === 2) assert.equal(this.setState("idle"), true);
    }
  }
  const app = new App();
  const runtime = new Runtime(function () {
    return app;
  } as never, { name: "t", config: await config(), signals, clock, observe: events.observe });
  const done = runtime.run();
  // Tick 0 ran; the runtime sleeps until the timer of tick 1 fires.
  await clock.armed();
  assert.deepEqual([ticks, app.currentState], [1, "Sleeping"]);
  await clock.next(); // tick 1: process() sets idle
  await clock.armed();
  assert.deepEqual([ticks, app.currentState], [2, "Idle"]);
  // Idle: ten intervals pass, each tick skipped.
  for (let i = 0; i < 10; i++) {
    await clock.next();
    await clock.armed();
  }
  assert.equal(ticks, 2);
  assert.deepEqual(events.seen, ["ready", "tick 0", "tick 1"]);
  assert.equal(app.setState("sleeping"), true);
  await clock.next(); // tick 12 runs process() again
  await clock.armed();
  assert.equal(ticks, 3);
  assert.deepEqual(events.seen.slice(3), ["tick 12"]);
  signals.emit("SIGTERM");
  assert.equal(await done, 0);
  assert.equal(clock.nowMs(), 120, "no time passed but the clock's");
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
  const running = Promise.withResolvers<void>();
  class Loop extends Controller {
    override async run(signal: AbortSignal): Promise<void> {
      seen.push(`run ${this.currentState}`);
      running.resolve();
      await new Promise((resolve) => signal.addEventListener("abort", resolve));
      seen.push(`aborted ${this.currentState}`);
    }
    override cleanup(): void {
      seen.push("cleanup");
    }
  }
  const runtime = new Runtime(Loop as never, { name: "t", config: await config(), signals });
  const done = runtime.run();
  await running.promise; // run() is in flight
  signals.emit("SIGINT");
  assert.equal(await done, 0);
  assert.deepEqual(seen, ["run Active", "aborted Stop Requested", "cleanup"]);
});

Deno.test("Runtime appends the error that ended the run to the errors file when not in the foreground", async () => {
  const dir = await Deno.makeTempDir();
  try {
    class App extends Controller {
      override setup(): void {
        throw new Error("setup failed");
      }
    }
    const runtime = new Runtime(App as never, {
      name: "bg",
      config: await config(),
      signals: new FakeSignals(),
      foreground: false,
      errorsFileDirs: [dir],
    });
    // run() resolves once the errors file is written.
    assert.notEqual(await runtime.run(), 0);
    const text = await Deno.readTextFile(`${dir}/bg.errors`);
    assert.match(text, /bg Exception \[/);
    assert.match(text, /Error: setup failed\n\s+at App.setup/);
    assert.match(text, /\[END\]\n$/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Runtime keeps a process() that threw out of the errors file: the next tick runs", async () => {
  using clock = FakeClock.install();
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
      clock,
    });
    const done = runtime.run();
    await clock.next(); // tick 0 threw at once; tick 1 runs and stops it
    assert.equal(await done, 0);
    assert.equal(ticks, 2);
    await assert.rejects(() => Deno.stat(`${dir}/bg.errors`), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Runtime reload without a config file keeps running", async () => {
  using clock = FakeClock.install();
  const events = recorder();
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
  const runtime = new Runtime(App as never, {
    name: "t",
    config: await config(),
    signals,
    clock,
    observe: events.observe,
  });
  const done = runtime.run();
  await clock.next(); // tick 1, after the HUP's reload
  await clock.next(); // tick 2 stops it
  assert.equal(await done, 0);
  assert.equal(reloaded, 0, "no config was reloaded: configurationReloaded() is not called");
  assert.deepEqual(events.seen, [
    "ready",
    "tick 0",
    "reloading",
    "reloaded",
    "tick 1",
    "tick 2",
    "stopping",
  ]);
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
  using clock = FakeClock.install();
  let ticks = 0;
  class App extends Controller {
    override process(): void {
      if (++ticks === 2) signals.emit("SIGTERM");
    }
  }
  const plain = new Runtime(App as never, { name: "t", config: await config(), signals, clock });
  const done = plain.run();
  await clock.next();
  assert.equal(await done, 0);
  assert.equal(ticks, 2);
});

Deno.test("Runtime waits out a wake_interval past the timer limit as written (3000000 s is 34.7 days)", async () => {
  using clock = FakeClock.install();
  const signals = new FakeSignals();
  const ticks: number[] = [];
  class App extends Controller {
    override process(): void {
      ticks.push(clock.nowMs());
      if (ticks.length === 2) signals.emit("SIGTERM");
    }
  }
  const runtime = new Runtime(App as never, {
    name: "t",
    config: await config("Application:\n  wake_interval: 3000000\n"),
    signals,
    clock,
  });
  const done = runtime.run();
  // The timer limit (2^31-1 ms, 24.8 days) passes without a tick: the wait is chained.
  assert.equal(await clock.next(), 2 ** 31 - 1);
  assert.deepEqual(ticks, [0]);
  assert.equal(await clock.next(), 3e9);
  assert.equal(await done, 0);
  assert.deepEqual(ticks, [0, 3e9]);
});
