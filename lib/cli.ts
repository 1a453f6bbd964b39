/**
 * The command line, shared by `main.ts` (tool mode: `flagstaff run …`) and
 * `start()` (library mode: an app's own binary). This module and `main.ts`
 * are the only ones that print; {@link runCli} returns the exit code and
 * `main.ts` exits with it.
 *
 * @module
 */

import { basename, dirname, extname } from "node:path";
import { type Config, defaultConfig, loadConfig } from "./config.ts";
import type { ControllerClass } from "./controller.ts";
import { Command, CommanderError, Option } from "./deps.ts";
import { ConfigError, EXIT_CODES, FlagstaffError } from "./errors.ts";
import { loadController } from "./loader.ts";
import { applyLogging, shutdownLogging } from "./logging.ts";
import { Runtime } from "./runtime.ts";
import { VERSION } from "./version.ts";

/** Options for {@link runCli}. */
export interface CliOptions {
  /** Library mode: the app's controller class; `--controller` is then not offered. */
  controller?: ControllerClass;
  /** Library mode: the app's name (program name, logger category, errors file). */
  name?: string;
  /** Library mode: the app's version for `--version`. Default flagstaff's. */
  version?: string;
}

interface RunFlags {
  config?: string;
  controller?: string;
  foreground?: boolean;
  verbose: number;
  quiet: number;
}

const encoder = new TextEncoder();

function write(stream: { writeSync(p: Uint8Array): number }, text: string): void {
  let bytes = encoder.encode(text);
  while (bytes.length > 0) bytes = bytes.subarray(stream.writeSync(bytes));
}

/** Prints a user-facing error as `error: …`; with `-v`, its cause chain too. */
function printError(error: unknown, verbose: boolean): void {
  if (error instanceof AggregateError) {
    for (const each of error.errors) printError(each, verbose);
    return;
  }
  if (error instanceof ConfigError && error.issues.length > 1) {
    for (const issue of error.issues) {
      write(Deno.stderr, `error: ${new ConfigError([issue]).message}\n`);
    }
  } else {
    write(Deno.stderr, `error: ${error instanceof Error ? error.message : String(error)}\n`);
  }
  if (!verbose) return;
  let cause = error instanceof Error ? error.cause : undefined;
  if (!(error instanceof FlagstaffError) && error instanceof Error && error.stack) {
    write(Deno.stderr, `${error.stack}\n`);
  }
  while (cause !== undefined) {
    write(
      Deno.stderr,
      `caused by: ${cause instanceof Error ? (cause.stack ?? cause.message) : String(cause)}\n`,
    );
    cause = cause instanceof Error ? cause.cause : undefined;
  }
}

function exitCodeOf(error: unknown): number {
  if (error instanceof AggregateError) return Math.max(...error.errors.map(exitCodeOf));
  return error instanceof FlagstaffError ? error.exitCode : EXIT_CODES.failure;
}

/** A missing Deno permission, wherever it surfaced, becomes a `permission` error. */
function asUserError(error: unknown): unknown {
  if (error instanceof AggregateError) {
    return new AggregateError(error.errors.map(asUserError), error.message);
  }
  if (error instanceof Deno.errors.NotCapable) {
    const detail = error.message.split("\n")[0].replace(/, run again with.*$/, "");
    return new FlagstaffError(
      "permission",
      `Missing permission: ${detail}; run with the documented flags (see "Permissions" in the README)`,
      { cause: error },
    );
  }
  return error;
}

const increase = (_: string, previous: number) => previous + 1;

function addRunOptions(command: Command, library: boolean, run = true): Command {
  command.option("-c, --config <file>", "YAML config file (sections Application, Daemon, Logging)");
  if (run) {
    command.option(
      "-f, --foreground",
      "run in the foreground (the default; accepted for helper compatibility)",
    );
  }
  command
    .addOption(
      new Option("-v, --verbose", "log more; repeat for more (-vv)").argParser(increase).default(0),
    )
    .addOption(
      new Option("-q, --quiet", "log less; repeat for less (-qq)").argParser(increase).default(0),
    );
  if (!library) {
    command.option(
      "--controller <module>",
      "controller module, a path or URL (overrides Application.controller)",
    );
  }
  return command;
}

/** What `run` and `check` load before anything runs. */
interface Loaded {
  config: Config;
  controller: ControllerClass;
  controllerSource: string;
  name: string;
}

async function load(flags: RunFlags, options: CliOptions): Promise<Loaded> {
  const config = flags.config ? await loadConfig(flags.config) : defaultConfig();
  return { config, ...await loadControllerFor(config, flags, options) };
}

async function loadControllerFor(
  config: Config,
  flags: RunFlags,
  options: CliOptions,
): Promise<Omit<Loaded, "config">> {
  if (options.controller) {
    return {
      controller: options.controller,
      controllerSource: `class ${options.controller.name}`,
      name: options.name ?? options.controller.name,
    };
  }
  const specifier = flags.controller ?? config.application.controller;
  if (!specifier) {
    throw new FlagstaffError(
      "usage",
      "No controller configured: give --controller MODULE or set Application.controller in the config",
    );
  }
  // A path in the config is relative to the config file; on the command line, to the working directory.
  const baseDir = flags.controller || !config.file ? Deno.cwd() : dirname(config.file);
  const controller = await loadController(specifier, { baseDir });
  const name = options.name ?? stem(config.file ?? specifier);
  return { controller, controllerSource: specifier, name };
}

function stem(path: string): string {
  const base = basename(new URL(path, "file:///").pathname);
  return base.slice(0, base.length - extname(base).length) || "flagstaff";
}

async function runCommand(flags: RunFlags, options: CliOptions): Promise<number> {
  const verbosity = flags.verbose - flags.quiet;
  const loaded = await load(flags, options);
  const foreground = true;
  const configureLogging = (config: Config) =>
    applyLogging(config.logging, { foreground, verbosity });
  try {
    await configureLogging(loaded.config);
  } catch (error) {
    throw new FlagstaffError(
      "config_invalid",
      `Cannot set up logging: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  try {
    const runtime = new Runtime(loaded.controller, {
      name: loaded.name,
      config: loaded.config,
      foreground,
      configureLogging,
    });
    return await runtime.run();
  } finally {
    await shutdownLogging();
  }
}

async function checkCommand(flags: RunFlags, options: CliOptions): Promise<number> {
  // Gather every problem: the config's, then the controller's (with the
  // defaults standing in for a config that did not load).
  const problems: unknown[] = [];
  let config: Config | undefined;
  try {
    config = flags.config ? await loadConfig(flags.config) : defaultConfig();
  } catch (error) {
    problems.push(error);
  }
  let loaded: Omit<Loaded, "config"> | undefined;
  try {
    loaded = await loadControllerFor(
      config ?? defaultConfig(),
      config ? flags : { ...flags, config: undefined },
      options,
    );
  } catch (error) {
    if (config || flags.controller || options.controller) problems.push(error);
  }
  if (problems.length === 1) throw problems[0];
  if (problems.length > 1) throw new AggregateError(problems, "Several problems");
  const lines = [
    `config: ${config!.file ?? "(none: built-in defaults)"}`,
    `name: ${loaded!.name}`,
    `controller: ${loaded!.controllerSource}`,
    `wake_interval: ${config!.application.wake_interval} s`,
    `stop_timeout: ${config!.daemon.stop_timeout} s`,
    `logging: ${config!.logging ? "from the Logging section" : "console default (stderr, INFO)"}`,
    "signals: TERM, INT stop; HUP, USR1 reload the config; USR2 calls onSigusr2()",
    "config OK",
  ];
  write(Deno.stdout, lines.join("\n") + "\n");
  return EXIT_CODES.ok;
}

/**
 * Parses `argv` and runs the command. Returns the exit code; never exits.
 *
 * @example
 * ```ts ignore
 * import { runCli } from "./cli.ts";
 * Deno.exit(await runCli(Deno.args));
 * ```
 */
export async function runCli(argv: readonly string[], options: CliOptions = {}): Promise<number> {
  const library = options.controller !== undefined;
  let exitCode: number = EXIT_CODES.ok;
  let verbose = argv.some((arg) => /^-v+$/.test(arg) || arg === "--verbose");
  const program = new Command(options.name ?? "flagstaff")
    .description(
      library
        ? `${options.name ?? "app"}: a flagstaff app`
        : "Run a long-lived TypeScript process: a controller on a wake schedule, driven by signals",
    )
    .version(options.version ?? VERSION, "--version", "print the version and exit")
    .helpOption("-h, --help", "print help and exit")
    .configureOutput({
      writeOut: (text) => write(Deno.stdout, text),
      writeErr: (text) => write(Deno.stderr, text),
    })
    .exitOverride()
    .showHelpAfterError("(run with --help for usage)");

  const run = addRunOptions(
    program.command("run", { isDefault: library }).description(
      "run the controller in the foreground until TERM or INT",
    ),
    library,
  ).action(async (flags: RunFlags) => {
    verbose = flags.verbose > 0;
    exitCode = await runCommand(flags, options);
  });
  run.exitOverride();
  addRunOptions(
    program.command("check").description(
      "load and validate the config and the controller, print what would run (exit 0), or every problem (exit 2)",
    ),
    library,
    false,
  ).action(async (flags: RunFlags) => {
    verbose = flags.verbose > 0;
    exitCode = await checkCommand(flags, options);
  });

  try {
    await program.parseAsync([...argv], { from: "user" });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? EXIT_CODES.ok : EXIT_CODES.usage;
    }
    const userError = asUserError(error);
    printError(userError, verbose);
    return exitCodeOf(userError);
  }
}
