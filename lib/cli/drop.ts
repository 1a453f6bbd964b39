/**
 * Giving up root before any user code runs (`run`, `check`, `list -c`): the
 * trust model's order, in one place.
 *
 * @module
 */

import type { Config } from "../config/config.ts";

/** Whether this process may open `file` for reading now. */
function canRead(file: string): boolean {
  try {
    Deno.openSync(file, { read: true }).close();
    return true;
  } catch {
    return false;
  }
}

/**
 * Drops to `Daemon.user`/`Daemon.group` after loading everything flagstaff
 * will need later (after the drop, Deno's cache, root's, may be unreadable).
 */
export async function dropPrivilegesNow(config: Config): Promise<() => void> {
  const { user, group } = config.daemon;
  if (user === undefined && group === undefined) return () => {};
  const { getLogger, loadFileSinks } = await import("../deps.ts");
  const log = getLogger(["flagstaff", "cli"]);
  const [{ dropPrivileges }, , , , , , , , { trustDroppedUser }] = await Promise.all([
    import("../os/privileges.ts"),
    import("../runtime/loader.ts"),
    import("../runtime/action_registry.ts"),
    import("../runtime/heap.ts"),
    // A reload may add the first cron schedule: croner must be loaded while the cache is readable.
    import("../schedules/calendar.ts").then((calendar) => calendar.loadCronCalendars()),
    import("node:v8"),
    import("node:vm"),
    loadFileSinks(),
    import("../runtime/code_trust.ts"),
  ]);
  const dropped = dropPrivileges({ user, group });
  // Code loaded from now on must be root's or this user's, not another user's.
  if (dropped.switched) trustDroppedUser(dropped.uid);
  const readable = !config.file || canRead(config.file);
  // Said once logging is whole again (log files open after the drop).
  return () => {
    if (!dropped.switched) return;
    log.info("Running as uid {uid}, gid {gid}", { uid: dropped.uid, gid: dropped.gid });
    if (!readable) {
      log.warn(
        "The new user cannot read the config file {file}: a reload will fail and keep the running config",
        { file: config.file },
      );
    }
  };
}
