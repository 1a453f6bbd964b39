/**
 * The demo controller of `deno task demo`. A tool-mode controller: a plain
 * class that imports flagstaff's types only and gets everything from the
 * context it is handed.
 */
import type { ControllerContext } from "../lib/mod.ts";

export default class Demo {
  #ticks = 0;

  setup({ logger }: ControllerContext): void {
    const pid = Deno.pid;
    logger.info(
      `Demo running as pid ${pid}. From another terminal: kill -HUP ${pid} reloads examples/demo.yml, ` +
        `kill -USR2 ${pid} says hello, kill -TERM ${pid} (or Ctrl-C here) stops`,
    );
  }

  process({ config, logger }: ControllerContext): void {
    this.#ticks++;
    logger.info("Tick {n}: {greeting}", { n: this.#ticks, greeting: config.application.greeting });
  }

  configurationReloaded({ config, logger }: ControllerContext): void {
    logger.info("Config reloaded: greeting is now {greeting}, every {seconds} s", {
      greeting: config.application.greeting,
      seconds: config.application.wake_interval,
    });
  }

  onSigusr2({ logger }: ControllerContext): void {
    logger.info("Hello from onSigusr2() after {n} ticks", { n: this.#ticks });
  }

  cleanup({ logger }: ControllerContext): void {
    logger.info("Cleaning up after {n} tick(s)", { n: this.#ticks });
  }
}
