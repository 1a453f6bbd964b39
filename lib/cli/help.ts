/**
 * Help texts, made from the command specs: the program's (`flagstaff
 * --help`) and each command's (`flagstaff run --help`), wrapped at 80
 * columns.
 *
 * @module
 */

import { ACTION_ROWS } from "../core/signal_table.ts";
import { type CommandSpec, type OptionSpec, optionTerm, type ProgramSpec } from "./spec.ts";

const WIDTH = 80;

/** The grammar of action flags, in words. */
const ACTION_GRAMMAR = (name: string) =>
  `Every word after <action> is that action's, up to the next action flag or "--": ` +
  `--usr2 exec sh -c 'echo hi' passes -c to sh. Give ${name}'s own options before the first ` +
  `action flag, or after "--".`;
const HELP_OPTION: OptionSpec = { long: "help", short: "h", description: "print help and exit" };

/** Wraps `text` to `width` columns, indenting continuation lines by `indent`. */
function wrap(text: string, width: number, indent: number): string {
  const words = text.split(/\s+/).filter(Boolean);
  const lines: string[] = [];
  let line = "";
  for (const word of words) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines.join(`\n${" ".repeat(indent)}`);
}

/** A two-column list: terms padded to one width, descriptions wrapped beside them. */
function table(rows: readonly [string, string][]): string {
  const pad = Math.max(...rows.map(([term]) => term.length)) + 2;
  return rows.map(([term, description]) => {
    const left = `  ${term.padEnd(pad)}`;
    if (!description) return left.trimEnd();
    return left + wrap(description, WIDTH - left.length, left.length);
  }).join("\n");
}

function paragraph(text: string): string {
  return text.split("\n\n").map((part) => wrap(part, WIDTH, 0)).join("\n\n");
}

/** The action flags' rows (`--usr1 <action> [words...]`, `--every <duration> …`). */
function actionRows(): [string, string][] {
  return [
    ...ACTION_ROWS.map((row): [string, string] => [
      `${row.actions.flag} <action> [words...]`,
      `add an action for ${row.signal}; repeatable, run in the order given`,
    ]),
    [
      "--every <duration> <action> [words...]",
      "run an action every <duration> (90 or 1.5 seconds, 30s, 5m, 1h, 1d), at whole " +
      "multiples of it since the epoch; the same <duration> again adds an action to that " +
      "schedule",
    ],
    [
      "--cron <expr> <action> [words...]",
      "run an action at the local times of a cron expression (5 fields, 6 with seconds " +
      "first, or @hourly, @daily, @weekly, @monthly); the same <expr> again adds an action " +
      "to that schedule",
    ],
  ];
}

/** The action groups in a usage line. */
const USAGE_ACTIONS =
  "[--hup|--usr1|--usr2 <action> [words...]]... [--every <duration>|--cron <expr> <action> [words...]]...";

/** The usage line of a command. */
export function commandUsage(program: ProgramSpec, command: CommandSpec): string {
  const args = (command.arguments ?? []).map((argument) =>
    argument.optional ? `[${argument.name}]` : `<${argument.name}>`
  );
  // In an app's own program the default command may be left out: `serve [run] [options]`.
  const words = [
    program.library && command.name === program.defaultCommand ? `[${command.name}]` : command.name,
  ];
  return [
    `Usage: ${program.name}`,
    ...words,
    "[options]",
    ...args,
    ...(command.actionFlags ? [USAGE_ACTIONS] : []),
  ].join(" ");
}

/**
 * The help of one command.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { commandHelp } from "./help.ts";
 * const program = { name: "flagstaff", description: "", defaultCommand: "run", commands: [] };
 * const text = commandHelp(program, {
 *   name: "status", summary: "say whether it runs",
 *   options: [{ long: "pidfile", value: "file", description: "the pidfile" }],
 * });
 * assert.equal(text, [
 *   "Usage: flagstaff status [options]", "", "say whether it runs", "", "Options:",
 *   "  --pidfile <file>  the pidfile", "  -h, --help        print help and exit", "",
 * ].join("\n"));
 * ```
 */
export function commandHelp(program: ProgramSpec, command: CommandSpec): string {
  const parts = [commandUsage(program, command), paragraph(command.description ?? command.summary)];
  if (command.arguments?.length) {
    parts.push(`Arguments:\n${table(command.arguments.map((a) => [a.name, a.description]))}`);
  }
  parts.push(
    `Options:\n${
      table([...command.options, HELP_OPTION].map((option) => [
        optionTerm(option),
        option.defaultText
          ? `${option.description} (default: ${option.defaultText})`
          : option.description,
      ]))
    }`,
  );
  if (command.actionFlags) {
    parts.push(`Action flags:\n${table(actionRows())}`);
    parts.push(paragraph(ACTION_GRAMMAR(program.name)));
  }
  if (command.epilog) parts.push(paragraph(command.epilog));
  return `${parts.join("\n\n")}\n`;
}

/** The program's help: usage, description, commands, options, action flags. */
export function programHelp(program: ProgramSpec, version: string): string {
  const run = program.commands.find((command) => command.name === program.defaultCommand);
  const usage = program.usage ??
    (program.library
      ? `Usage: ${program.name} [command] [options]`
      : `Usage: ${program.name} [command] [options] ${USAGE_ACTIONS}`);
  const parts = [usage, paragraph(program.description)];
  if (run && !program.library) {
    parts.push(
      paragraph(
        `Without a command, ${program.name} runs: "${program.name} -c app.yml" and "${program.name} --usr1 print hi" mean "${program.name} run ...".`,
      ),
    );
  } else if (run) {
    parts.push(paragraph(`Without a command, ${program.name} runs ("${program.name} run").`));
  }
  const commandRows: [string, string][] = program.commands.map((command) => [
    `${command.name}${
      command.arguments?.length
        ? ` ${command.arguments.map((a) => a.optional ? `[${a.name}]` : `<${a.name}>`).join(" ")}`
        : ""
    }`,
    command.summary,
  ]);
  commandRows.push(["help [command]", "print help for a command"]);
  parts.push(`Commands:\n${table(commandRows)}`);
  const options: [string, string][] = [["--version", `print the version (${version}) and exit`]];
  if (program.commands.some((command) => command.name === "list")) {
    options.push(["-l, --list", 'list every known action (flagman\'s spelling of "list")']);
  }
  options.push(["-h, --help", "print help and exit"]);
  parts.push(`Options:\n${table(options)}`);
  if (run?.actionFlags) {
    parts.push(`Action flags (run and check):\n${table(actionRows())}`);
    parts.push(paragraph(ACTION_GRAMMAR(program.name)));
  }
  if (program.epilog) parts.push(paragraph(program.epilog));
  return `${parts.join("\n\n")}\n`;
}
