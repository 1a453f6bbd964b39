/**
 * `README.md` of a new project: how to run, signal, test, compile and
 * install it.
 *
 * @module
 */

import type { TemplateVars } from "./_legacy.ts";

/** Renders `README.md`. */
export function readme(vars: TemplateVars): string {
  const name = vars.name;
  const fence = "```";
  return `# ${name}

A long-lived TypeScript app on [flagstaff](${vars.flagstaff}) ${vars.flagstaffVersion}: flagstaff calls the controller's \`process()\` every \`wake_interval\` seconds, reloads the config on HUP, runs actions on signals and stops cleanly on TERM. It needs [Deno](https://deno.com) 2.9.

## Layout

- \`main.ts\`: the entry point, \`start(AppController, { name })\`; it gives the app its command line.
- \`deps.ts\`: the one file that names flagstaff, by URL.
- \`controller.ts\`: the controller: \`setup()\`, \`process()\`, \`cleanup()\` and the hooks.
- \`actions/\`: actions run on signals, one module each (\`hello.ts\`), with their tests.
- \`etc/${name}.yml\`: the config, with every section and key flagstaff accepts, explained.
- \`etc/${name}.service\`, \`etc/${name}.initd\`: a systemd unit and a SysV init script.
- \`tests/\`: tests that run the app as a process.

## Run

${fence}sh
deno task start   # run in the foreground with etc/${name}.yml
deno task dev     # the same, restarting when the code changes
${fence}

It logs \`setup invoked\`, then \`process invoked\` every 10 seconds. From another terminal, with the pid it logs:

${fence}sh
kill -HUP PID    # reload etc/${name}.yml (edit wake_interval first)
kill -USR2 PID   # run the hello action: prints "hello, world (SIGUSR2)"
kill -TERM PID   # stop: the tick in flight finishes, cleanup() runs, exit 0 (Ctrl-C does the same)
${fence}

Under \`deno run\`, SIGUSR1 also makes Deno open a debugger, so use HUP to reload there; the compiled binary has no such caveat.

The app's own commands (\`deno run ... main.ts --help\`, or \`${name} --help\` once compiled): \`${name} -c FILE\` runs it (\`-f\` foreground, \`--daemon\` detach once ready, \`--pidfile FILE\`, \`-v\`/\`-q\` log more or less), \`${name} check -c FILE\` validates a config, and \`${name} status|stop|reload -c FILE\` find a running instance by its pidfile (\`status\` exits 0 when it runs, 3 when not).

## Test and check

${fence}sh
deno task test    # the unit tests, and the app run as a process
deno task check   # formatting, lint and types
${fence}

## Compile and install

${fence}sh
deno task compile   # dist/${name}: one executable, with the same permissions
${fence}

Under systemd (253 or later), copy the binary to \`/usr/local/bin/${name}\`, the config to \`/etc/${name}.yml\` and the unit to \`/etc/systemd/system/${name}.service\`, then \`systemctl daemon-reload && systemctl enable --now ${name}\`. \`systemctl reload ${name}\` sends HUP and waits until the app has reloaded; the watchdog restarts the app if its loop stalls. The steps are at the top of \`etc/${name}.service\`.

Without systemd, install \`etc/${name}.initd\` as \`/etc/init.d/${name}\`: it starts the app with \`--daemon\` and a pidfile, and uses \`${name} status\`, \`stop\` and \`reload\`. Log to a file there (the \`file\` handler in the config): a daemon's stderr goes nowhere.

## flagstaff

The app imports flagstaff from \`${vars.flagstaff}\`. \`deps.ts\` names that URL once, in full, so \`deno run\` and \`deno compile\` need no import map; to move to another flagstaff, change it there. Actions import flagstaff's types only (\`import type\`): a module loaded at run time then needs no copy of flagstaff of its own. \`deno.lock\` (written by the first task; commit it) pins the npm packages flagstaff uses and, for an \`https:\` URL, every remote module.
`;
}
