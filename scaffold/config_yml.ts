/**
 * `etc/NAME.yml` of a new project: every section and key flagstaff accepts,
 * each explained. Keys that would change how the app runs on a developer's
 * machine (switching user, a pidfile under `/var/run`) are switched off as
 * `#key: value`, with no space after `#`; prose comments have one. Removing
 * the `#` of every such line still gives a valid config (`lib/cli/new_test.ts`
 * checks it), so each example value is one flagstaff accepts.
 *
 * @module
 */

import type { TemplateVars } from "./_legacy.ts";

/** Renders `etc/NAME.yml`. */
export function configYml(vars: TemplateVars): string {
  const name = vars.name;
  return `# ${name}'s config: \`deno task start\` runs the app with it (\`${name} -c FILE\` once compiled).
# Every section and key flagstaff accepts is here, at its default or at a working example. A line
# written \`#key: value\` is switched off: remove the \`#\` to use it. Any section may be left out;
# an unknown section or key, or a wrong type, is an error naming the file, line, column and key.
# \`${name} check -c FILE\` validates a config. YAML 1.1, as helper's PyYAML reads it: yes/no are
# booleans, 022 is octal. HUP (\`${name} reload\`, \`systemctl reload ${name}\`) reloads this file; a
# config that fails to load on reload is logged and the running one is kept.

Application:
  # Seconds between process() calls (fractions allowed). Default: 60.
  wake_interval: 10
  # Tool mode only (\`flagstaff run -c FILE\`): the controller module, relative to this file.
  # This app's main.ts names its controller itself, so the key has no effect here.
  #controller: ../controller.ts
  # Every other key is the app's own, handed over untouched as this.config.application.
  greeting: hello

Daemon:
  # Seconds a stop waits for the tick in flight and cleanup() before forcing the exit (code 1).
  # Default: 10. Keep systemd's TimeoutStopSec above it.
  stop_timeout: 10
  # Detach into the background once ready, as --daemon does; -f overrides it. Default: false.
  detach: false
  # helper's key: accepted, no effect. Default: unset.
  prevent_core: true
  # The pidfile, locked while the app runs; \`${name} status|stop|reload\` find the app by it. The
  # init script passes --pidfile instead; under systemd no pidfile is needed. Default: none.
  #pidfile: /var/run/${name}.pid
  # When started as root: the user and group to switch to (names or numeric ids), after the
  # pidfile and the log files are open. Default: stay who started it.
  #user: nobody
  #group: nogroup
  # File mode creation mask, in octal (Linux with glibc). Default: inherited.
  #umask: 027

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

# More action names, each mapped to a module (a path relative to this file, or a URL) whose
# default export is an action, loaded at run time, e.g. { extra: ./extra_action.ts }. Actions
# are also found in an actions/ folder beside this file.
Actions: {}
`;
}
