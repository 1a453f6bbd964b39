/**
 * Where actions come from: the built-ins (handed in, since `lib/` never
 * imports `actions/`), every `*.ts`/`*.js` module of the actions folder
 * (named by file name), and the config's `Actions` section (names mapped to a
 * path or URL, a URL with an optional integrity pin). A name defined twice is
 * an error naming both sources. Modules load through `loader.ts`: keyed on
 * their content, URL modules fetched on each load, and as root a local module
 * (or an actions folder) only when no other user can change it.
 *
 * @module
 */

import { basename, extname, resolve } from "node:path";
import {
  type ActionArgument,
  type ActionClass,
  declaredArguments,
  toActionClass,
} from "./action.ts";
import type { Config } from "../config/config.ts";
import { FlagstaffError } from "../core/errors.ts";
import { codeTrustProblem, untrustedCodeError } from "./code_trust.ts";
import { importModule, resolveModule } from "./loader.ts";
import { moduleErrorText } from "./module_error.ts";
import { getLogger } from "../deps.ts";

const log = getLogger(["flagstaff", "actions"]);

/** One known action. */
export interface ActionSource {
  /** Its name. */
  readonly name: string;
  /** `built-in`, a file path, or a URL. */
  readonly origin: string;
  /**
   * Loads its class, once per registry: a registry is made for each start
   * and each reload, so a start or reload sees the module's current content
   * (an unchanged module is not imported again), and a URL module is fetched
   * once for it however often it is used. `fresh` has no effect (kept for
   * callers).
   */
  load(fresh?: boolean): Promise<ActionClass>;
  /** Whether it is a module of an actions folder (rather than of the config's `Actions`). */
  readonly inFolder?: boolean;
  /**
   * The default actions folder it was found in (`actions/` beside the
   * config, or in the working directory), not one named by `--actions-dir`:
   * its load error then says how to keep a stray file from being loaded.
   */
  readonly defaultFolder?: string;
  /** For an `Actions` entry: where the config gives it, `app.yml line 3 (Actions.greet)`. */
  readonly givenBy?: string;
}

/** What `flagstaff list` shows of an action. */
export interface ActionInfo {
  /** Its name. */
  readonly name: string;
  /** `built-in`, a file path, or a URL. */
  readonly origin: string;
  /** One line. */
  readonly description: string;
  /** What it takes. */
  readonly arguments: readonly ActionArgument[];
}

/** Options for {@link loadActionRegistry}. */
export interface ActionRegistryOptions {
  /** The built-in actions by name. Default: none. */
  builtins?: Readonly<Record<string, ActionClass>>;
  /**
   * The actions folders, scanned in order (an app's own folder, then the
   * config's or `--actions-dir`). The same folder given twice is scanned
   * once. A missing folder is skipped, or an error when `required`. A folder
   * this user may not look at (after a privilege drop) is an error naming it
   * and the user when `required`; else it is skipped silently when
   * `missingBeforeDrop` (it was looked at before the drop, and was not
   * there), or with one warning naming it and the user.
   */
  actionsDirs?: readonly ActionsDir[];
  /**
   * Says a warning (a folder skipped). Default: logged at warning in the
   * category `flagstaff.actions`.
   */
  warn?: (message: string) => void;
  /** Folders never scanned (flagstaff's own built-in folder). */
  skipDirs?: readonly string[];
  /**
   * The config's `Actions` section (a path or URL, or `{module, integrity}`),
   * and the folder its paths are relative to. Default: none.
   */
  configActions?: {
    actions: Config["actions"];
    baseDir: string;
    /** Where each entry is given (`app.yml line 3 (Actions.greet)`), for messages. */
    origins?: Readonly<Record<string, string>>;
  };
}

/** An actions folder to scan (see {@link ActionRegistryOptions.actionsDirs}). */
export interface ActionsDir {
  /** Its path, as given. */
  readonly path: string;
  /** Given explicitly (`--actions-dir`): missing or unreadable is an error. */
  readonly required: boolean;
  /** Looked at before the privilege drop and found missing. Default false. */
  readonly missingBeforeDrop?: boolean;
}

/** Folders already warned about, so that reloads do not repeat the warning. */
const warnedFolders = new Set<string>();

/** Files of an actions folder that are not actions. */
function isActionFile(name: string): boolean {
  return /\.(ts|js|mts|mjs)$/.test(name) && !name.startsWith("_") && !name.startsWith(".") &&
    !/[._]test\.[mc]?[tj]s$/.test(name) && !name.endsWith(".d.ts") &&
    !/^mod\.[mc]?[tj]s$/.test(name);
}

/**
 * The known actions by name.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ActionRegistry } from "./action_registry.ts";
 * const registry = new ActionRegistry([]);
 * assert.equal(registry.get("print"), undefined);
 * ```
 */
export class ActionRegistry {
  readonly #sources = new Map<string, ActionSource>();

  /** Creates a registry; a name given twice is an error naming both sources. */
  constructor(sources: readonly ActionSource[]) {
    for (const source of sources) {
      const other = this.#sources.get(source.name);
      if (other) {
        throw new FlagstaffError(
          "usage",
          `Action "${source.name}" is defined twice: ${described(other)} and ${described(source)}`,
        );
      }
      this.#sources.set(source.name, source);
    }
  }

  /** The action called `name`, if known. */
  get(name: string): ActionSource | undefined {
    return this.#sources.get(name);
  }

  /** Every name, sorted. */
  names(): string[] {
    return [...this.#sources.keys()].sort();
  }

  /**
   * Loads every action (the modules of the actions folders and every entry
   * of the config's `Actions`) and returns what failed, one error per module
   * naming it: a broken one is refused by `check`, `run` and reload alike,
   * whether or not a signal or schedule uses it (as `list` does).
   *
   * @returns The broken actions' names, each with its error, in name order.
   */
  async problems(): Promise<Map<string, FlagstaffError>> {
    const found = new Map<string, FlagstaffError>();
    for (const name of this.names()) {
      const source = this.#sources.get(name)!;
      try {
        await loadSource(source);
      } catch (error) {
        found.set(name, error as FlagstaffError);
      }
    }
    return found;
  }

  /** Loads every action and describes it, sorted by name. */
  async describe(): Promise<ActionInfo[]> {
    const infos: ActionInfo[] = [];
    for (const name of this.names()) {
      const source = this.#sources.get(name)!;
      const cls = await loadSource(source);
      infos.push({
        name,
        origin: source.origin,
        description: oneLine(cls.description ?? ""),
        arguments: declaredArguments(cls),
      });
    }
    return infos;
  }
}

/** Loads a source's class; a failure names the action and where it came from. */
export async function loadSource(source: ActionSource, fresh = false): Promise<ActionClass> {
  try {
    return await source.load(fresh);
  } catch (error) {
    if (error instanceof FlagstaffError) throw error;
    const message = error instanceof Deno.errors.NotCapable
      ? error.message.split("\n")[0]
      : moduleErrorText(error);
    throw new FlagstaffError(
      error instanceof Deno.errors.NotCapable ? "permission" : "usage",
      `Cannot load action "${source.name}" from ${described(source)}${
        source.defaultFolder
          ? " (every module of the actions folder is loaded, used or not: move this one out, " +
            "or give --actions-dir another folder)"
          : ""
      }: ${message}`,
      { cause: error },
    );
  }
}

function oneLine(text: string): string {
  return text.split(/\s+/).filter(Boolean).join(" ");
}

function moduleSource(
  name: string,
  specifier: string,
  baseDir: string,
  integrity?: string,
  inFolder = false,
  defaultFolder?: string,
  givenBy?: string,
): ActionSource {
  const url = resolveModule(specifier, baseDir);
  const origin = url.protocol === "file:" ? decodeURIComponent(url.pathname) : url.href;
  let loading: Promise<ActionClass> | undefined;
  return {
    name,
    origin,
    inFolder,
    defaultFolder,
    givenBy,
    load() {
      loading ??= importModule(url.href, { integrity }).then((module) =>
        toActionClass(module.default)
      );
      return loading;
    },
  };
}

/**
 * Gathers the built-ins, the actions folder and the config's `Actions`. As
 * root, an actions folder that another user could change (or the path to it)
 * is refused whole, and each module is checked when it loads (see
 * `codeTrustProblem` in `loader.ts`).
 *
 * @throws {FlagstaffError} `usage` for a missing required folder, a name
 *   defined twice, or, as root, an actions folder another user could change.
 */
export async function loadActionRegistry(
  options: ActionRegistryOptions = {},
): Promise<ActionRegistry> {
  const sources: ActionSource[] = Object.entries(options.builtins ?? {}).map(([name, cls]) => ({
    name,
    origin: "built-in",
    load: () => Promise.resolve(cls),
  }));
  const skip = await Promise.all((options.skipDirs ?? []).map((d) => realPath(d)));
  const scanned = new Set<string>();
  for (const dir of options.actionsDirs ?? []) {
    const path = resolve(dir.path);
    let real: string | undefined;
    try {
      real = await realPath(path);
    } catch (error) {
      if (await unreadable(dir, path, error, options.warn)) continue;
      throw error;
    }
    if (real === undefined) {
      if (dir.required) {
        throw new FlagstaffError(
          "usage",
          `Cannot read actions folder "${dir.path}": no such folder`,
        );
      }
      continue;
    }
    if (skip.includes(real) || scanned.has(real)) continue;
    scanned.add(real);
    // As root, a folder another user can change is refused whole: they could add any module.
    const problem = await codeTrustProblem(path);
    if (problem) throw untrustedCodeError(`actions folder "${path}"`, problem);
    const files: string[] = [];
    try {
      for await (const entry of Deno.readDir(path)) {
        if ((entry.isFile || entry.isSymlink) && isActionFile(entry.name)) files.push(entry.name);
      }
    } catch (error) {
      if (await unreadable(dir, path, error, options.warn)) continue;
      throw error;
    }
    for (const file of files.sort()) {
      sources.push(
        moduleSource(
          basename(file, extname(file)),
          `${path}/${file}`,
          path,
          undefined,
          true,
          dir.required ? undefined : path,
        ),
      );
    }
  }
  for (const [name, given] of Object.entries(options.configActions?.actions ?? {})) {
    const { baseDir, origins } = options.configActions!;
    const [module, integrity] = typeof given === "string"
      ? [given, undefined]
      : [given.module, given.integrity];
    sources.push(moduleSource(name, module, baseDir, integrity, false, undefined, origins?.[name]));
  }
  return new ActionRegistry(sources);
}

/**
 * Handles an actions folder this user may not look at (`EACCES`): throws for
 * a folder given explicitly, naming it and the user; returns true (skip it)
 * for the default one, with one warning per folder unless it was missing
 * before the privilege drop. False for any other error.
 */
async function unreadable(
  dir: ActionsDir,
  path: string,
  error: unknown,
  warn: (message: string) => void = (message) => log.warn(message),
): Promise<boolean> {
  if (!(error instanceof Deno.errors.PermissionDenied)) return false;
  const user = await currentUser();
  if (dir.required) {
    throw new FlagstaffError(
      "usage",
      `Cannot read actions folder "${dir.path}" as ${user}: permission denied ` +
        "(it and the folders above it must be readable and searchable by that user)",
      { cause: error },
    );
  }
  if (!dir.missingBeforeDrop && !warnedFolders.has(path)) {
    warnedFolders.add(path);
    warn(
      `Skipped the actions folder "${path}": ${user} may not look at it (its modules are not ` +
        "known). Let that user read and search it and the folders above it, or give --actions-dir",
    );
  }
  return true;
}

/** This process's user in words: `user "nobody" (uid 65534)`; `uid 1234` without a name. */
async function currentUser(): Promise<string> {
  try {
    const { withOwnLibc } = await import("../os/_libc.ts");
    const { effectiveUid } = await import("../os/own_file.ts");
    const { lookupUser } = await import("../os/accounts.ts");
    const uid = withOwnLibc(effectiveUid);
    const name = lookupUser(String(uid))?.name;
    return name === undefined ? `uid ${uid}` : `user ${JSON.stringify(name)} (uid ${uid})`;
  } catch {
    return "this user"; // No libc (--allow-ffi): the user cannot be named.
  }
}

async function realPath(path: string): Promise<string | undefined> {
  try {
    return await Deno.realPath(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/** Where a source is, and where the config gives it: `/srv/greet.ts, given by app.yml line 3 (Actions.greet)`. */
function described(source: ActionSource): string {
  return source.givenBy ? `${source.origin}, given by ${source.givenBy}` : source.origin;
}
