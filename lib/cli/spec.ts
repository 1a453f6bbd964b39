/**
 * What a command is, as data: its options, arguments and help texts. The
 * argv grammar (`argv.ts`) parses by these specs and the help (`help.ts`)
 * prints them, so a command's options are written once, in its own file
 * (`run.ts`, `check.ts`, …).
 *
 * @module
 */

import type { ActionSignal, ActionUse } from "../config/config.ts";

/** One option of a command. */
export interface OptionSpec {
  /** The long name, without dashes: `config` for `--config`. */
  readonly long: string;
  /** The one-letter short name: `c` for `-c`. Default: none. */
  readonly short?: string;
  /** The value's name when the option takes one: `file` shows as `--config <file>`. */
  readonly value?: string;
  /** `count`: repeatable, counted (`-vv` is 2); `list`: repeatable, each value kept. */
  readonly repeat?: "count" | "list";
  /** One line of help. */
  readonly description: string;
  /** What help shows as the default: `(default: "10")`. Default: none. */
  readonly defaultText?: string;
}

/** One positional argument of a command. */
export interface ArgumentSpec {
  /** Its name: `signal`. */
  readonly name: string;
  /** One line of help. */
  readonly description: string;
  /** May be left out. Default false. */
  readonly optional?: boolean;
}

/** A command: its options and help. */
export interface CommandSpec {
  /** The word that names it: `run`. */
  readonly name: string;
  /** One line for the program's help. */
  readonly summary: string;
  /** The command's own help text (first paragraph). Default: the summary. */
  readonly description?: string;
  /** Its options, in help order. */
  readonly options: readonly OptionSpec[];
  /** Its positional arguments. Default none. */
  readonly arguments?: readonly ArgumentSpec[];
  /**
   * Whether it takes action flags (`--usr1 ACTION [ARGS...]`, `--every
   * DURATION ACTION [ARGS...]`). Default false.
   */
  readonly actionFlags?: boolean;
  /** Text after the options in its help. Default none. */
  readonly epilog?: string;
}

/** The program: tool mode (`flagstaff`) or an app's own (library mode). */
export interface ProgramSpec {
  /** The program's name in help and messages: `flagstaff`, `myapp`. */
  readonly name: string;
  /** One paragraph under the usage line. */
  readonly description: string;
  /** The usage line, replacing the one made from the commands. Default: made. */
  readonly usage?: string;
  /** Text at the end of the help. Default none. */
  readonly epilog?: string;
  /** Its commands, in help order. */
  readonly commands: readonly CommandSpec[];
  /**
   * The command argv means when it names none: `run` for an app's binary;
   * for `flagstaff` itself, `run` only when argv starts with one of run's
   * options or an action flag.
   */
  readonly defaultCommand: string;
  /** Whether a bare word that is not a command means the default command (an app). Default false. */
  readonly library?: boolean;
}

/** Actions per signal, in the order given. */
export type CliActions = Partial<Record<ActionSignal, ActionUse[]>>;

/** A schedule flag's group: `--every 5m print hi` (repeats of the same text add uses). */
export interface CliSchedule {
  /** `--every` or `--cron`. */
  readonly flag: "--every" | "--cron";
  /** The duration or cron expression, as given. */
  readonly spec: string;
  /** Its actions, in the order given. */
  readonly uses: ActionUse[];
}

/** An option's value after parsing: a string, a flag, a count, or the values of a list. */
export type OptionValue = string | boolean | number | string[];

/** What argv asked for. */
export interface ParsedArgv {
  /** The command to run, or `help` (with `topic`) or `version`. */
  readonly command: string;
  /** For `help`: the command whose help to print; undefined for the program's. */
  readonly topic?: string;
  /** Option values by long name (`--no-systemd` gives `systemd: false`). */
  readonly values: Readonly<Record<string, OptionValue | undefined>>;
  /** The positional arguments, in order. */
  readonly positionals: readonly string[];
  /** The action groups (`--usr1 print hi`), per signal. */
  readonly actions: CliActions;
  /** The schedule groups (`--every 5m print hi`), in the order first given. */
  readonly schedules: readonly CliSchedule[];
}

/** How an option shows in help: `-c, --config <file>`. */
export function optionTerm(option: OptionSpec): string {
  const long = `--${option.long}${option.value ? ` <${option.value}>` : ""}`;
  return option.short ? `-${option.short}, ${long}` : long;
}
