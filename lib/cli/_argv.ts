/**
 * flagman's action flags: `--usr1 ACTION [ARGS...]`, repeatable, where the
 * words after ACTION up to the next option are its arguments. No npm CLI
 * library keeps such groups, so they are split off argv before commander
 * sees the rest.
 *
 * @module
 */

import type { ActionSignal, ActionUse } from "../config/config.ts";
import { FlagstaffError } from "../core/errors.ts";

const FLAGS: Readonly<Record<string, ActionSignal>> = {
  "--hup": "SIGHUP",
  "--usr1": "SIGUSR1",
  "--usr2": "SIGUSR2",
};

/** The action groups and what is left for commander. */
export interface SplitArgv {
  /** argv without the action groups. */
  readonly rest: string[];
  /** Actions per signal, in the order given. */
  readonly actions: Partial<Record<ActionSignal, ActionUse[]>>;
}

/**
 * Splits `--hup/--usr1/--usr2 ACTION [ARGS...]` groups off `argv`. A group's
 * arguments end at the next word that is one of `options` (or a run of known
 * short flags like `-vv`), another action flag, or `--` (dropped).
 *
 * @throws {FlagstaffError} `usage` for an action flag without an action.
 *
 * @example
 * ```ts
 * import { splitActionArgv } from "./_argv.ts";
 * const { rest, actions } = splitActionArgv(
 *   ["--usr1", "print", "a b", "-v", "--usr1", "exec", "ls", "-l"],
 *   new Set(["-v", "--verbose"]),
 * );
 * console.assert(rest.join() === "-v");
 * console.assert(actions.SIGUSR1![1].args.join() === "ls,-l");
 * ```
 */
export function splitActionArgv(argv: readonly string[], options: ReadonlySet<string>): SplitArgv {
  const rest: string[] = [];
  const actions: Partial<Record<ActionSignal, ActionUse[]>> = {};
  const isOption = (word: string) =>
    word in FLAGS || options.has(word) || options.has(word.split("=")[0]) ||
    (/^-[A-Za-z]{2,}$/.test(word) && [...word.slice(1)].every((c) => options.has(`-${c}`)));
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i];
    const signal = FLAGS[word];
    if (!signal) {
      rest.push(word);
      continue;
    }
    const name = argv[i + 1];
    if (name === undefined || isOption(name) || name === "--") {
      throw new FlagstaffError(
        "usage",
        `${word} needs an action name: ${word} ACTION [ARGUMENTS...]`,
      );
    }
    i++;
    const args: string[] = [];
    while (i + 1 < argv.length && !isOption(argv[i + 1])) {
      if (argv[i + 1] === "--") {
        i++;
        break;
      }
      args.push(argv[++i]);
    }
    (actions[signal] ??= []).push({ name, args, origin: word });
  }
  return { rest, actions };
}
