/**
 * `etc/NAME.service` of a new project: a systemd unit for the compiled app.
 *
 * `Type=notify-reload` (systemd 253+): systemd waits for the app's
 * `READY=1`, reloads it by sending SIGHUP and waiting for `RELOADING=1` then
 * `READY=1`, and restarts it when the `WATCHDOG=1` pings stop. flagstaff
 * sends all of them when `NOTIFY_SOCKET` is set (systemd.service(5),
 * sd_notify(3)).
 *
 * @module
 */

import type { TemplateVars } from "./mod.ts";

/** Renders `etc/NAME.service`. */
export function systemdUnit(vars: TemplateVars): string {
  const name = vars.name;
  return `# ${name} under systemd (253 or later for Type=notify-reload). Install:
#   deno task compile && sudo install -m 755 dist/${name} /usr/local/bin/${name}
#   sudo install -m 644 etc/${name}.yml /etc/${name}.yml
#   sudo install -m 644 etc/${name}.service /etc/systemd/system/${name}.service
#   sudo systemctl daemon-reload && sudo systemctl enable --now ${name}
# Then: systemctl reload ${name} (HUP: re-read the config), systemctl stop ${name} (TERM),
# journalctl -u ${name} (the console handler's lines).
[Unit]
Description=${name}, a flagstaff app
After=network-online.target
Wants=network-online.target

[Service]
# systemd waits for READY=1, reloads with SIGHUP and waits for READY=1 again.
Type=notify-reload
ExecStart=/usr/local/bin/${name} -c /etc/${name}.yml
# The app sends WATCHDOG=1 every half of this while its loop is healthy; silence restarts it.
WatchdogSec=30
Restart=on-failure
# A graceful stop: the tick in flight finishes, cleanup() runs. Keep TimeoutStopSec above the
# config's Daemon.stop_timeout.
KillSignal=SIGTERM
TimeoutStopSec=20
# A user of its own, made up by systemd (it also makes the file system read-only but for the
# folders below, and /tmp private); remove it to start as root and let the config's Daemon.user
# and Daemon.group switch. Folders the app owns: /run/${name}, /var/log/${name}, and
# /var/lib/${name} for the schedules' state (catch_up; $STATE_DIRECTORY, Daemon.state_dir's default).
DynamicUser=yes
RuntimeDirectory=${name}
LogsDirectory=${name}
StateDirectory=${name}

[Install]
WantedBy=multi-user.target
`;
}
