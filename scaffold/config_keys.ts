/**
 * The `Application` and `Daemon` keys of a new project's `etc/NAME.yml`
 * (`templates/etc/NAME.yml.tmpl` has `{{applicationKeys}}` and
 * `{{daemonKeys}}` where they go). The keys and their docs (meaning, type,
 * unit, default) come from the config tables (`lib/config/application.ts`,
 * `lib/config/daemon.ts`): a key added there appears here, switched off, with
 * its row's example. {@link shownKeys} says how this template shows a key
 * instead: its value, whether it is switched off, and notes for this kind of
 * project.
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
 * The key lines of the `Application` and `Daemon` sections of a new
 * project's config, named as the template's placeholders: each key of the
 * tables with its doc, type and default, switched on or off.
 *
 * @param name The project's name (it appears in the pidfile's path).
 * @returns `applicationKeys` and `daemonKeys`, each lines indented two spaces.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { configKeyLines } from "./config_keys.ts";
 * const { applicationKeys, daemonKeys } = configKeyLines("clock");
 * assert.match(applicationKeys, /^ {2}# Type: number ≥ 0\.01 \(seconds\)\. Default: 60\.\n {2}wake_interval: 10$/m);
 * assert.match(daemonKeys, /^ {2}#pidfile: \/var\/run\/clock\.pid$/m);
 * ```
 */
export function configKeyLines(name: string): { applicationKeys: string; daemonKeys: string } {
  const shown = shownKeys(name);
  return {
    applicationKeys: keyLines("Application", APPLICATION_KEYS, shown),
    daemonKeys: keyLines("Daemon", DAEMON_KEYS, shown),
  };
}
