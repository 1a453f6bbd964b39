/**
 * The one permission list flagstaff runs with. The `deno.json` tasks, the
 * README and the test helper use exactly these flags; `tests/readme_test.ts`
 * keeps them in step (`deno task sync` writes the copies).
 *
 * - `--allow-read`: the config file, controller and action modules, anywhere.
 * - `--allow-write`: log files and the errors file the config names.
 * - `--allow-net`: the `http` action, fetching controller and action modules given by URL,
 *   and holding 127.0.0.1:9229 under `deno run` (so SIGUSR1 opens no debugger).
 * - `--allow-import`: flagstaff's own modules when run from a URL, and the absolute `https:`
 *   imports of a controller or action.
 * - `--allow-run`: the `exec` action, and `--daemon` starting flagstaff again detached.
 * - `--allow-ffi`: systemd notify (a unix datagram socket), dropping privileges
 *   (`initgroups`, `setgid`, `setuid`) and reaping orphans as PID 1, through libc.
 * - `--allow-env=…`: only the variables flagstaff reads (the `exec` action
 *   `PATH`; the schedules' default state folder `STATE_DIRECTORY`,
 *   `XDG_STATE_HOME`, `HOME`; `NO_COLOR` for `list`).
 *
 * @module
 */

/** Environment variables flagstaff reads. */
export const ENV_VARS: readonly string[] = [
  "FLAGSTAFF_DETACHED",
  "FLAGSTAFF_ERRORS_DIRS",
  "FLAGSTAFF_READY_SOCKET",
  "FLAGSTAFF_STANDALONE",
  "HOME",
  "NOTIFY_SOCKET",
  "NO_COLOR",
  "PATH",
  "STATE_DIRECTORY",
  "WATCHDOG_PID",
  "WATCHDOG_USEC",
  "XDG_STATE_HOME",
];

/** The `deno run` permission flags flagstaff needs, in the order documented. */
export const PERMISSION_FLAGS: readonly string[] = [
  "--allow-read",
  "--allow-write",
  "--allow-net",
  "--allow-import",
  "--allow-run",
  "--allow-ffi",
  `--allow-env=${ENV_VARS.join(",")}`,
];
