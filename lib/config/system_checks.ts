/**
 * The config checks that need the system, run after the sections' tables:
 * `Daemon.user`/`Daemon.group` must exist ({@link checkAccounts}), and log
 * files must be ones the user who opens them (`Daemon.user` after a
 * privilege drop, else this process's) can open ({@link checkDropWrites}).
 * `check`, `run` and a reload all run them, so each refuses alike.
 *
 * @module
 */

import { dirname } from "node:path";
import { FlagstaffError } from "../core/errors.ts";
import { type LoggingSection, reopensInFolder } from "../logging/logging.ts";
import type { DaemonConfig } from "./daemon.ts";
import { isNonEmptyString, isPlainObject, type Report } from "./schema.ts";

/**
 * Reports a `Daemon.user` or `Daemon.group` the system does not know
 * (`getpwnam(3)`, `getgrnam(3)` through libc), and a numeric user without a
 * user-database entry when no group is given.
 *
 * @throws {FlagstaffError} `permission` without `--allow-ffi`, and any
 *   failed lookup other than "no such user or group".
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkAccounts } from "./system_checks.ts";
 * const problems: string[] = [];
 * await checkAccounts({ stop_timeout: 10, user: "no-such-user-flagstaff" }, (path, message) =>
 *   problems.push(`${path.join(".")}: ${message}`)
 * );
 * assert.deepEqual(problems, [
 *   'Daemon.user: unknown user "no-such-user-flagstaff" (not in the user database)',
 * ]);
 * ```
 */
export async function checkAccounts(daemon: DaemonConfig, report: Report): Promise<void> {
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
 * Says now what would stop a log file from being opened at start-up (at
 * `Logging.handlers.<name>.filename`, for every file handler that the root
 * logger or a logger uses: the others are never opened), instead of
 * `run` failing at its logging set-up or losing every record at the first
 * rotation, without creating anything:
 *
 * - its folder must exist (flagstaff creates log files, not folders), unless
 *   the file is first opened at its first record (`delay: true`);
 * - the user who opens it must be able to write it: as root with
 *   `Daemon.user`/`Daemon.group`, that user (log files are opened after the
 *   drop), else this process's user; the file if it exists, and its folder
 *   when the file is created (missing, `delay: true`) or rotated;
 * - an existing file must be a regular file of that user with one link (the
 *   words of `ensureOwnFile()`, which `run` applies when it opens it);
 * - every folder from `/` to it must be one that no user but root and the
 *   one who opens it can change, and a link on the way lie in a folder no
 *   other user can write (`log_folder.ts`'s `openLogFolder()`, which `run`
 *   applies again at each open): its own folder may be a shared sticky one
 *   (as /tmp) only for a file LogTape opens once, not for a rotating or
 *   `delay: true` one, which LogTape opens again by its path later.
 *
 * Write access is judged from mode bits (ACLs aside). Handler paths must be
 * absolute.
 *
 * @throws {FlagstaffError} `permission` without `--allow-ffi` when there is a
 *   drop to check (without a drop, who writes is then not checked).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkDropWrites } from "./system_checks.ts";
 * const problems: string[] = [];
 * await checkDropWrites({ stop_timeout: 10 }, {
 *   handlers: {
 *     file: { class: "logging.FileHandler", filename: "/nonexistent/dir/a.log" },
 *     unused: { class: "logging.FileHandler", filename: "/nonexistent/dir/b.log" },
 *   },
 *   root: { handlers: ["file"] },
 * }, (path, message) => problems.push(`${path.join(".")}: ${message}`));
 * assert.deepEqual(problems, [
 *   'Logging.handlers.file.filename: cannot open this log file: its folder "/nonexistent/dir" ' +
 *   "does not exist (flagstaff creates log files, not folders)",
 * ]);
 * ```
 */
export async function checkDropWrites(
  daemon: DaemonConfig,
  logging: LoggingSection | undefined,
  report: Report,
): Promise<void> {
  const { user, group } = daemon;
  const handlers = logging?.handlers;
  if (!isPlainObject(handlers)) return;
  // Only the handlers a logger uses are opened (helper's `helper` logger uses `console` when the
  // section gives no root and no `helper` of its own); the others may name any path.
  const loggers = isPlainObject(logging?.loggers) ? logging.loggers : {};
  const used = new Set(
    [logging?.root, ...Object.values(loggers)].flatMap((logger) =>
      isPlainObject(logger) && Array.isArray(logger.handlers) ? logger.handlers.map(String) : []
    ),
  );
  if (logging?.root === undefined && !("helper" in loggers)) used.add("console");
  const files = Object.entries(handlers).filter(([name, handler]) =>
    used.has(name) && isPlainObject(handler) && isNonEmptyString(handler.filename)
  );
  if (files.length === 0) return;
  const { canWriteFile, canWriteFolder, dropTarget } = await import("../os/accounts.ts");
  const { effectiveUid, notOwnFile } = await import("../os/own_file.ts");
  const { withOwnLibc } = await import("../os/_libc.ts");
  const { openLogFolder } = await import("../os/log_folder.ts");
  const { closeFd } = await import("../os/safe_file.ts");
  const drop = user !== undefined || group !== undefined;
  // Who opens the log files: Daemon.user after a drop (as root), else this process's user.
  let euid: number | undefined;
  try {
    euid = withOwnLibc(effectiveUid);
  } catch (error) {
    // Without libc there is no telling who writes; a drop cannot happen without it either.
    if (drop || !(error instanceof FlagstaffError && error.code === "permission")) throw error;
  }
  const dropping = drop && euid === 0;
  const writer = euid === undefined
    ? undefined
    : dropping
    ? withOwnLibc(() => dropTarget(user, group)) // Undefined for an unknown account: reported.
    : euid === 0
    ? { uid: 0, gids: [0] }
    : withOwnLibc(() => dropTarget(String(euid))) ?? { uid: euid, gids: [] };
  const who = dropping
    ? `Daemon.user ${JSON.stringify(user ?? `uid ${writer?.uid}`)}`
    : `this user (uid ${euid})`;
  const when = dropping
    ? "log files are opened after privileges are dropped"
    : "log files are opened by the user flagstaff runs as";
  for (const [name, handler] of files) {
    const filename = (handler as { filename: string }).filename;
    const folder = dirname(filename);
    const at = ["Logging", "handlers", name, "filename"];
    const reopens = reopensInFolder(handler);
    if (writer) {
      // Every folder from / to it one that no other user can change (log_folder.ts), as at its open.
      const refusal = withOwnLibc((): string | undefined => {
        try {
          const fd = openLogFolder(filename, {
            owner: writer.uid,
            reopens,
            who: dropping ? who : writer.uid === 0 ? "root" : `uid ${writer.uid}`,
          });
          if (fd !== undefined) closeFd(fd);
          return undefined;
        } catch (error) {
          if (error instanceof FlagstaffError && error.code === "config_invalid") {
            return error.message;
          }
          throw error;
        }
      });
      if (refusal) {
        report(at, refusal);
        continue;
      }
    }
    let folderInfo: Deno.FileInfo | undefined;
    let lookFailed: unknown;
    try {
      folderInfo = await Deno.stat(folder);
    } catch (error) {
      lookFailed = error;
    }
    if (!folderInfo?.isDirectory) {
      // A `delay: true` file is first opened at its first record: its folder may come by then.
      if (!folderInfo && reopens === "create" && lookFailed instanceof Deno.errors.NotFound) {
        continue;
      }
      const what = folderInfo
        ? "is not a folder"
        : lookFailed instanceof Deno.errors.NotFound
        ? "does not exist (flagstaff creates log files, not folders)"
        : `cannot be looked at: ${
          lookFailed instanceof Error ? lookFailed.message.split("\n")[0] : String(lookFailed)
        }`;
      report(at, `cannot open this log file: its folder ${JSON.stringify(folder)} ${what}`);
      continue;
    }
    if (!writer) continue;
    const info = await Deno.lstat(filename).catch(() => undefined);
    const exists = info !== undefined;
    const needsFolder = !exists || reopens !== undefined;
    const fileOk = !exists || canWriteFile(filename, writer);
    const folderOk = !needsFolder || canWriteFolder(folder, writer);
    if (!fileOk || !folderOk) {
      const why = !fileOk
        ? `write this log file`
        : reopens === "rotate"
        ? `write the folder "${folder}", which it needs to rotate this log file`
        : `create this log file in the folder "${folder}"`;
      report(
        at,
        `${who} cannot ${why}: ${when}. ` +
          `Give that user the ${fileOk ? "folder" : "file"} (or a group with write access), ` +
          "or log to stderr (the journal under systemd)",
      );
      continue;
    }
    const type = !info
      ? undefined
      : info.isSymlink
      ? "symlink"
      : info.isFile
      ? "file"
      : info.isDirectory
      ? "directory"
      : info.isFifo
      ? "fifo"
      : info.isSocket
      ? "socket"
      : info.isCharDevice
      ? "character device"
      : info.isBlockDevice
      ? "block device"
      : "unknown";
    const problem = info && type &&
      notOwnFile({ type, uid: info.uid ?? writer.uid, nlink: info.nlink ?? 1 }, writer.uid);
    if (problem) {
      report(at, `Cannot use log file ${JSON.stringify(filename)}: ${problem}`);
    }
  }
}

/**
 * Says now what would stop `run` from taking `Daemon.pidfile`: its folder
 * must exist (flagstaff creates the pidfile, not folders). Who may write
 * there, and as root whether another user could change it, is decided when
 * the pidfile is taken (`lib/os/pidfile.ts`), in the same words.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkPidfileFolder } from "./system_checks.ts";
 * const problems: string[] = [];
 * checkPidfileFolder({ stop_timeout: 10, pidfile: "/nonexistent/dir/app.pid" }, (path, message) =>
 *   problems.push(`${path.join(".")}: ${message}`));
 * assert.deepEqual(problems, [
 *   'Daemon.pidfile: cannot create this pidfile: its folder "/nonexistent/dir" does not exist ' +
 *   "(flagstaff creates the pidfile, not folders)",
 * ]);
 * ```
 */
export function checkPidfileFolder(daemon: DaemonConfig, report: Report): void {
  if (daemon.pidfile === undefined) return;
  const folder = dirname(daemon.pidfile);
  let isFolder: boolean;
  try {
    isFolder = Deno.statSync(folder).isDirectory;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) return; // Said when it is taken.
    report(
      ["Daemon", "pidfile"],
      `cannot create this pidfile: its folder ${JSON.stringify(folder)} does not exist ` +
        "(flagstaff creates the pidfile, not folders)",
    );
    return;
  }
  if (!isFolder) {
    report(
      ["Daemon", "pidfile"],
      `cannot create this pidfile: ${JSON.stringify(folder)} is not a folder`,
    );
  }
}
