/**
 * The YAML config: helper's case-sensitive sections `Application`, `Daemon`
 * and `Logging`. Loading returns one deep-frozen {@link Config} value or a
 * {@link ConfigError} listing every problem with file, line, column and key.
 *
 * YAML is read as YAML 1.1, as helper's PyYAML reads it, so helper configs
 * port unchanged: `yes`/`no`/`on`/`off` are booleans and `022` is octal.
 * Where a value is text rather than data, it is read as written instead:
 *
 * - Action arguments in `Signals` are strings: a plain scalar gives its source
 *   text (`0755`, `yes`, `12:30`, `1.10` and `~` stay as written), a quoted or
 *   block scalar its string value. A whole value that is empty or null
 *   (`stop:`, `stop: ~`) means no arguments.
 * - `Daemon.umask` is read from its source text as octal (`027`, `27`,
 *   `0o27` and `"027"` all mean 0o027); a digit 8 or 9 is an error.
 * - `Daemon.user` and `Daemon.group` are read as written (`user: 0100` is
 *   uid 100), and must exist in the user and group databases (`getpwnam(3)`,
 *   `getgrnam(3)`, through libc: `--allow-ffi`).
 *
 * Every relative path in a config is relative to the config file's folder:
 * `Daemon.pidfile` and each `Logging.handlers.*.filename` are made absolute
 * when the file is loaded (paths on the command line stay relative to the
 * working directory).
 *
 * Aliases (`*name`) may be used any number of times, but may repeat at most
 * {@link MAX_ALIAS_NODES} nodes in all: an "alias bomb" (billion laughs) is
 * refused, in time and memory linear in the file's size. An alias must follow
 * its anchor and may not sit inside the node it names.
 *
 * Durations are in seconds, finite, and at least {@link MIN_SECONDS}.
 *
 * @module
 */

import { dirname, resolve } from "node:path";
import { loadYaml, type YamlModule } from "../deps.ts";
import type { Document, Scalar, YamlNode } from "../deps.ts";
import { ConfigError, type ConfigIssue, describeValue, FlagstaffError } from "../core/errors.ts";
import { ACTION_SIGNALS, type ActionSignal } from "../core/signal_table.ts";
import { integrityProblem, remoteUrlProblem } from "../runtime/loader.ts";
import { checkLoggingSection, type LoggingSection, reopensInFolder } from "../logging/logging.ts";

/** The yaml package, loaded by the first {@link parseConfig} (start-up cost: see deps.ts). */
let yaml: YamlModule | undefined;

/** Default `Application.wake_interval`, in seconds (helper's). */
export const DEFAULT_WAKE_INTERVAL_S = 60;
/** Default `Daemon.stop_timeout`, in seconds. */
export const DEFAULT_STOP_TIMEOUT_S = 10;

/**
 * The smallest value, in seconds, of each key given in seconds.
 *
 * - `wake_interval`: 0.01 s (100 ticks a second). Timers have whole
 *   millisecond resolution and each tick costs the loop a timer, a
 *   `process()` call and its logging; below 10 ms that cost is a large share
 *   of the interval and, on a loaded machine, every tick overruns, which is a
 *   busy loop rather than a schedule.
 * - `stop_timeout` and an action's `timeout`: 0.001 s, the timer resolution;
 *   a shorter wait cannot be honoured.
 */
export const MIN_SECONDS: Readonly<Record<"wake_interval" | "stop_timeout" | "timeout", number>> = {
  wake_interval: 0.01,
  stop_timeout: 0.001,
  timeout: 0.001,
};

/** How many nodes aliases (`*name`) may repeat in one config, in all. */
export const MAX_ALIAS_NODES = 100_000;

/** The `Application` section: flagstaff's keys plus the app's own, untouched. */
export interface ApplicationConfig {
  /** Seconds between `process()` calls; fractions allowed. Default 60. */
  readonly wake_interval: number;
  /** Module (path relative to the config file, or URL) whose default export is the controller. */
  readonly controller?: string;
  /** Integrity pin (`sha256-<base64>`, `sha384-…`, `sha512-…`) of a `controller` given by URL. */
  readonly controller_integrity?: string;
  /** Any other key belongs to the app. */
  readonly [key: string]: unknown;
}

/** The `Daemon` section. */
export interface DaemonConfig {
  /** User (name or uid, as written) to run as when started as root; known to the user database. */
  readonly user?: string;
  /** Group (name or gid, as written) to run as when started as root; known to the group database. */
  readonly group?: string;
  /** Absolute path of the pidfile (a relative one in the file is relative to the file's folder). */
  readonly pidfile?: string;
  /** File mode creation mask, e.g. `0o022`, read from the source text as octal (`022`, `22`, `0o22`). */
  readonly umask?: number;
  /** helper's key; accepted. */
  readonly prevent_core?: boolean;
  /** Seconds a stop waits for the running unit and `cleanup()`, at least 0.001. Default 10. */
  readonly stop_timeout: number;
  /** Detach into the background, as `--daemon` does (`-f` overrides). Default false. */
  readonly detach?: boolean;
}

/** A validated config; read it through the runtime each time, never cache it. */
export interface Config {
  /** Absolute path of the file it was loaded from; undefined for the built-in default. */
  readonly file?: string;
  /** The `Application` section. */
  readonly application: ApplicationConfig;
  /** The `Daemon` section. */
  readonly daemon: DaemonConfig;
  /** The `Logging` section; undefined means the console default. */
  readonly logging?: LoggingSection;
  /** The `Signals` section: actions per signal, in order. */
  readonly signals: Readonly<Partial<Record<ActionSignal, readonly ActionUse[]>>>;
  /**
   * The `Actions` section: extra action names mapped to their module, as
   * written: a path (relative to the config file) or URL; or `{module,
   * integrity}`, a URL with its integrity pin (`sha256-<base64>`, `sha384-…`,
   * `sha512-…`).
   */
  readonly actions: Readonly<
    Record<string, string | { readonly module: string; readonly integrity?: string }>
  >;
}

/** An `Actions` entry. */
type ActionModule = Config["actions"][string];

/** The sections a config may have, in the order they are documented. */
export const SECTIONS = ["Application", "Daemon", "Logging", "Signals", "Actions"] as const;

export { ACTION_SIGNALS } from "../core/signal_table.ts";
export type { ActionSignal } from "../core/signal_table.ts";

/** One use of an action for a signal, from the config or the command line. */
export interface ActionUse {
  /** The action's name, e.g. `print`. */
  readonly name: string;
  /** Its arguments, as strings: from a config, each word as written (`0755` stays `"0755"`). */
  readonly args: readonly string[];
  /** Seconds a run may take before its signal aborts it (at least 0.001); none by default. */
  readonly timeout?: number;
  /** Where it was given, for messages: `--usr1`, or `app.yml line 12 (Signals.usr1[0])`. */
  readonly origin: string;
}

type KeyPath = (string | number)[];
type Report = (path: KeyPath, message: string, at?: "key" | "value") => void;

/** Options for {@link loadConfig}, {@link parseConfig} and {@link validateConfigText}. */
export interface LoadConfigOptions {
  /**
   * Whether an empty file (nothing but whitespace and comments, or a null
   * document) is allowed, as a config with every key at its default. Default
   * true, for a first start. A reload passes false: a file an editor has just
   * truncated is then an error and the running config stays.
   */
  allowEmpty?: boolean;
}

/** A config and every problem found in it, from {@link validateConfigText}. */
export interface ConfigValidation {
  /**
   * The config, best effort: each invalid value is left out or at its
   * default, so that the rest can still be checked. Use it only when
   * `issues` is empty.
   */
  readonly config: Config;
  /** Every problem found, in file order; empty when the config is valid. */
  readonly issues: readonly ConfigIssue[];
}

/**
 * The config used when no file is given: every key at its default.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defaultConfig } from "./config.ts";
 * assert.equal(defaultConfig().application.wake_interval, 60);
 * ```
 */
export function defaultConfig(): Config {
  // Every section missing: nothing to parse, so yaml is not loaded.
  const config = checkRoot(
    undefined,
    (path, message) => {
      throw new Error(`Bug: the default config is invalid at "${path.join(".")}": ${message}`);
    },
    undefined,
    () => "<default>",
  );
  return deepFreeze({ ...config, file: undefined });
}

/**
 * Reads and validates a config file.
 *
 * @param file The config file; relative to the working directory.
 * @throws {ConfigError} `config_not_found` when the file is missing or
 *   unreadable, `config_invalid` for YAML or schema errors (every one of
 *   them), an unknown `Daemon.user` or `Daemon.group`, or an empty file when
 *   `options.allowEmpty` is false.
 * @throws {FlagstaffError} `permission` when Deno may not read it, or may not
 *   call libc (`--allow-ffi`) to look up `Daemon.user`/`Daemon.group`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadConfig } from "./config.ts";
 * import { ConfigError } from "../core/errors.ts";
 * const file = await Deno.makeTempFile({ suffix: ".yml" });
 * await Deno.writeTextFile(file, "Application:\n  wake_interval: 0.5\n");
 * const config = await loadConfig(file);
 * assert.equal(config.application.wake_interval, 0.5);
 * await Deno.writeTextFile(file, "# emptied by an editor\n");
 * await assert.rejects(() => loadConfig(file, { allowEmpty: false }), ConfigError);
 * await Deno.remove(file);
 * ```
 */
export async function loadConfig(file: string, options: LoadConfigOptions = {}): Promise<Config> {
  return orThrow(await validateConfigFile(file, options));
}

/**
 * Reads and validates a config file like {@link loadConfig}, but returns
 * every problem with a best-effort config instead of throwing them, so that a
 * check can go on to the controller and the actions.
 *
 * @param file The config file; relative to the working directory.
 * @throws {ConfigError} `config_not_found` when the file is missing or
 *   unreadable; `config_invalid` when it is not UTF-8.
 * @throws {FlagstaffError} `permission` as {@link loadConfig}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { validateConfigFile } from "./config.ts";
 * const file = await Deno.makeTempFile({ suffix: ".yml" });
 * await Deno.writeTextFile(file, "Daemon:\n  stop_timeout: soon\n");
 * const { config, issues } = await validateConfigFile(file);
 * assert.equal(issues[0].key, "Daemon.stop_timeout");
 * assert.equal(config.daemon.stop_timeout, 10);
 * await Deno.remove(file);
 * ```
 */
export async function validateConfigFile(
  file: string,
  options: LoadConfigOptions = {},
): Promise<ConfigValidation> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (error) {
    throw readError(file, error);
  }
  return await validateConfigText(text, resolve(file), options);
}

/**
 * Validates config text. `file` names it in errors and anchors relative paths.
 *
 * @throws {ConfigError} listing every problem found, as {@link loadConfig}.
 * @throws {FlagstaffError} `permission` as {@link loadConfig}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseConfig } from "./config.ts";
 * import { ConfigError } from "../core/errors.ts";
 * await assert.rejects(() => parseConfig("Daemon:\n  pidfile: 42\n", "app.yml"), (error) => {
 *   assert.ok(error instanceof ConfigError);
 *   assert.equal(error.line, 2);
 *   assert.equal(error.key, "Daemon.pidfile");
 *   return true;
 * });
 * ```
 */
export async function parseConfig(
  text: string,
  file: string,
  options: LoadConfigOptions = {},
): Promise<Config> {
  return orThrow(await validateConfigText(text, file, options));
}

/**
 * Validates config text in one pass and returns every problem with a
 * best-effort config, instead of throwing: the one validation behind
 * {@link loadConfig}, {@link parseConfig} and `flagstaff check`. `file` names
 * the text in issues and anchors relative paths (its folder; the working
 * directory when `file` is empty).
 *
 * @throws {FlagstaffError} `permission` without `--allow-ffi` when the text
 *   names a `Daemon.user` or `Daemon.group` to look up.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { validateConfigText } from "./config.ts";
 * const { config, issues } = await validateConfigText(
 *   "Application:\n  wake_interval: 1e-9\nDaemon:\n  umask: 089\n  pidfile: run/app.pid\n",
 *   "/srv/app/app.yml",
 * );
 * assert.deepEqual(issues.map((issue) => [issue.line, issue.key]), [
 *   [2, "Application.wake_interval"],
 *   [4, "Daemon.umask"],
 * ]);
 * assert.equal(config.daemon.pidfile, "/srv/app/run/app.pid");
 * assert.equal(config.application.wake_interval, 60);
 * ```
 */
export async function validateConfigText(
  text: string,
  file: string,
  options: LoadConfigOptions = {},
): Promise<ConfigValidation> {
  const { LineCounter, parseDocument } = yaml ??= await loadYaml();
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter,
    version: "1.1",
    uniqueKeys: true,
    prettyErrors: false,
  });
  const issues: ConfigIssue[] = [];
  const name = file || "<default>";
  const done = (config: Omit<Config, "file"> | undefined): ConfigValidation => {
    issues.sort((a, b) => a.line - b.line || a.column - b.column);
    const whole = config ?? withoutFile(defaultConfig());
    return { config: deepFreeze({ ...whole, file: file || undefined }), issues };
  };
  const issueAt = (offset: number | undefined, key: string, message: string) => {
    const pos = offset === undefined ? { line: 0, col: 0 } : lineCounter.linePos(offset);
    issues.push({ file: name, line: pos.line, column: pos.col, key, message });
  };
  for (const error of [...doc.errors, ...doc.warnings]) {
    const pos = error.linePos?.[0] ?? lineCounter.linePos(error.pos[0]);
    issues.push({
      file: name,
      line: pos.line,
      column: pos.col,
      key: "",
      message: firstLine(error.message),
    });
  }
  if (issues.length > 0) return done(undefined);
  if (options.allowEmpty === false && isEmptyDocument(doc)) {
    issueAt(undefined, "", "is empty (no sections, only whitespace or comments)");
    return done(undefined);
  }
  // Aliases are checked on the syntax tree, before anything expands them.
  checkAliases(doc, (node, path, message) => issueAt(node.range?.[0], path.join("."), message));
  if (issues.length > 0) return done(undefined);
  let root: unknown;
  try {
    // Aliases share one value: the tree is as large as the file (checked above).
    root = doc.toJS({ maxAliasCount: -1 });
  } catch (error) {
    issueAt(undefined, "", error instanceof Error ? firstLine(error.message) : String(error));
    return done(undefined);
  }

  const report: Report = (path, message, at = "value") => {
    issueAt(locate(doc, path, at), path.join("."), message);
  };
  const lineOf = (path: KeyPath) => {
    const offset = locate(doc, path, "value");
    return offset === undefined ? 0 : lineCounter.linePos(offset).line;
  };
  const config = checkRoot(root, report, doc, (path) => `${name} line ${lineOf(path)}`);
  await checkAccounts(config.daemon, report);
  const resolved = resolvePaths(config, file);
  if (issues.length === 0) await checkDropWrites(resolved, report);
  return done(resolved);
}

/**
 * As root with `Daemon.user`/`Daemon.group`, log files that are created or
 * rotated after the privilege drop need a folder that user can write: say
 * so now, naming the handler and the folder, instead of losing every record
 * at the first rotation.
 */
async function checkDropWrites(config: Omit<Config, "file">, report: Report): Promise<void> {
  const { user, group } = config.daemon;
  const handlers = config.logging?.handlers;
  if ((user === undefined && group === undefined) || !isPlainObject(handlers)) return;
  const files = Object.entries(handlers).filter(([, handler]) =>
    isPlainObject(handler) && isNonEmptyString(handler.filename)
  );
  if (files.length === 0) return;
  const { canWriteFile, canWriteFolder, dropTarget } = await import("../os/accounts.ts");
  const { effectiveUid } = await import("../os/own_file.ts");
  const { withOwnLibc } = await import("../os/_libc.ts");
  if (withOwnLibc(effectiveUid) !== 0) return; // No drop happens: the files stay this user's.
  const target = dropTarget(user, group);
  if (!target) return;
  const who = JSON.stringify(user ?? `uid ${target.uid}`);
  for (const [name, handler] of files) {
    const filename = (handler as { filename: string }).filename;
    const folder = dirname(filename);
    // A missing folder is reported when the file is opened (with the system's reason).
    if (!(await Deno.stat(folder).then((info) => info.isDirectory, () => false))) continue;
    const exists = await Deno.lstat(filename).then(() => true, () => false);
    const reopens = reopensInFolder(handler);
    const needsFolder = !exists || reopens !== undefined;
    const fileOk = !exists || canWriteFile(filename, target);
    const folderOk = !needsFolder || canWriteFolder(folder, target);
    if (fileOk && folderOk) continue;
    const why = !fileOk
      ? `write this log file`
      : reopens === "rotate"
      ? `write the folder "${folder}", which it needs to rotate this log file`
      : `create this log file in the folder "${folder}"`;
    report(
      ["Logging", "handlers", name, "filename"],
      `Daemon.user ${who} cannot ${why}: log files are opened after privileges are dropped. ` +
        `Give that user the ${fileOk ? "folder" : "file"} (or a group with write access), ` +
        "or log to stderr (the journal under systemd)",
    );
  }
}

/** The config of `validation`, or a ConfigError with its issues. */
function orThrow(validation: ConfigValidation): Config {
  if (validation.issues.length > 0) throw new ConfigError(validation.issues);
  return validation.config;
}

function withoutFile(config: Config): Omit<Config, "file"> {
  const { file: _, ...rest } = config;
  return rest;
}

/** Whether a document has no content: empty, whitespace, comments, or a bare null. */
function isEmptyDocument(doc: Document): boolean {
  const contents = doc.contents;
  return contents === null || (yaml!.isScalar(contents) && contents.value === null);
}

/**
 * Checks every alias on the syntax tree, in time linear in its size: each
 * must follow its anchor and not sit inside the node it names, and all of
 * them together may repeat at most {@link MAX_ALIAS_NODES} nodes. Calls
 * `report` for each problem (once for the total).
 */
function checkAliases(
  doc: Document,
  report: (node: YamlNode, path: KeyPath, message: string) => void,
): void {
  const { isAlias, isCollection, isMap, isNode, isPair, isScalar } = yaml!;
  /** The node each anchor names now (an anchor may be set again later). */
  const anchors = new Map<string, unknown>();
  /** Each anchored node's size with its aliases expanded, capped past the limit. */
  const sizes = new Map<unknown, number>();
  /** The nodes being walked: an alias to one of them would make the value contain itself. */
  const open = new Set<unknown>();
  let repeated = 0;
  let exceeded = false;
  const sizeOf = (node: unknown, path: KeyPath): number => {
    if (!isNode(node)) return 0;
    if (isAlias(node)) {
      const target = anchors.get(node.source);
      if (target === undefined) {
        report(node, path, `alias "*${node.source}" has no anchor "&${node.source}" before it`);
        return 1;
      }
      if (open.has(target)) {
        report(
          node,
          path,
          `alias "*${node.source}" is inside the node it names (a config cannot contain itself)`,
        );
        return 1;
      }
      const size = sizes.get(target) ?? 1;
      repeated += size;
      if (repeated > MAX_ALIAS_NODES && !exceeded) {
        exceeded = true;
        report(
          node,
          path,
          `aliases repeat more than ${MAX_ALIAS_NODES} nodes (an alias bomb?); ` +
            `write the values out, or use fewer aliases`,
        );
      }
      return size;
    }
    if (node.anchor) anchors.set(node.anchor, node);
    open.add(node);
    let size = 1;
    if (isCollection(node)) {
      node.items.forEach((item, index) => {
        if (isPair(item)) {
          // A merge key (`<<`) is a symbol to the yaml package: name it as written.
          const key = isScalar(item.key)
            ? (typeof item.key.value === "symbol" ? "<<" : String(item.key.value))
            : index;
          const at = isMap(node) ? [...path, key] : [...path, index];
          size += sizeOf(item.key, at) + sizeOf(item.value, at);
        } else size += sizeOf(item, [...path, index]);
      });
    }
    open.delete(node);
    size = Math.min(size, MAX_ALIAS_NODES + 1);
    if (node.anchor) sizes.set(node, size);
    return size;
  };
  sizeOf(doc.contents, []);
}

/** Reports a `Daemon.user` or `Daemon.group` that the system does not know. */
async function checkAccounts(daemon: DaemonConfig, report: Report): Promise<void> {
  const { user, group } = daemon;
  if (user === undefined && group === undefined) return;
  const { lookupGroup, lookupUser } = await import("../os/accounts.ts");
  const check = (kind: "user" | "group", lookup: () => void) => {
    try {
      lookup();
    } catch (error) {
      // A lookup that failed (not "no such user"): say why, as libc does.
      if (!(error instanceof FlagstaffError && error.code === "usage")) throw error;
      report(["Daemon", kind], error.message.replace(/^Cannot/, "cannot"));
    }
  };
  if (user !== undefined) {
    check("user", () => {
      const entry = lookupUser(user);
      if (entry === undefined) {
        report(
          ["Daemon", "user"],
          `unknown user ${JSON.stringify(user)} (not in the user database)`,
        );
      } else if (entry.gid === undefined && group === undefined) {
        report(
          ["Daemon", "user"],
          `uid ${entry.uid} has no entry in the user database, so Daemon.group is needed`,
        );
      }
    });
  }
  if (group !== undefined) {
    check("group", () => {
      if (lookupGroup(group) === undefined) {
        report(
          ["Daemon", "group"],
          `unknown group ${JSON.stringify(group)} (not in the group database)`,
        );
      }
    });
  }
}

/**
 * Makes every path in the config absolute, relative to the config file's
 * folder (the working directory when there is no file): `Daemon.pidfile` and
 * each `Logging.handlers.*.filename`. Values shared through aliases are
 * copied, never changed in place.
 */
function resolvePaths(config: Omit<Config, "file">, file: string): Omit<Config, "file"> {
  let base: string | undefined;
  const absolute = (path: string) => {
    if (path.startsWith("/")) return path;
    base ??= file ? dirname(resolve(file)) : Deno.cwd();
    return resolve(base, path);
  };
  let { daemon, logging } = config;
  if (daemon.pidfile !== undefined) daemon = { ...daemon, pidfile: absolute(daemon.pidfile) };
  const handlers = logging?.handlers;
  if (logging && isPlainObject(handlers)) {
    const copy: Record<string, unknown> = {};
    for (const [name, handler] of Object.entries(handlers)) {
      copy[name] = isPlainObject(handler) && isNonEmptyString(handler.filename)
        ? { ...handler, filename: absolute(handler.filename) }
        : handler;
    }
    logging = { ...logging, handlers: copy } as LoggingSection;
  }
  return { ...config, daemon, logging };
}

function checkRoot(
  root: unknown,
  report: Report,
  doc: Document | undefined,
  originOf: (path: KeyPath) => string,
): Omit<Config, "file"> {
  const sections = root ?? {};
  if (!isPlainObject(sections)) {
    report([], `expected a map of sections (${SECTIONS.join(", ")}), got ${describeValue(root)}`);
    return {
      application: { wake_interval: DEFAULT_WAKE_INTERVAL_S },
      daemon: { stop_timeout: DEFAULT_STOP_TIMEOUT_S },
      signals: {},
      actions: {},
    };
  }
  for (const key of Object.keys(sections)) {
    if (!(SECTIONS as readonly string[]).includes(key)) {
      const hint = SECTIONS.find((s) => s.toLowerCase() === key.toLowerCase());
      report(
        [key],
        hint
          ? `unknown section "${key}" (sections are case-sensitive: did you mean "${hint}"?)`
          : `unknown section "${key}" (expected ${SECTIONS.join(", ")})`,
        "key",
      );
    }
  }
  const application = checkWakeInterval(checkApplication(sections.Application, report), report);
  const daemon = checkDaemon(sections.Daemon, report, doc);
  let logging: LoggingSection | undefined;
  if (sections.Logging !== undefined && sections.Logging !== null) {
    checkLoggingSection(sections.Logging, (path, message) => report(["Logging", ...path], message));
    logging = sections.Logging as LoggingSection;
  }
  const signals = checkSignals(sections.Signals, report, doc, originOf);
  const actions = checkActions(sections.Actions, report);
  return { application, daemon, logging, signals, actions };
}

const ACTION_NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;

function checkSignals(
  value: unknown,
  report: Report,
  doc: Document | undefined,
  originOf: (path: KeyPath) => string,
): Config["signals"] {
  const section = sectionMap(value, "Signals", report);
  const out: Partial<Record<ActionSignal, ActionUse[]>> = {};
  for (const [key, list] of Object.entries(section)) {
    const signal = Object.hasOwn(ACTION_SIGNALS, key) ? ACTION_SIGNALS[key] : undefined;
    if (!signal) {
      report(["Signals", key], `unknown signal "${key}" (expected hup, usr1 or usr2)`, "key");
      continue;
    }
    if (list === null || list === undefined) continue;
    if (!Array.isArray(list)) {
      report(["Signals", key], `expected a list of actions, got ${describeValue(list)}`);
      continue;
    }
    const uses: ActionUse[] = [];
    list.forEach((item, i) => {
      const path = ["Signals", key, i];
      const origin = `${originOf(path)} (Signals.${key}[${i}])`;
      if (typeof item === "string") {
        if (!ACTION_NAME.test(item)) {
          report(path, `expected an action name, got ${describeValue(item)}`);
        } else uses.push({ name: item, args: [], origin });
        return;
      }
      if (!isPlainObject(item)) {
        report(
          path,
          `expected an action name or a map like {print: "hi"}, got ${describeValue(item)}`,
        );
        return;
      }
      const names = Object.keys(item).filter((k) => k !== "timeout");
      if (names.length !== 1) {
        report(
          path,
          `expected one action name beside "timeout", got ${
            names.length ? names.map((n) => `"${n}"`).join(", ") : "none"
          }`,
        );
        return;
      }
      const name = names[0];
      const raw = item[name];
      const words = raw === null || raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
      if (words.some((w) => typeof w === "object" && w !== null && !(w instanceof Date))) {
        report(
          [...path, name],
          `expected a word or a list of words as arguments, got ${describeValue(raw)}`,
        );
        return;
      }
      const timeout = item.timeout;
      if (
        timeout !== undefined &&
        !checkSeconds(timeout, [...path, "timeout"], MIN_SECONDS.timeout, report)
      ) return;
      uses.push({
        name,
        args: argumentWords(doc, [...path, name]) ?? words.map((w) => String(w)),
        timeout: timeout as number | undefined,
        origin,
      });
    });
    out[signal] = uses;
  }
  return out;
}

/**
 * An action's arguments as written: the words of the scalar or list of
 * scalars at `path` (see {@link scalarText}); none for an empty or null
 * value. Undefined when there is no syntax tree to read them from.
 */
function argumentWords(doc: Document | undefined, path: KeyPath): string[] | undefined {
  if (!doc) return undefined;
  const { isScalar, isSeq } = yaml!;
  const node = nodeAt(doc, path);
  if (node === undefined || node === null) return [];
  if (isScalar(node)) return node.value === null ? [] : [scalarText(node)];
  if (!isSeq(node)) return undefined;
  const words: string[] = [];
  for (const item of node.items) {
    const word = resolveAlias(doc, item);
    if (!isScalar(word)) return undefined;
    words.push(scalarText(word));
  }
  return words;
}

/**
 * A scalar as the text written: a plain scalar's source (`0755`, `yes`,
 * `12:30`, `~`; lines folded as YAML folds them), a quoted or block scalar's
 * string value. A scalar with an explicit tag (`!!int 0755`) gives its value.
 */
function scalarText(node: Scalar): string {
  if (typeof node.value === "string") return node.value;
  if (node.type === "PLAIN" && node.tag === undefined && typeof node.source === "string") {
    return node.source;
  }
  return String(node.value);
}

function checkActions(value: unknown, report: Report): Config["actions"] {
  const section = sectionMap(value, "Actions", report);
  const out: Record<string, ActionModule> = {};
  for (const [name, given] of Object.entries(section)) {
    const path = ["Actions", name];
    if (!ACTION_NAME.test(name)) {
      report(
        path,
        `expected an action name (letters, digits, _ and -), got ${describeValue(name)}`,
        "key",
      );
    } else if (isNonEmptyString(given)) {
      const problem = moduleUrlProblem(given);
      if (problem) report(path, problem);
      else out[name] = given;
    } else if (!isPlainObject(given)) {
      report(path, `expected a module path or URL, got ${describeValue(given)}`);
    } else {
      let ok = true;
      for (const key of Object.keys(given)) {
        if (key !== "module" && key !== "integrity") {
          report([...path, key], `unknown key "${key}" (expected module, integrity)`, "key");
          ok = false;
        }
      }
      const { module, integrity } = given;
      if (!isNonEmptyString(module)) {
        report(
          module === undefined ? path : [...path, "module"],
          `expected a module path or URL as "module", got ${describeValue(module)}`,
        );
        ok = false;
      } else {
        const problem = moduleUrlProblem(module);
        if (problem) report([...path, "module"], problem);
        ok &&= !problem;
      }
      if (integrity !== undefined) {
        const problem = pinProblem(integrity, module);
        if (problem) report([...path, "integrity"], problem);
        ok &&= !problem;
      }
      if (ok) {
        out[name] = integrity === undefined
          ? { module: module as string }
          : { module: module as string, integrity: integrity as string };
      }
    }
  }
  return out;
}

/** Why a module path or URL cannot be loaded (a malformed URL, plain http:// off loopback). */
function moduleUrlProblem(specifier: string): string | undefined {
  if (!/^https?:/i.test(specifier)) return undefined;
  try {
    return remoteUrlProblem(new URL(specifier));
  } catch {
    return `expected a module path or URL, got an invalid URL "${specifier}"`;
  }
}

/** Why `integrity` cannot pin `module`: not a pin, or `module` is not a URL. */
function pinProblem(integrity: unknown, module: unknown): string | undefined {
  return integrityProblem(integrity) ??
    (isNonEmptyString(module) && !/^https?:/i.test(module)
      ? `an integrity pin applies to a module given by URL only, not to "${module}"`
      : undefined);
}

function checkApplication(value: unknown, report: Report): ApplicationConfig {
  const section = sectionMap(value, "Application", report);
  const wake = section.wake_interval ?? DEFAULT_WAKE_INTERVAL_S;
  if (!isPositiveNumber(wake)) {
    report(
      ["Application", "wake_interval"],
      `expected a positive number of seconds, got ${describeValue(wake)}`,
    );
  }
  if (section.controller !== undefined && !isNonEmptyString(section.controller)) {
    report(
      ["Application", "controller"],
      `expected a module path or URL, got ${describeValue(section.controller)}`,
    );
  } else if (section.controller !== undefined) {
    const problem = moduleUrlProblem(section.controller);
    if (problem) report(["Application", "controller"], problem);
  }
  if (section.controller_integrity !== undefined) {
    const problem = section.controller === undefined
      ? `an integrity pin needs "Application.controller", a URL`
      : pinProblem(section.controller_integrity, section.controller);
    if (problem) report(["Application", "controller_integrity"], problem);
  }
  return { ...section, wake_interval: wake as number };
}

const DAEMON_KEYS = ["user", "group", "pidfile", "umask", "prevent_core", "stop_timeout", "detach"];

function checkDaemon(value: unknown, report: Report, doc: Document | undefined): DaemonConfig {
  const section = sectionMap(value, "Daemon", report);
  for (const key of Object.keys(section)) {
    if (!DAEMON_KEYS.includes(key)) {
      report(
        ["Daemon", key],
        `unknown key "${key}" (expected one of ${DAEMON_KEYS.join(", ")})`,
        "key",
      );
    }
  }
  // Best effort: a value that is not valid is left out, or at its default.
  const out: Record<string, unknown> = { ...section };
  for (const key of ["user", "group"]) {
    const v = section[key];
    const node = doc ? nodeAt(doc, ["Daemon", key]) : undefined;
    if (v === undefined || v === null) delete out[key];
    else if (typeof v === "string" && v.length > 0) out[key] = v;
    else if (yaml?.isScalar(node) && typeof v !== "string") {
      // As written: `user: 0100` is uid 100, not YAML 1.1's octal 64.
      out[key] = scalarText(node);
    } else if (typeof v === "number" && Number.isInteger(v) && v >= 0) out[key] = String(v);
    else {
      report(["Daemon", key], `expected a name or numeric id, got ${describeValue(v)}`);
      delete out[key];
    }
  }
  if (section.pidfile !== undefined && !isNonEmptyString(section.pidfile)) {
    report(["Daemon", "pidfile"], `expected a string, got ${describeValue(section.pidfile)}`);
    delete out.pidfile;
  }
  if (section.umask !== undefined) {
    const node = doc ? nodeAt(doc, ["Daemon", "umask"]) : undefined;
    const written = yaml?.isScalar(node) ? scalarText(node) : undefined;
    const umask = written === undefined ? undefined : parseUmask(written);
    if (umask === undefined) {
      // Show what was written: YAML 1.1 reads `0999` as the number 999.
      const found = yaml?.isScalar(node) && node.type === "PLAIN" && written !== undefined
        ? written
        : describeValue(section.umask);
      report(
        ["Daemon", "umask"],
        `expected an octal mode from 0 to 0777 such as 022, got ${found}`,
      );
      delete out.umask;
    } else out.umask = umask;
  }
  if (section.detach !== undefined && typeof section.detach !== "boolean") {
    report(["Daemon", "detach"], `expected true or false, got ${describeValue(section.detach)}`);
    delete out.detach;
  }
  if (section.prevent_core !== undefined && typeof section.prevent_core !== "boolean") {
    report(
      ["Daemon", "prevent_core"],
      `expected true or false, got ${describeValue(section.prevent_core)}`,
    );
    delete out.prevent_core;
  }
  const stop = section.stop_timeout ?? DEFAULT_STOP_TIMEOUT_S;
  out.stop_timeout =
    checkSeconds(stop, ["Daemon", "stop_timeout"], MIN_SECONDS.stop_timeout, report)
      ? stop
      : DEFAULT_STOP_TIMEOUT_S;
  return out as unknown as DaemonConfig;
}

/**
 * A umask from the text written, read as octal as umask(1) reads it: `027`,
 * `27`, `0o27` (or a quoted `"027"`). Undefined for anything else, such as a
 * digit 8 or 9 or a mode past 0777.
 */
function parseUmask(written: string): number | undefined {
  const digits = /^(?:0[oO])?([0-7]+)$/.exec(written)?.[1];
  const mode = digits === undefined ? undefined : parseInt(digits, 8);
  return mode !== undefined && mode <= 0o777 ? mode : undefined;
}

/** Checks `wake_interval` against {@link MIN_SECONDS}; an invalid one becomes the default. */
function checkWakeInterval(application: ApplicationConfig, report: Report): ApplicationConfig {
  const wake = application.wake_interval;
  const min = MIN_SECONDS.wake_interval;
  // checkApplication() reports a value that is not a positive number.
  if (isPositiveNumber(wake) && wake < min) {
    report(["Application", "wake_interval"], `expected at least ${min} seconds, got ${wake}`);
  }
  return isPositiveNumber(wake) && wake >= min
    ? application
    : { ...application, wake_interval: DEFAULT_WAKE_INTERVAL_S };
}

/** Checks a duration: a positive, finite number of seconds, at least `min`. */
function checkSeconds(value: unknown, path: KeyPath, min: number, report: Report): boolean {
  if (!isPositiveNumber(value)) {
    report(path, `expected a positive number of seconds, got ${describeValue(value)}`);
    return false;
  }
  if (value < min) {
    report(path, `expected at least ${min} seconds, got ${value}`);
    return false;
  }
  return true;
}

function sectionMap(value: unknown, name: string, report: Report): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (isPlainObject(value)) return value;
  report([name], `expected a map, got ${describeValue(value)}`);
  return {};
}

/**
 * Byte offset of the node at `path` (its key or its value), or the nearest
 * parent's. Aliases on the way are followed to the node they name.
 */
function locate(doc: Document, path: KeyPath, at: "key" | "value"): number | undefined {
  const { isMap, isScalar, isSeq } = yaml!;
  let node: unknown = doc.contents;
  let offset = (node as YamlNode | null)?.range?.[0];
  for (const [i, segment] of path.entries()) {
    node = resolveAlias(doc, node);
    if (isMap(node)) {
      const pair = node.items.find((p) =>
        String(isScalar(p.key) ? p.key.value : p.key) === String(segment)
      );
      if (!pair) break;
      const keyOffset = (pair.key as YamlNode | null)?.range?.[0];
      const valueOffset = (pair.value as YamlNode | null)?.range?.[0];
      offset = at === "key" && i === path.length - 1 ? keyOffset : valueOffset ?? keyOffset;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === "number") {
      const item = node.items[segment] as YamlNode | undefined;
      if (!item) break;
      offset = item.range?.[0] ?? offset;
      node = item;
    } else break;
  }
  return offset;
}

/** The syntax node at `path`, aliases followed; undefined when there is none. */
function nodeAt(doc: Document, path: KeyPath): unknown {
  const { isMap, isScalar, isSeq } = yaml!;
  let node: unknown = resolveAlias(doc, doc.contents);
  for (const segment of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) =>
        String(isScalar(p.key) ? p.key.value : p.key) === String(segment)
      );
      if (!pair) return undefined;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === "number") node = node.items[segment];
    else return undefined;
    node = resolveAlias(doc, node);
  }
  return node;
}

/** The node an alias names (checkAliases() made sure there is one), or `node` itself. */
function resolveAlias(doc: Document, node: unknown): unknown {
  return yaml!.isAlias(node) ? node.resolve(doc) : node;
}

function readError(file: string, error: unknown): Error {
  const issue = (message: string): ConfigIssue => ({ file, line: 0, column: 0, key: "", message });
  if (error instanceof Deno.errors.NotFound) {
    return new ConfigError([issue("no such file")], { code: "config_not_found", cause: error });
  }
  if (error instanceof Deno.errors.NotCapable) {
    return new FlagstaffError(
      "permission",
      `Cannot read config "${file}": run deno with --allow-read`,
      {
        cause: error,
      },
    );
  }
  if (error instanceof Deno.errors.PermissionDenied) {
    return new ConfigError([issue("permission denied")], {
      code: "config_not_found",
      cause: error,
    });
  }
  if (error instanceof Deno.errors.IsADirectory) {
    return new ConfigError([issue("is a directory, not a file")], {
      code: "config_not_found",
      cause: error,
    });
  }
  if (error instanceof TypeError) {
    return new ConfigError([issue("not valid UTF-8 text")], {
      code: "config_invalid",
      cause: error,
    });
  }
  return new ConfigError([issue(error instanceof Error ? error.message : String(error))], {
    code: "config_not_found",
    cause: error,
  });
}

function firstLine(message: string): string {
  return message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "");
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) &&
    !(value instanceof Date);
}

function isPositiveNumber(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value) && value > 0;
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === "string" && value.length > 0;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
