/**
 * `etc/NAME.yml` of a new project: every section and key flagstaff accepts,
 * each explained. The keys of `Application` and `Daemon`, and their docs
 * (meaning, type, unit, default), come from the config tables
 * (`lib/config/application.ts`, `lib/config/daemon.ts`): a key added there
 * appears here, switched off, with its row's example. {@link shownKeys} says how
 * this template shows a key instead: its value, whether it is switched off,
 * and notes for this kind of project.
 *
 * Keys that would change how the app runs on a developer's machine
 * (switching user, a pidfile under `/var/run`) are switched off as
 * `#key: value`, with no space after `#`; prose comments have one. Removing
 * the `#` of every such line still gives a valid config
 * (`lib/cli/_project_test.ts` checks it), so each example value is one
 * flagstaff accepts.
 *
 * @module
 */

import { APPLICATION_KEYS } from "../lib/config/application.ts";
import { DAEMON_KEYS } from "../lib/config/daemon.ts";
import type { KeyRow } from "../lib/config/schema.ts";
import type { TemplateVars } from "./mod.ts";

/** How the template shows one key of the tables. */
interface Shown {
  /** The value as written after `key: `; default: the row's example. */
  readonly value?: string;
  /** Whether the line is switched off (`#key: value`); default true. */
  readonly off?: boolean;
  /** No key line at all, only its docs and notes (a value that needs more than this project has). */
  readonly docsOnly?: boolean;
  /** Comment lines after the row's doc, for this kind of project. */
  readonly notes?: readonly string[];
}

/** How each key of the tables is shown, by `Section.key`; a key missing here is switched off. */
function shownKeys(name: string): Readonly<Record<string, Shown>> {
  return {
    "Application.wake_interval": { value: "10", off: false },
    "Application.controller": {
      value: "../controller.ts",
      notes: [
        "Tool mode only (`flagstaff run -c FILE`). This app's main.ts names its controller " +
        "itself, so the key has no effect here.",
      ],
    },
    "Application.controller_integrity": {
      docsOnly: true,
      notes: ["For a controller given by URL only, e.g. `controller_integrity: sha256-<base64>`."],
    },
    "Daemon.user": {
      value: "nobody",
      notes: ["Applied after the pidfile and log files are open."],
    },
    "Daemon.group": { value: "nogroup" },
    "Daemon.pidfile": {
      value: `/var/run/${name}.pid`,
      notes: [
        `\`${name} status|stop|reload\` find the app by it. The init script passes --pidfile ` +
        "instead; under systemd no pidfile is needed.",
      ],
    },
    "Daemon.umask": { value: "027" },
    "Daemon.prevent_core": { value: "true", off: false },
    "Daemon.stop_timeout": {
      value: "10",
      off: false,
      notes: ["Keep systemd's TimeoutStopSec above it."],
    },
    "Daemon.detach": { value: "false", off: false },
    "Daemon.state_dir": {
      value: `/var/lib/${name}`,
      notes: ["Under systemd, the unit's StateDirectory= sets it (as $STATE_DIRECTORY)."],
    },
  };
}

/** The lines of a section's keys: each key's comment, then its line. */
function keyLines(
  section: string,
  rows: Readonly<Record<string, KeyRow<unknown>>>,
  shown: Readonly<Record<string, Shown>>,
): string {
  return Object.entries(rows).map(([key, row]) => {
    const show = shown[`${section}.${key}`] ?? {};
    const absent = row.default === undefined
      ? row.absent?.replaceAll("`", "")
      : String(row.default);
    const lines = [
      // A sentence starts with a capital, but helper is a name.
      `${row.doc.startsWith("helper") ? row.doc[0] : row.doc[0].toUpperCase()}${row.doc.slice(1)}.`,
      `Type: ${row.type}${row.unit ? ` (${row.unit})` : ""}.${
        absent ? ` Default: ${absent}.` : ""
      }`,
      ...show.notes ?? [],
    ].flatMap((text) => comment(text, "  "));
    const value = show.value ?? row.example.slice(row.example.indexOf(":") + 1).trim();
    if (!show.docsOnly) lines.push(`  ${show.off === false ? "" : "#"}${key}: ${value}`);
    return lines.join("\n");
  }).join("\n");
}

/** `text` as comment lines of at most 100 columns, after `indent`. */
function comment(text: string, indent: string): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line && indent.length + 2 + line.length + 1 + word.length > 100) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  return [...lines, line].map((l) => `${indent}# ${l}`);
}

/**
 * Renders `etc/NAME.yml`: every section, each key of the `Application` and
 * `Daemon` tables with its doc, type and default, switched on or off.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { configYml } from "./config_yml.ts";
 * const yml = configYml({
 *   name: "clock",
 *   flagstaff: "https://example.com/flagstaff/lib/mod.ts",
 *   permissionFlags: [],
 *   flagstaffVersion: "0.1.0",
 * });
 * assert.match(yml, /^ {2}# Type: number ≥ 0\.01 \(seconds\)\. Default: 60\.\n {2}wake_interval: 10$/m);
 * assert.match(yml, /^ {2}#pidfile: \/var\/run\/clock\.pid$/m);
 * ```
 */
export function configYml(vars: TemplateVars): string {
  const name = vars.name;
  const shown = shownKeys(name);
  return `# ${name}'s config: \`deno task start\` runs the app with it (\`${name} -c FILE\` once compiled).
# Every section and key flagstaff accepts is here, at its default or at a working example. A line
# written \`#key: value\` is switched off: remove the \`#\` to use it. Any section may be left out;
# an unknown section or key, or a wrong type, is an error naming the file, line, column and key.
# \`${name} check -c FILE\` validates a config. YAML 1.1, as helper's PyYAML reads it: yes/no are
# booleans, 022 is octal. HUP (\`${name} reload\`, \`systemctl reload ${name}\`) reloads this file; a
# config that fails to load on reload is logged and the running one is kept.

Application:
${keyLines("Application", APPLICATION_KEYS, shown)}
  # Every other key is the app's own, handed over untouched as this.config.application.
  greeting: hello

Daemon:
${keyLines("Daemon", DAEMON_KEYS, shown)}

# Python's logging.config.dictConfig shape, as helper uses it, laid over helper's defaults. The
# logger \`helper\` stands for flagstaff's own messages; \`${name}\` is the controller's (this.logger).
# Levels: DEBUG, INFO, WARNING, ERROR, CRITICAL, NOTSET; each -v lowers them one step, -q raises.
# Default (no Logging section): INFO and up to stderr.
Logging:
  version: 1
  formatters:
    verbose:
      # Python %-style fields: asctime, levelname, name, message, process, ... with widths.
      format: "%(levelname) -10s %(asctime)s %(process)-6d %(name) -20s: %(message)s"
      datefmt: "%Y-%m-%d %H:%M:%S"
      style: "%"
      validate: true
      class: logging.Formatter
  # Filters are not supported: leave the map empty and use levels.
  filters: {}
  handlers:
    console:
      # stderr (ext://sys.stderr) or stdout (ext://sys.stdout); systemd sends both to the journal.
      class: logging.StreamHandler
      stream: ext://sys.stderr
      formatter: verbose
      level: DEBUG
      filters: []
      # true: only in the foreground (helper's default for its console). Under --daemon stderr is
      # /dev/null, so log to \`file\` there.
      debug_only: false
    file:
      # Opened only when a logger uses it: add it to a logger's handlers, e.g. [console, file]
      # (the systemd unit's LogsDirectory= creates /var/log/${name}/).
      class: logging.handlers.RotatingFileHandler
      filename: /var/log/${name}/${name}.log
      mode: a
      encoding: utf-8
      delay: true
      # Roll over to .1, .2, ... before the file would reach maxBytes; 0 never rolls over.
      maxBytes: 10485760
      backupCount: 5
      formatter: verbose
      level: INFO
    discard:
      class: logging.NullHandler
  loggers:
    helper:
      level: INFO
      handlers: [console]
      filters: []
      # false: not also to the root's handlers, which would print each line twice.
      propagate: false
    "${name}":
      level: INFO
      handlers: [console]
      propagate: false
  root:
    level: WARNING
    handlers: [console]
    filters: []
    propagate: true
  # Accepted for helper's sake, no effect: every reload replaces the whole setup.
  disable_existing_loggers: true
  # Must be false: incremental configuration is not supported.
  incremental: false

# Actions to run on a signal, in order. Giving a signal actions replaces its default (hup and usr1
# reload this config, usr2 calls the controller's onSigusr2()). An action is a name, or a map of
# its name to its argument(s), with an optional timeout in seconds after which its run is aborted.
# A signal that arrives while its actions run is queued for one more run, never lost. The app
# knows flagstaff's built-ins (print, exec, log, reload, ...) and its own actions, which main.ts
# embeds (hello, from actions/hello.ts).
Signals:
  #hup: [reload, { hello: hup }]
  #usr1: [{ log: [info, usr1 received] }]
  usr2:
    - hello: world
      timeout: 5

# Actions on a timetable, through the same queue as signals: a due run waits for the unit in
# flight, and a schedule never overlaps itself (a run that comes due while the last one is
# queued or running is coalesced into it). Each entry has every (a duration: 90, 30s, 5m, 1h, 1d)
# or cron (5 fields, 6 with seconds first, or @hourly, @daily, @weekly, @monthly, with an
# optional timezone: an IANA name; default local time), and run (actions, as in Signals) or
# signal (hup, usr1, usr2: run that signal's actions as if it had arrived). jitter delays each run
# by a random time up to that long; catch_up: true runs once at start when a run was missed while
# the app was down (the last run is kept in Daemon.state_dir). name defaults to "every 5m" or the
# cron text. \`${name} check -c FILE\` prints each schedule's next three runs. For example:
Schedules: []
#  - name: hourly-hello
#    cron: "@hourly"
#    jitter: 5m
#    catch_up: true
#    run: [{ hello: schedule }]

# More action names, each mapped to a module (a path relative to this file, or a URL) whose
# default export is an action, loaded at run time, e.g. { extra: ./extra_action.ts }. Actions
# are also found in an actions/ folder beside this file.
Actions: {}
`;
}
