/**
 * `etc/NAME.initd` of a new project: helper's RHEL-style SysV init script,
 * built on the app's own commands, which find the running app by its pidfile
 * and follow the LSB exit codes (init-functions, "Init Script Actions"):
 * `NAME status` (0 running, 3 not running), `NAME stop` (TERM, wait, KILL
 * with `--force`), `NAME reload` (HUP), `NAME check` (validate the config),
 * and `NAME -c FILE --daemon`, which returns once the app is ready or prints
 * its start-up error.
 *
 * `DAEMON`, `CONFIG`, `PIDFILE`, `LOCKFILE` and `STOP_TIMEOUT` may come from
 * the environment (`service` clears it, so that is for tests and manual runs)
 * or from `/etc/sysconfig/NAME` or `/etc/default/NAME`.
 *
 * @module
 */

import type { TemplateVars } from "./_legacy.ts";

/** Renders `etc/NAME.initd`. */
export function initScript(vars: TemplateVars): string {
  const name = vars.name;
  return `#!/bin/sh
#
# ${name}: start, stop and reload ${name}, a flagstaff app, in the background.
#
# chkconfig:   2345 85 15
# description: ${name}, a flagstaff app
# processname: ${name}
# config:      /etc/${name}.yml
# pidfile:     /var/run/${name}.pid
#
### BEGIN INIT INFO
# Provides:          ${name}
# Required-Start:    $local_fs $remote_fs $network $syslog
# Required-Stop:     $local_fs $remote_fs $network $syslog
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: ${name}, a flagstaff app
# Description:       Runs /usr/local/bin/${name} -c /etc/${name}.yml --daemon
### END INIT INFO
#
# Install: sudo install -m 755 etc/${name}.initd /etc/init.d/${name}, then
# sudo chkconfig --add ${name} (RHEL) or sudo update-rc.d ${name} defaults (Debian).
# On a systemd machine use etc/${name}.service instead.
#
# Built on the app's own commands, which find it by its pidfile and follow the LSB exit codes:
# "${name} status" (0 running, 3 not running), "${name} stop" (TERM, then wait), "${name} reload"
# (HUP), "${name} check" (validate the config). Log to a file: under --daemon, stderr is /dev/null.

NAME=${name}
DAEMON=\${DAEMON:-/usr/local/bin/${name}}
CONFIG=\${CONFIG:-/etc/${name}.yml}
PIDFILE=\${PIDFILE:-/var/run/${name}.pid}
LOCKFILE=\${LOCKFILE:-/var/lock/subsys/${name}}
# Seconds "stop" waits before it sends KILL; keep it above the config's Daemon.stop_timeout.
STOP_TIMEOUT=\${STOP_TIMEOUT:-30}
# More options for the app, e.g. -v.
OPTIONS=\${OPTIONS:-}

# shellcheck source=/dev/null
[ -r "/etc/sysconfig/$NAME" ] && . "/etc/sysconfig/$NAME"
# shellcheck source=/dev/null
[ -r "/etc/default/$NAME" ] && . "/etc/default/$NAME"

is_running() {
  "$DAEMON" status -c "$CONFIG" --pidfile "$PIDFILE" >/dev/null 2>&1
}

do_configtest() {
  [ -x "$DAEMON" ] || { echo "$DAEMON is not an executable file"; return 5; }
  [ -r "$CONFIG" ] || { echo "$CONFIG is not a readable file"; return 6; }
  if ! output=$("$DAEMON" check -c "$CONFIG" 2>&1); then
    echo "$output"
    return 6
  fi
}

do_start() {
  do_configtest || return $?
  if is_running; then
    echo "$NAME is already running"
    return 0
  fi
  echo "Starting $NAME"
  # Returns once the app is ready (0), or prints its start-up error and fails.
  # shellcheck disable=SC2086
  "$DAEMON" -c "$CONFIG" --daemon --pidfile "$PIDFILE" $OPTIONS
  rc=$?
  if [ "$rc" -eq 0 ] && [ -d "$(dirname "$LOCKFILE")" ]; then touch "$LOCKFILE"; fi
  return "$rc"
}

do_stop() {
  echo "Stopping $NAME"
  "$DAEMON" stop -c "$CONFIG" --pidfile "$PIDFILE" --timeout "$STOP_TIMEOUT" --force
  rc=$?
  [ "$rc" -eq 0 ] && rm -f "$LOCKFILE"
  return "$rc"
}

do_reload() {
  do_configtest || return $?
  if ! is_running; then
    echo "$NAME is not running"
    return 7
  fi
  echo "Reloading $NAME"
  "$DAEMON" reload -c "$CONFIG" --pidfile "$PIDFILE"
}

case "$1" in
  start) do_start ;;
  stop) do_stop ;;
  restart) do_configtest && do_stop && do_start ;;
  try-restart | condrestart)
    if is_running; then do_configtest && do_stop && do_start; fi
    ;;
  reload | force-reload) do_reload ;;
  status) "$DAEMON" status -c "$CONFIG" --pidfile "$PIDFILE" ;;
  configtest) do_configtest && echo "$CONFIG is valid" ;;
  *)
    echo "Usage: $0 {start|stop|restart|try-restart|reload|force-reload|status|configtest}"
    exit 2
    ;;
esac
`;
}
