/**
 * The argv grammar.
 *
 * ```text
 * flagstaff [COMMAND] [OPTIONS...] [ACTION-FLAG ACTION [WORDS...]]... [-- [OPTIONS...]]
 * ACTION-FLAG = --hup | --usr1 | --usr2 | --every DURATION | --cron EXPRESSION
 * ```
 *
 * - flagstaff's own options come before the first action flag (or after a
 *   `--`).
 * - Every word after an action's name belongs to that action, up to the next
 *   action flag or a `--` (which ends the group and is dropped): `--usr2 exec
 *   sh -c 'echo hi'` and `--usr1 exec echo hello -v` reach the program intact.
 *   A word that is itself an action flag cannot be an action's argument.
 * - `--every DURATION` and `--cron EXPRESSION` take one word before the
 *   action's name; repeats with the same word add actions to one schedule,
 *   run in the order given (as repeated `--usr1` do). The word is checked
 *   later (`lib/cli/schedules.ts`): a cron expression needs croner.
 * - Without a command, `run` is meant when argv starts with one of run's
 *   options or an action flag (`flagstaff -c app.yml`, `flagstaff --usr1 print
 *   hi`); in an app's own binary, always. `-l`/`--list` means `list`
 *   (flagman's spelling), `help [COMMAND]` and `-h`/`--help` print help,
 *   `--version` the version.
 *
 * Options are parsed with `node:util`'s `parseArgs` (strict: an unknown option
 * is an error naming it), from each command's {@link CommandSpec}.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { FlagstaffError } from "../core/errors.ts";
import { ACTION_FLAGS } from "../core/signal_table.ts";
import {
  type CliActions,
  type CliSchedule,
  type CommandSpec,
  type OptionSpec,
  optionTerm,
  type OptionValue,
  type ParsedArgv,
  type ProgramSpec,
} from "./spec.ts";

/** The end of an action's words; also where flagstaff's own options may resume. */
export const END_OF_ACTION = "--";

/** The schedule flags, each taking a duration or cron expression before the action. */
export const SCHEDULE_FLAGS: readonly ("--every" | "--cron")[] = ["--every", "--cron"];

/** What a schedule flag's first word is, for messages. */
const SCHEDULE_VALUE = { "--every": "DURATION", "--cron": "'EXPRESSION'" } as const;

/** Whether `word` begins an action group: `--usr1`, `--every`, …. */
export function isActionFlag(word: string): boolean {
  return Object.hasOwn(ACTION_FLAGS, word) || (SCHEDULE_FLAGS as readonly string[]).includes(word);
}

function usageError(program: ProgramSpec, message: string, command?: string): FlagstaffError {
  const help = command ? `${program.name} ${command} --help` : `${program.name} --help`;
  return new FlagstaffError("usage", `${message} (see "${help}")`);
}

/**
 * Splits the action groups off `words`: what is left is the command's own
 * options and positionals, in order.
 *
 * @throws {FlagstaffError} `usage` for an action flag with no action name after it.
 */
export function splitActions(
  words: readonly string[],
  program: ProgramSpec,
  command: string,
): { rest: string[]; actions: CliActions; schedules: CliSchedule[] } {
  const rest: string[] = [];
  const actions: CliActions = {};
  const schedules: CliSchedule[] = [];
  for (let i = 0; i < words.length; i++) {
    const word = words[i];
    if (!isActionFlag(word)) {
      rest.push(word);
      continue;
    }
    const scheduleFlag = (SCHEDULE_FLAGS as readonly string[]).includes(word)
      ? word as CliSchedule["flag"]
      : undefined;
    let spec: string | undefined;
    if (scheduleFlag) {
      spec = words[i + 1];
      if (spec === undefined || isActionFlag(spec) || spec === END_OF_ACTION) {
        const value = SCHEDULE_VALUE[scheduleFlag];
        throw usageError(
          program,
          `${word} needs a ${value === "DURATION" ? "duration" : "cron expression"} and an ` +
            `action: ${word} ${value} ACTION [WORDS...]${
              spec === undefined ? "" : `, got "${spec}"`
            }`,
          command,
        );
      }
      i++;
    }
    const name = words[i + 1];
    if (name === undefined || name.startsWith("-")) {
      const usage = scheduleFlag
        ? `${word} ${spec} ACTION [WORDS...]`
        : `${word} ACTION [WORDS...]`;
      throw usageError(
        program,
        `${scheduleFlag ? `${word} ${JSON.stringify(spec)}` : word} needs an action name: ${usage}${
          name === undefined ? "" : `, got "${name}"`
        }`,
        command,
      );
    }
    i++;
    const args: string[] = [];
    while (i + 1 < words.length && !isActionFlag(words[i + 1])) {
      i++;
      if (words[i] === END_OF_ACTION) break;
      args.push(words[i]);
    }
    if (!scheduleFlag) {
      (actions[ACTION_FLAGS[word]] ??= []).push({ name, args, origin: word });
      continue;
    }
    const origin = `${scheduleFlag} ${JSON.stringify(spec)}`;
    const group = schedules.find((s) => s.flag === scheduleFlag && s.spec === spec);
    if (group) group.uses.push({ name, args, origin });
    else schedules.push({ flag: scheduleFlag, spec: spec!, uses: [{ name, args, origin }] });
  }
  return { rest, actions, schedules };
}

/** Which command argv names, and the words after it. */
function findCommand(
  argv: readonly string[],
  program: ProgramSpec,
): { command: string; topic?: string; words: readonly string[] } {
  const [first, ...after] = argv;
  const names = new Set(program.commands.map((command) => command.name));
  if (first === undefined) {
    if (program.library) return { command: program.defaultCommand, words: [] };
    return { command: "help", words: [] };
  }
  if (first === "--help" || first === "-h") return { command: "help", words: [] };
  if (first === "--version") return { command: "version", words: after };
  if (first === "help") {
    const topic = after[0];
    if (topic !== undefined && !names.has(topic)) {
      throw usageError(program, `Unknown command "${topic}" (expected ${[...names].join(", ")})`);
    }
    return { command: "help", topic, words: [] };
  }
  if ((first === "-l" || first === "--list") && names.has("list")) {
    return { command: "list", words: after };
  }
  if (names.has(first)) return { command: first, words: after };
  const byDefault = program.commands.find((command) => command.name === program.defaultCommand);
  if (program.library) return { command: program.defaultCommand, words: argv };
  if (byDefault && first.startsWith("-")) {
    const flag = first.split("=")[0];
    const known = isActionFlag(flag) || flag === END_OF_ACTION ||
      byDefault.options.some((option) =>
        flag === `--${option.long}` || flag === `--no-${option.long.replace(/^no-/, "")}` ||
        (option.short !== undefined && new RegExp(`^-${option.short}+$`).test(flag))
      );
    if (known) return { command: byDefault.name, words: argv };
    throw usageError(program, `Unknown option "${flag}"`);
  }
  throw usageError(
    program,
    `Unknown command "${first}" (expected ${[...names].join(", ")}, or run's options)`,
  );
}

/**
 * Parses `argv` by `program`'s specs.
 *
 * @param argv The words after the program name.
 * @param program The commands and their options.
 * @returns The command, its option values, positionals and action groups.
 * @throws {FlagstaffError} `usage`, naming the argument: an unknown command
 *   or option, a missing value, a missing or extra positional, an action flag
 *   where the command takes none or without an action name.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseArgv } from "./argv.ts";
 * const program = {
 *   name: "flagstaff", description: "", defaultCommand: "run",
 *   commands: [{ name: "run", summary: "", actionFlags: true, options: [
 *     { long: "config", short: "c", value: "file", description: "" },
 *     { long: "verbose", short: "v", repeat: "count" as const, description: "" },
 *   ] }],
 * };
 * const parsed = parseArgv(["-c", "app.yml", "--usr2", "exec", "sh", "-c", "echo hi", "--", "-vv"], program);
 * assert.equal(parsed.command, "run");
 * assert.deepEqual(parsed.values, { config: "app.yml", verbose: 2 });
 * assert.deepEqual(parsed.actions.SIGUSR2![0].args, ["sh", "-c", "echo hi"]);
 * ```
 */
export function parseArgv(argv: readonly string[], program: ProgramSpec): ParsedArgv {
  const found = findCommand(argv, program);
  if (found.command === "help" || found.command === "version") {
    return {
      command: found.command,
      topic: found.topic,
      values: {},
      positionals: [],
      actions: {},
      schedules: [],
    };
  }
  const spec = program.commands.find((command) => command.name === found.command)!;
  const { rest, actions, schedules } = spec.actionFlags
    ? splitActions(found.words, program, spec.name)
    : { rest: [...found.words], actions: {}, schedules: [] };
  if (!spec.actionFlags) {
    const flag = rest.find(isActionFlag);
    if (flag) {
      throw usageError(program, `"${spec.name}" takes no action flags, got "${flag}"`, spec.name);
    }
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    return {
      command: "help",
      topic: spec.name,
      values: {},
      positionals: [],
      actions: {},
      schedules: [],
    };
  }
  const values = parseOptions(rest.filter((word) => word !== END_OF_ACTION), spec, program);
  checkPositionals(values.positionals, spec, program);
  return {
    command: spec.name,
    values: values.values,
    positionals: values.positionals,
    actions,
    schedules,
  };
}

/** Options whose value is a path: a control character in one is refused (as in a config). */
const PATH_OPTIONS = ["config", "pidfile", "controller", "actions-dir"];

function parseOptions(
  words: readonly string[],
  spec: CommandSpec,
  program: ProgramSpec,
): { values: Record<string, OptionValue | undefined>; positionals: string[] } {
  const options: Record<
    string,
    { type: "string" | "boolean"; short?: string; multiple?: boolean }
  > = {};
  for (const option of spec.options) {
    options[option.long] = {
      type: option.value ? "string" : "boolean",
      multiple: option.repeat !== undefined,
      ...(option.short ? { short: option.short } : {}),
    };
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: negativeValuesJoined(words, spec),
      options,
      strict: true,
      allowPositionals: (spec.arguments?.length ?? 0) > 0,
    });
  } catch (error) {
    throw usageError(program, describeParseError(error, spec), spec.name);
  }
  const values: Record<string, OptionValue | undefined> = {};
  for (const option of spec.options) {
    const value = parsed.values[option.long] as OptionValue | (string | boolean)[] | undefined;
    if (value === undefined) continue;
    // deno-lint-ignore no-control-regex
    if (PATH_OPTIONS.includes(option.long) && /[\u0000-\u001f\u007f]/.test(String(value))) {
      throw usageError(
        program,
        `Option "${optionTerm(option)}" takes a path without control characters, got ${
          JSON.stringify(value)
        }`,
        spec.name,
      );
    }
    const key = option.long.startsWith("no-") ? option.long.slice(3) : option.long;
    if (option.long.startsWith("no-")) values[key] = false;
    else if (option.repeat === "count") values[key] = (value as unknown[]).length;
    else values[key] = value as OptionValue;
  }
  return { values, positionals: parsed.positionals };
}

/**
 * `--timeout -1` as `--timeout=-1`: parseArgs takes a word that starts with
 * `-` for an option, so a negative number given to an option that takes a
 * value would be "missing"; joined, the option's own check says what is
 * wrong with it.
 */
function negativeValuesJoined(words: readonly string[], spec: CommandSpec): string[] {
  const out: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const word = words[i];
    const option = spec.options.find((o) => word === `--${o.long}` || word === `-${o.short}`);
    if (option?.value && /^-[\d.]/.test(words[i + 1] ?? "")) {
      out.push(`--${option.long}=${words[++i]}`);
    } else out.push(word);
  }
  return out;
}

/** parseArgs' errors in flagstaff's words, naming the argument. */
function describeParseError(error: unknown, spec: CommandSpec): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: string }).code;
  const named = /'([^']+)'/.exec(message)?.[1];
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" && named) {
    const word = named.split("=")[0];
    return `Unknown option "${word}" for "${spec.name}"`;
  }
  if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
    const option = spec.options.find((o) =>
      message.includes(`--${o.long}`) || (o.short && message.includes(`-${o.short},`))
    );
    if (option?.value) return `Option "${optionTerm(option)}" needs a value`;
    if (option) return `Option "${optionTerm(option)}" takes no value`;
  }
  if (code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL" && named) {
    return `"${spec.name}" takes no arguments, got "${named}"`;
  }
  return message;
}

function checkPositionals(
  positionals: readonly string[],
  spec: CommandSpec,
  program: ProgramSpec,
): void {
  const declared = spec.arguments ?? [];
  const required = declared.filter((argument) => !argument.optional);
  if (positionals.length < required.length) {
    const missing = required[positionals.length];
    throw usageError(program, `"${spec.name}" needs the argument <${missing.name}>`, spec.name);
  }
  if (positionals.length > declared.length) {
    const extra = positionals[declared.length];
    throw usageError(
      program,
      declared.length === 0
        ? `"${spec.name}" takes no arguments, got "${extra}"`
        : `"${spec.name}" takes ${declared.length} argument(s), got also "${extra}"`,
      spec.name,
    );
  }
}

/** Reads a counted option (`-vv`). */
export function count(value: OptionValue | undefined): number {
  return typeof value === "number" ? value : 0;
}

/** Reads a string option. */
export function text(value: OptionValue | undefined): string | undefined {
  return typeof value === "string" ? value : undefined;
}

/** Re-exported for command files. */
export type { OptionSpec };
