/**
 * The YAML config: helper's case-sensitive sections `Application`, `Daemon`
 * and `Logging`. Loading returns one deep-frozen {@link Config} value or a
 * {@link ConfigError} listing every problem with file, line, column and key.
 *
 * YAML is read as YAML 1.1, as helper's PyYAML reads it, so helper configs
 * port unchanged: `yes`/`no`/`on`/`off` are booleans and `022` is octal.
 *
 * @module
 */

import { resolve } from "node:path";
import { loadYaml, type YamlModule } from "./deps.ts";
import type { Document, YamlNode } from "./deps.ts";
import { ConfigError, type ConfigIssue, describeValue, FlagstaffError } from "./errors.ts";
import { integrityProblem, remoteUrlProblem } from "./loader.ts";
import { checkLoggingSection, type LoggingSection } from "./logging.ts";

/** The yaml package, loaded by the first {@link parseConfig} (start-up cost: see deps.ts). */
let yaml: YamlModule | undefined;

/** Default `Application.wake_interval`, in seconds (helper's). */
export const DEFAULT_WAKE_INTERVAL_S = 60;
/** Default `Daemon.stop_timeout`, in seconds. */
export const DEFAULT_STOP_TIMEOUT_S = 10;

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
  /** User to run as when started as root. */
  readonly user?: string;
  /** Group to run as when started as root. */
  readonly group?: string;
  /** Path of the pidfile. */
  readonly pidfile?: string;
  /** File mode creation mask, e.g. `0o022` (YAML 1.1 `022` is octal too). */
  readonly umask?: number;
  /** helper's key; accepted. */
  readonly prevent_core?: boolean;
  /** Seconds a stop waits for the running unit and `cleanup()`. Default 10. */
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

/** The signals actions can be given for, by their config key. */
export const ACTION_SIGNALS: Readonly<Record<"hup" | "usr1" | "usr2", ActionSignal>> = {
  hup: "SIGHUP",
  usr1: "SIGUSR1",
  usr2: "SIGUSR2",
};

/** A signal that actions can be given for. */
export type ActionSignal = "SIGHUP" | "SIGUSR1" | "SIGUSR2";

/** One use of an action for a signal, from the config or the command line. */
export interface ActionUse {
  /** The action's name, e.g. `print`. */
  readonly name: string;
  /** Its arguments, as strings. */
  readonly args: readonly string[];
  /** Seconds a run may take before its signal aborts it; none by default. */
  readonly timeout?: number;
  /** Where it was given, for messages: `--usr1`, or `app.yml line 12 (Signals.usr1[0])`. */
  readonly origin: string;
}

type KeyPath = (string | number)[];
type Report = (path: KeyPath, message: string, at?: "key" | "value") => void;

/**
 * The config used when no file is given: every key at its default.
 *
 * @example
 * ```ts
 * import { defaultConfig } from "./config.ts";
 * console.assert(defaultConfig().application.wake_interval === 60);
 * ```
 */
export function defaultConfig(): Config {
  // Every section missing: nothing to parse, so yaml is not loaded.
  const config = checkRoot(
    undefined,
    (path, message) => {
      throw new Error(`Bug: the default config is invalid at "${path.join(".")}": ${message}`);
    },
    "",
    undefined,
    () => "<default>",
  );
  return deepFreeze({ ...config, file: undefined });
}

/**
 * Reads and validates a config file.
 *
 * @throws {ConfigError} `config_not_found` when the file is missing or
 *   unreadable, `config_invalid` for YAML or schema errors.
 * @throws {FlagstaffError} `permission` when Deno may not read it.
 *
 * @example
 * ```ts
 * import { loadConfig } from "./config.ts";
 * const file = await Deno.makeTempFile({ suffix: ".yml" });
 * await Deno.writeTextFile(file, "Application:\n  wake_interval: 0.5\n");
 * const config = await loadConfig(file);
 * console.assert(config.application.wake_interval === 0.5);
 * await Deno.remove(file);
 * ```
 */
export async function loadConfig(file: string): Promise<Config> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (error) {
    throw readError(file, error);
  }
  return await parseConfig(text, resolve(file));
}

/**
 * Validates config text. `file` names it in errors and anchors relative paths.
 *
 * @throws {ConfigError} listing every problem found.
 *
 * @example
 * ```ts
 * import { parseConfig } from "./config.ts";
 * import { ConfigError } from "./errors.ts";
 * try {
 *   await parseConfig("Daemon:\n  pidfile: 42\n", "app.yml");
 * } catch (error) {
 *   console.assert(error instanceof ConfigError && error.line === 2 && error.key === "Daemon.pidfile");
 * }
 * ```
 */
export async function parseConfig(text: string, file: string): Promise<Config> {
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
  if (issues.length > 0) throw new ConfigError(issues);

  const report: Report = (path, message, at = "value") => {
    const offset = locate(doc, path, at);
    const pos = offset === undefined ? { line: 0, col: 0 } : lineCounter.linePos(offset);
    issues.push({ file: name, line: pos.line, column: pos.col, key: path.join("."), message });
  };
  const root = doc.toJS({ maxAliasCount: 100 }) as unknown;
  const lineOf = (path: KeyPath) => {
    const offset = locate(doc, path, "value");
    return offset === undefined ? 0 : lineCounter.linePos(offset).line;
  };
  const config = checkRoot(root, report, text, doc, (path) => `${name} line ${lineOf(path)}`);
  if (issues.length > 0) {
    issues.sort((a, b) => a.line - b.line || a.column - b.column);
    throw new ConfigError(issues);
  }
  return deepFreeze({ ...config, file: file || undefined });
}

function checkRoot(
  root: unknown,
  report: Report,
  text: string,
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
  const application = checkApplication(sections.Application, report);
  const daemon = checkDaemon(sections.Daemon, report, text, doc);
  let logging: LoggingSection | undefined;
  if (sections.Logging !== undefined && sections.Logging !== null) {
    checkLoggingSection(sections.Logging, (path, message) => report(["Logging", ...path], message));
    logging = sections.Logging as LoggingSection;
  }
  const signals = checkSignals(sections.Signals, report, originOf);
  const actions = checkActions(sections.Actions, report);
  return { application, daemon, logging, signals, actions };
}

const ACTION_NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;

function checkSignals(
  value: unknown,
  report: Report,
  originOf: (path: KeyPath) => string,
): Config["signals"] {
  const section = sectionMap(value, "Signals", report);
  const out: Partial<Record<ActionSignal, ActionUse[]>> = {};
  for (const [key, list] of Object.entries(section)) {
    const signal = ACTION_SIGNALS[key as keyof typeof ACTION_SIGNALS];
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
      if (words.some((w) => typeof w === "object" && w !== null)) {
        report(
          [...path, name],
          `expected a word or a list of words as arguments, got ${describeValue(raw)}`,
        );
        return;
      }
      const timeout = item.timeout;
      if (timeout !== undefined && !isPositiveNumber(timeout)) {
        report(
          [...path, "timeout"],
          `expected a positive number of seconds, got ${describeValue(timeout)}`,
        );
        return;
      }
      uses.push({
        name,
        args: words.map((w) => String(w)),
        timeout: timeout as number | undefined,
        origin,
      });
    });
    out[signal] = uses;
  }
  return out;
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

function checkDaemon(
  value: unknown,
  report: Report,
  text: string,
  doc: Document | undefined,
): DaemonConfig {
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
  const out: Record<string, unknown> = { ...section };
  for (const key of ["user", "group"]) {
    const v = section[key];
    if (typeof v === "number" && Number.isInteger(v) && v >= 0) out[key] = String(v);
    else if (v !== undefined && !isNonEmptyString(v)) {
      report(["Daemon", key], `expected a name or numeric id, got ${describeValue(v)}`);
    }
  }
  if (section.pidfile !== undefined && !isNonEmptyString(section.pidfile)) {
    report(["Daemon", "pidfile"], `expected a string, got ${describeValue(section.pidfile)}`);
  }
  if (section.umask !== undefined) {
    const source = scalarSource(doc, ["Daemon", "umask"], text);
    const umask = parseUmask(section.umask, source);
    if (umask === undefined) {
      // Show what was written: YAML 1.1 reads `0999` as the number 999.
      const found = typeof section.umask === "number" && source
        ? source
        : describeValue(section.umask);
      report(
        ["Daemon", "umask"],
        `expected an octal mode from 0 to 0777 such as 022, got ${found}`,
      );
    } else out.umask = umask;
  }
  if (section.detach !== undefined && typeof section.detach !== "boolean") {
    report(["Daemon", "detach"], `expected true or false, got ${describeValue(section.detach)}`);
  }
  if (section.prevent_core !== undefined && typeof section.prevent_core !== "boolean") {
    report(
      ["Daemon", "prevent_core"],
      `expected true or false, got ${describeValue(section.prevent_core)}`,
    );
  }
  const stop = section.stop_timeout ?? DEFAULT_STOP_TIMEOUT_S;
  if (!isPositiveNumber(stop)) {
    report(
      ["Daemon", "stop_timeout"],
      `expected a positive number of seconds, got ${describeValue(stop)}`,
    );
  }
  out.stop_timeout = stop;
  return out as unknown as DaemonConfig;
}

/** A umask from YAML: an int (YAML 1.1 reads `022` as octal) or an octal string. */
function parseUmask(value: unknown, source: string | undefined): number | undefined {
  let mode: number | undefined;
  if (typeof value === "number" && Number.isInteger(value)) {
    // `22` written without a leading zero is meant as octal too, as umask(1) reads it.
    mode = source && /^[0-7]+$/.test(source) && !source.startsWith("0")
      ? parseInt(source, 8)
      : value;
  } else if (typeof value === "string" && /^(0o?)?[0-7]{1,4}$/.test(value)) {
    mode = parseInt(value.replace(/^0o/, ""), 8);
  }
  return mode !== undefined && mode >= 0 && mode <= 0o777 ? mode : undefined;
}

function sectionMap(value: unknown, name: string, report: Report): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (isPlainObject(value)) return value;
  report([name], `expected a map, got ${describeValue(value)}`);
  return {};
}

/** Byte offset of the node at `path` (its key or its value), or the nearest parent's. */
function locate(doc: Document, path: KeyPath, at: "key" | "value"): number | undefined {
  const { isMap, isScalar, isSeq } = yaml!;
  let node: unknown = doc.contents;
  let offset = (node as YamlNode | null)?.range?.[0];
  for (const [i, segment] of path.entries()) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? p.key.value : p.key) === segment);
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

function scalarSource(
  doc: Document | undefined,
  path: KeyPath,
  text: string,
): string | undefined {
  const node = doc?.getIn(path, true);
  if (!yaml?.isScalar(node) || !node.range) return undefined;
  return text.slice(node.range[0], node.range[1]).trim();
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
