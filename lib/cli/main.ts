/**
 * The command line, shared by `main.ts` (tool mode: `flagstaff run …`) and
 * `start()` (library mode: an app's own binary): parse argv by the commands'
 * specs (`argv.ts`), run the command, turn an error into its message and
 * exit code. {@link runCli} returns the code; `main.ts` exits with it. The
 * command line is the only part of flagstaff that prints.
 *
 * Each command is one file owning its options and runner: `run.ts`
 * (`assemble.ts`), `check.ts`, `list.ts`, `control.ts` (status, stop,
 * reload, signal), `new.ts`.
 *
 * @module
 */

import { EXIT_CODES, FlagstaffError } from "../core/errors.ts";
import { VERSION } from "../core/version.ts";
import { SignalInbox } from "../os/signals.ts";
import type { AppArgs, AppOptions } from "../runtime/controller.ts";
import { parseArgv } from "./argv.ts";
import { check, checkSpec } from "./check.ts";
import type { CliOptions, CommandContext } from "./context.ts";
import {
  reload,
  RELOAD_SPEC,
  signal,
  SIGNAL_SPEC,
  status,
  STATUS_SPEC,
  stop,
  STOP_SPEC,
} from "./control.ts";
import { commandHelp, programHelp } from "./help.ts";
import { list, LIST_SPEC } from "./list.ts";
import { NEW_SPEC, newCommand } from "./new.ts";
import { appOptionSpecs } from "./options.ts";
import { exitCodeOf, out, printError, userError } from "./output.ts";
import { run, runSpec } from "./run.ts";
import { releaseSignals } from "./signals.ts";
import type { OptionValue, ProgramSpec } from "./spec.ts";

export type { CliOptions } from "./context.ts";

type Runner = (context: CommandContext) => Promise<number>;

const RUNNERS: Readonly<Record<string, Runner>> = {
  run,
  check,
  list,
  status,
  stop,
  reload,
  signal: (context) => signal(context),
  new: newCommand,
};

/** The program: flagstaff's commands, or an app's (no `new`, no `--controller`). */
export function programOf(options: CliOptions): ProgramSpec {
  const library = options.controller !== undefined;
  const app = appOptionSpecs(options.appOptions);
  const name = options.name ?? "flagstaff";
  return {
    name,
    description: options.description ??
      (library
        ? `${name}: a flagstaff app`
        : "Run a long-lived TypeScript process: a controller on a wake schedule and actions on signals"),
    usage: options.usage,
    epilog: options.epilog,
    library,
    defaultCommand: "run",
    commands: [
      runSpec(library, app),
      checkSpec(library, app),
      LIST_SPEC,
      STATUS_SPEC,
      STOP_SPEC,
      RELOAD_SPEC,
      SIGNAL_SPEC,
      ...(library ? [] : [NEW_SPEC]),
    ],
  };
}

/**
 * Converts an app's option values to their types and fills in defaults.
 *
 * @throws {FlagstaffError} `usage` naming the option and what it takes.
 */
export function appArgsOf(
  values: Readonly<Record<string, OptionValue | undefined>>,
  options: AppOptions = {},
  program = "app",
): AppArgs {
  const args: Record<string, string | number | boolean | undefined> = {};
  for (const [long, spec] of Object.entries(options)) {
    const given = values[long];
    if (spec.type === "boolean") {
      args[long] = given === true ? true : (spec.default as boolean | undefined) ?? false;
      continue;
    }
    if (given === undefined) {
      args[long] = spec.default;
      continue;
    }
    const text = String(given);
    if (spec.type === "string") {
      args[long] = text;
      continue;
    }
    const number = Number(text);
    const ok = text.trim() !== "" && Number.isFinite(number) &&
      (spec.type === "number" || /^[-+]?\d+$/.test(text.trim()));
    if (!ok) {
      throw new FlagstaffError(
        "usage",
        `Option "--${long}" takes ${
          spec.type === "integer" ? "a whole number" : "a number"
        }, got "${text}" (see "${program} --help")`,
      );
    }
    args[long] = number;
  }
  return args;
}

/**
 * Parses `argv` and runs the command. Returns the exit code; never exits.
 *
 * @param argv The words after the program's name.
 * @param options What tool mode (`main.ts`) or library mode (`start()`) hands in.
 * @returns The exit code (see the README's table).
 *
 * @example
 * ```ts ignore
 * import { runCli } from "./main.ts";
 * Deno.exit(await runCli(Deno.args));
 * ```
 */
export async function runCli(argv: readonly string[], options: CliOptions = {}): Promise<number> {
  const inbox = options.signals ?? SignalInbox.install();
  const program = programOf(options);
  let verbose = argv.some((word) => /^-v+$/.test(word) || word === "--verbose");
  let runs = false;
  try {
    const parsed = parseArgv(argv, program);
    runs = parsed.command === program.defaultCommand;
    if (!runs) releaseSignals(inbox);
    if (parsed.command === "version") {
      out(`${options.version ?? VERSION}\n`);
      return EXIT_CODES.ok;
    }
    if (parsed.command === "help") {
      const topic = program.commands.find((command) => command.name === parsed.topic);
      out(topic ? commandHelp(program, topic) : programHelp(program, options.version ?? VERSION));
      // `flagstaff` alone is not a request for help: say how to ask.
      return argv.length === 0 && !program.library ? EXIT_CODES.usage : EXIT_CODES.ok;
    }
    verbose = typeof parsed.values.verbose === "number" && parsed.values.verbose > 0;
    const context: CommandContext = {
      program,
      values: parsed.values,
      positionals: parsed.positionals,
      actions: parsed.actions,
      schedules: parsed.schedules,
      appArgs: appArgsOf(parsed.values, options.appOptions, program.name),
      options,
      inbox,
      argv,
    };
    return await RUNNERS[parsed.command](context);
  } catch (error) {
    if (!runs) releaseSignals(inbox);
    const shown = userError(error);
    printError(shown, verbose);
    return exitCodeOf(shown);
  }
}
