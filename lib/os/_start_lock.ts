/**
 * The start lock of a pidfile: an exclusive `flock(2)` on `.NAME.lock`
 * beside the pidfile `NAME`, which starters (`acquirePidfile()`, step 2 of
 * `pidfile.ts`'s module doc) and `stop` removing a stale pidfile
 * (`OpenPidfile.removeIfStale()`) hold in turn. It is the only thing that
 * orders them, since the pidfile's own lock cannot (another user can hold
 * it). The lock file is mode 0600 and must be this user's own regular file
 * with one link, so another user cannot open it, hence cannot hold it.
 *
 * The holder checks that the path still names the file it locked (else it
 * starts over), and removes it before letting go: a waiter that then gets
 * the lock of the removed file sees that and starts over. A process killed
 * while holding it leaves a `.NAME.lock`, which the next holder takes and
 * removes. Private to `pidfile.ts` and `open_pidfile.ts`.
 *
 * @module
 */

import { basename, dirname, join } from "node:path";
import { type FileStat, pathNames } from "./file_stat.ts";
import { tryFlock } from "./flock.ts";
import { EAGAIN } from "./_libc.ts";
import { OsError } from "./os_error.ts";
import { effectiveUid, notOwnFile } from "./own_file.ts";
import { closeFd, NotRegularFileError, O_CREAT, O_RDONLY, openRegularFile } from "./safe_file.ts";
import { PIDFILE_ERROR, refusal } from "./_pidfile_trust.ts";
import { delay } from "../core/delay.ts";
import { FlagstaffError } from "../core/errors.ts";

/** How often to try the start lock while another process holds it, in milliseconds. */
const LOCK_RETRY_MS = 10;
/** How many times to start over when the pidfile or its start lock is replaced meanwhile. */
export const MAX_ATTEMPTS = 20;

/** The start lock's path: `.NAME.lock` beside the pidfile `path`. */
function startLockPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.lock`);
}

/**
 * Runs `fn` holding the start lock of the pidfile `path` (see the module
 * doc), waiting up to `waitMs` for it, and removes the lock file before
 * letting go.
 *
 * @throws {FlagstaffError} `pidfile` when the lock file cannot be opened or
 *   is not this user's own regular file with one link, or another process
 *   holds it past `waitMs`; what `fn` throws.
 */
export async function withStartLock<T>(path: string, waitMs: number, fn: () => T): Promise<T> {
  const lockPath = startLockPath(path);
  const deadlineMs = performance.now() + waitMs;
  for (let attempt = 1;; attempt++) {
    let opened: { fd: number; stat: FileStat };
    try {
      opened = openRegularFile(lockPath, O_RDONLY | O_CREAT, { mode: 0o600 });
    } catch (error) {
      if (error instanceof NotRegularFileError) {
        throw refusal(path, `its lock file "${lockPath}": ${error.reason}`);
      }
      // Its holder removed it and another starter made a new one while we opened it.
      if (error instanceof OsError && error.errno === EAGAIN) {
        replaced(path, lockPath, attempt);
        continue;
      }
      if (error instanceof OsError) {
        throw new FlagstaffError(
          PIDFILE_ERROR,
          `Cannot create pidfile "${path}": cannot open its lock file "${lockPath}": ${error.reason}`,
          { cause: error },
        );
      }
      throw error;
    }
    const { fd, stat } = opened;
    try {
      // Its holder removed it between our open and our stat (no link left): start over.
      if (stat.nlink === 0) {
        replaced(path, lockPath, attempt);
        continue;
      }
      const why = notOwnFile(stat, effectiveUid());
      if (why) throw refusal(path, `its lock file "${lockPath}": ${why}`);
      while (!tryFlock(fd, true)) {
        if (performance.now() >= deadlineMs) {
          throw new FlagstaffError(
            PIDFILE_ERROR,
            `Cannot create pidfile "${path}": another process has held its lock file "${lockPath}" for more than ${
              waitMs / 1000
            } s`,
          );
        }
        await delay(LOCK_RETRY_MS);
      }
      // Its holder removed it before letting go: take the one that has the name now.
      if (!pathNames(lockPath, stat)) {
        replaced(path, lockPath, attempt);
        continue;
      }
      try {
        return fn();
      } finally {
        try {
          Deno.removeSync(lockPath);
        } catch {
          // Left behind, it is harmless: the next holder takes it and removes it.
        }
      }
    } finally {
      closeFd(fd);
    }
  }
}

/** The lock file was replaced while we opened or waited for it: throws after {@link MAX_ATTEMPTS}. */
function replaced(path: string, lockPath: string, attempt: number): void {
  if (attempt < MAX_ATTEMPTS) return;
  throw new FlagstaffError(
    PIDFILE_ERROR,
    `Cannot create pidfile "${path}": its lock file "${lockPath}" was replaced ${MAX_ATTEMPTS} times`,
  );
}
