import assert from "node:assert/strict";
import { getLogger, loadYaml } from "../deps.ts";

const { load } = await loadYaml();
const parseDocument = (text: string) => ({ toJS: () => load(text) as { Logging: unknown } });
import {
  applyLogging,
  checkLoggingSection,
  type LoggingSection,
  shutdownLogging,
} from "./logging.ts";

/** helper's documented example, verbatim (docs/configuration.rst, "Example"). */
const HELPER_EXAMPLE = `
Logging:
    version: 1
    formatters: []
    verbose:
      format: '%(levelname) -10s %(asctime)s %(process)-6d %(processName) -15s %(name) -10s %(funcName) -20s: %(message)s'
      datefmt: '%Y-%m-%d %H:%M:%S'
    handlers:
      console:
        class: logging.StreamHandler
        formatter: verbose
        debug_only: True
    loggers:
      helper:
        handlers: [console]
        level: INFO
        propagate: true
    disable_existing_loggers: true
    incremental: false
`;

/** helper 2.5.0's built-in `Config.LOGGING`. */
const HELPER_DEFAULTS = {
  disable_existing_loggers: true,
  filters: {},
  formatters: {
    verbose: {
      datefmt: "%Y-%m-%d %H:%M:%S",
      format: "%(levelname) -10s %(asctime)s %(process)-6d %(processName) -20s " +
        "%(threadName)-12s %(name) -30s %(funcName) -25s L%(lineno)-6d: %(message)s",
    },
  },
  handlers: {
    console: { class: "logging.StreamHandler", debug_only: true, formatter: "verbose" },
  },
  incremental: false,
  loggers: { helper: { handlers: ["console"], level: "INFO", propagate: true } },
  root: { handlers: [], level: 50, propagate: true },
  version: 1,
};

function issuesOf(section: unknown): [string, string][] {
  const issues: [string, string][] = [];
  checkLoggingSection(section, (keyPath, message) => issues.push([keyPath.join("."), message]));
  return issues;
}

/** Captures what the sinks write to stderr or stdout until disposed. */
function capture(stream: "stdout" | "stderr"): Disposable & { text(): string } {
  const target = stream === "stdout" ? Deno.stdout : Deno.stderr;
  const decoder = new TextDecoder();
  let text = "";
  target.writeSync = (bytes: Uint8Array) => {
    text += decoder.decode(bytes);
    return bytes.length;
  };
  return {
    text: () => text,
    [Symbol.dispose]() {
      delete (target as { writeSync?: unknown }).writeSync;
    },
  };
}

/** A temp dir that also shuts logging down (closing files) before it is removed. */
async function tempDir(): Promise<AsyncDisposable & { path: string }> {
  const path = await Deno.makeTempDir({ prefix: "flagstaff_logging_" });
  return {
    path,
    async [Symbol.asyncDispose]() {
      await shutdownLogging();
      await Deno.remove(path, { recursive: true });
    },
  };
}

function fileHandler(filename: string, extra: Record<string, unknown> = {}) {
  return { class: "logging.FileHandler", filename, ...extra } as const;
}

Deno.test("`checkLoggingSection()` accepts helper's documented example verbatim", () => {
  const section = parseDocument(HELPER_EXAMPLE).toJS().Logging;
  assert.deepEqual(issuesOf(section), []);
});

Deno.test("`checkLoggingSection()` accepts helper's built-in defaults", () => {
  assert.deepEqual(issuesOf(HELPER_DEFAULTS), []);
});

Deno.test("`checkLoggingSection()` reports an unknown level with its key", () => {
  assert.deepEqual(issuesOf({ loggers: { "myapp.db": { level: "LOUD" } } }), [[
    "loggers.myapp.db.level",
    'expected one of DEBUG, INFO, WARNING, ERROR, CRITICAL, NOTSET, got "LOUD"',
  ]]);
  assert.deepEqual(issuesOf({ root: { level: 60 } }), [[
    "root.level",
    "expected a level number from 0 to 50, got 60",
  ]]);
});

Deno.test("`checkLoggingSection()` accepts Python and LogTape level names in any case", () => {
  const levels = [
    "debug",
    "Info",
    "WARN",
    "warning",
    "FATAL",
    "critical",
    "notset",
    "trace",
    0,
    25,
  ];
  for (const level of levels) {
    assert.deepEqual(issuesOf({ root: { level } }), [], String(level));
  }
});

Deno.test("`checkLoggingSection()` reports an unknown handler class with the supported ones", () => {
  assert.deepEqual(issuesOf({ handlers: { x: { class: "logging.handlers.Foo" } } }), [[
    "handlers.x.class",
    'unknown handler class "logging.handlers.Foo" (supported: logging.StreamHandler, console, ' +
    "logging.FileHandler, file, logging.handlers.RotatingFileHandler, rotating_file, " +
    "logging.NullHandler, null)",
  ]]);
});

Deno.test("`checkLoggingSection()` rejects SysLogHandler and names the alternatives", () => {
  const issues = issuesOf({
    handlers: {
      syslog: { class: "logging.handlers.SysLogHandler", address: "/dev/log", facility: "local6" },
    },
  });
  assert.equal(issues.length, 1);
  assert.equal(issues[0][0], "handlers.syslog.class");
  assert.match(issues[0][1], /^handler class "logging.handlers.SysLogHandler" is not supported: /);
  assert.match(
    issues[0][1],
    /--unstable-net; use "logging.StreamHandler" .* or "logging.FileHandler"$/,
  );
});

Deno.test("`checkLoggingSection()` reports every kind of problem with its key path", () => {
  const issues = issuesOf({
    version: 2,
    filters: { quiet: { name: "x" } },
    formatters: {
      bad: { format: "%(nope)s %(name)d", datefmt: "%j", style: "{", validate: "yes" },
      other: { fmt: "%(message)s", class: "my.Formatter" },
    },
    handlers: {
      noclass: { level: "INFO" },
      file: { class: "file", mode: "r", encoding: "latin-1", delay: 1, formatter: "missing" },
      rotating: { class: "rotating_file", filename: "a.log", maxBytes: -1, backupCount: 1.5 },
      stream: { class: "console", stream: "ext://sys.stdin", filters: ["f"], debug_only: "yes" },
      extra: { class: "logging.StreamHandler", filename: "x.log", "()": "my.factory" },
    },
    loggers: {
      helper: { level: "INFO" },
      flagstaff: { level: "DEBUG" },
      "logtape.meta": {},
      "a..b": {},
      app: { handlers: ["nowhere", 3], propagate: "no", qualname: "app" },
      plain: null,
    },
    root: { handlers: "console", level: "LOUD" },
    disable_existing_loggers: "yes",
    incremental: true,
    handler: {},
  });
  // Unknown keys first, then each map's keys in the order its table lists them.
  assert.deepEqual(issues, [
    [
      "handler",
      'unknown key "handler" (expected: version, formatters, filters, handlers, loggers, root, ' +
      "disable_existing_loggers, incremental)",
    ],
    ["version", "expected 1, got 2"],
    ["formatters.bad.format", issues[2][1]],
    ["formatters.bad.format", '"%(name)d" needs a number, but field "name" is text'],
    ["formatters.bad.datefmt", issues[4][1]],
    ["formatters.bad.style", 'expected "%", got "{" (only %-style formats are supported)'],
    ["formatters.bad.validate", 'expected true or false, got "yes"'],
    [
      "formatters.other.fmt",
      'unknown key "fmt" (expected: format, datefmt, style, validate, class)',
    ],
    ["formatters.other.class", 'expected "logging.Formatter", got "my.Formatter"'],
    ["filters.quiet", "filters are not supported; use a logger or handler level instead"],
    ["handlers.noclass", 'missing key "class"'],
    ["handlers.file.formatter", 'formatter "missing" is not defined'],
    ["handlers.file", 'missing key "filename"'],
    ["handlers.file.mode", 'expected "a" or "w", got "r"'],
    ["handlers.file.encoding", 'expected "utf-8" (the only encoding supported), got "latin-1"'],
    ["handlers.file.delay", "expected true or false, got 1"],
    ["handlers.rotating.maxBytes", "expected a whole number, 0 or more, got -1"],
    ["handlers.rotating.backupCount", "expected a whole number, 0 or more, got 1.5"],
    ["handlers.stream.filters.0", 'filter "f" is not defined (filters are not supported)'],
    ["handlers.stream.debug_only", 'expected true or false, got "yes"'],
    [
      "handlers.stream.stream",
      'expected "ext://sys.stderr" or "ext://sys.stdout", got "ext://sys.stdin"',
    ],
    [
      "handlers.extra.filename",
      'unknown key "filename" for "logging.StreamHandler" (expected: class, level, formatter, ' +
      "filters, debug_only, stream)",
    ],
    ["handlers.extra.()", "custom factories are not supported"],
    ["loggers.flagstaff", '"flagstaff" and "helper" name the same logger, "flagstaff"; keep one'],
    ["loggers.logtape.meta", 'logger "logtape.meta" is reserved for LogTape\'s own diagnostics'],
    ["loggers.a..b", 'expected a dotted logger name, got "a..b"'],
    [
      "loggers.app.qualname",
      'unknown key "qualname" (expected: level, handlers, filters, propagate)',
    ],
    ["loggers.app.handlers.0", 'handler "nowhere" is not defined'],
    ["loggers.app.handlers.1", "expected a handler name, got 3"],
    ["loggers.app.propagate", 'expected true or false, got "no"'],
    ["loggers.plain", "expected a map, got nothing"],
    ["root.level", 'expected one of DEBUG, INFO, WARNING, ERROR, CRITICAL, NOTSET, got "LOUD"'],
    ["root.handlers", 'expected a list of handler names, got "console"'],
    ["disable_existing_loggers", 'expected true or false, got "yes"'],
    ["incremental", "expected false, got true (incremental configuration is not supported)"],
  ]);
  assert.match(issues[2][1], /^unknown field "nope" in "%\(nope\)s" \(supported: /);
  assert.match(issues[4][1], /^unknown directive "%j" \(supported: /);
});

Deno.test("`checkLoggingSection()` names a Python % directive flagstaff does not support, at its format key", () => {
  assert.deepEqual(
    issuesOf({ formatters: { hex: { format: "%(levelno)#x %(created)e %(message)s" } } }),
    ["%(levelno)#x", "%(created)e"].map((directive) => [
      "formatters.hex.format",
      `"${directive}" is not supported: flagstaff takes %(field)s, %(field)d and %(field)f, ` +
      "with the flags -, 0 and space, a width and a precision",
    ]),
  );
});

Deno.test("`checkLoggingSection()` never throws, whatever it is given", () => {
  const odd = [null, undefined, 3, "x", [], [1], { a: null }, [{}], true];
  for (const value of odd) {
    checkLoggingSection(value, () => {});
    for (const key of ["formatters", "handlers", "loggers", "filters", "root", "version"]) {
      checkLoggingSection({ [key]: value }, () => {});
      checkLoggingSection({ [key]: { x: value } }, () => {});
      checkLoggingSection(
        { [key]: { x: { class: value, level: value, handlers: value } } },
        () => {},
      );
    }
  }
  assert.deepEqual(issuesOf(null), [["", "expected a map, got nothing"]]);
  assert.deepEqual(issuesOf({ handlers: [1] }), [[
    "handlers",
    "expected a map of handlers, got a list",
  ]]);
});

Deno.test("`applyLogging()` writes through a FileHandler with the formatter's fields", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/app.log`;
  await applyLogging({
    formatters: {
      brief: {
        format: "%(levelname)-8s|%(name)s|%(funcName)s|%(filename)s|%(module)s|%(message)s",
      },
    },
    handlers: { file: fileHandler(path, { formatter: "brief" }) },
    loggers: { myapp: { level: "INFO", handlers: ["file"] } },
  }, { foreground: false });
  function connect() {
    getLogger(["myapp", "db"]).info("Connected to {host}", { host: "db1" });
    getLogger(["myapp"]).debug("Not shown");
  }
  connect();
  assert.equal(
    await Deno.readTextFile(path),
    "INFO    |myapp.db|connect|logging_test.ts|logging_test|Connected to db1\n",
  );
});

Deno.test("`applyLogging()` reports the line and path of the logging call", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/app.log`;
  await applyLogging({
    formatters: { where: { format: "%(pathname)s:%(lineno)d" } },
    handlers: { file: fileHandler(path, { formatter: "where" }) },
    root: { level: "DEBUG", handlers: ["file"] },
  }, { foreground: false });
  getLogger(["app"]).warning("Here");
  const [pathname, lineno] = (await Deno.readTextFile(path)).trim().split(":");
  assert.equal(pathname, new URL(import.meta.url).pathname);
  const source = (await Deno.readTextFile(pathname)).split("\n");
  assert.match(source[Number(lineno) - 1], /getLogger\(\["app"\]\)\.warning\("Here"\)/);
});

Deno.test("`applyLogging()` appends the error's stack to the line, as Python's exc_info", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/app.log`;
  await applyLogging({
    handlers: { file: fileHandler(path) },
    root: { handlers: ["file"] },
  }, { foreground: false });
  getLogger(["app"]).fatal("Setup failed", new Error("boom"));
  assert.match(await Deno.readTextFile(path), /^Setup failed\nError: boom\n {4}at /);
});

Deno.test("`applyLogging()` applies a logger's level to records from below, as Python's effective level", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/app.log`;
  await applyLogging({
    handlers: { file: fileHandler(path) },
    loggers: { "app.db": { level: "DEBUG" }, app: { level: "ERROR" } },
    root: { level: "WARNING", handlers: ["file"] },
  }, { foreground: false });
  getLogger(["app", "db", "pool"]).debug("db debug reaches the root handler");
  getLogger(["app", "web"]).warning("app is at ERROR");
  getLogger(["app", "web"]).error("app error");
  getLogger(["other"]).info("root is at WARNING");
  assert.equal(await Deno.readTextFile(path), "db debug reaches the root handler\napp error\n");
});

Deno.test("`applyLogging()` keeps records from the parents' handlers with propagate false", async () => {
  await using dir = await tempDir();
  await applyLogging({
    handlers: {
      all: fileHandler(`${dir.path}/all.log`),
      db: fileHandler(`${dir.path}/db.log`),
    },
    loggers: { "app.db": { handlers: ["db"], propagate: false } },
    root: { level: "INFO", handlers: ["all"] },
  }, { foreground: false });
  getLogger(["app", "db"]).info("query");
  getLogger(["app"]).info("request");
  assert.equal(await Deno.readTextFile(`${dir.path}/all.log`), "request\n");
  assert.equal(await Deno.readTextFile(`${dir.path}/db.log`), "query\n");
});

Deno.test("`applyLogging()` rotates a RotatingFileHandler as Python names the files", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/app.log`;
  await applyLogging({
    handlers: {
      rotating: {
        class: "logging.handlers.RotatingFileHandler",
        filename: path,
        maxBytes: 26,
        backupCount: 2,
      },
    },
    root: { level: "INFO", handlers: ["rotating"] },
  }, { foreground: false });
  const logger = getLogger(["app"]);
  for (let index = 1; index <= 7; index++) logger.info(`line ${index} is 14`);
  // What Python 3.11's RotatingFileHandler writes for the same lines: each is 13 bytes, so a
  // second one would make the file reach maxBytes, and Python rolls over first.
  assert.equal(await Deno.readTextFile(path), "line 7 is 14\n");
  assert.equal(await Deno.readTextFile(`${path}.1`), "line 6 is 14\n");
  assert.equal(await Deno.readTextFile(`${path}.2`), "line 5 is 14\n");
  await assert.rejects(Deno.stat(`${path}.3`), Deno.errors.NotFound);
});

Deno.test("`applyLogging()` leaves debug_only handlers out in the background", async () => {
  await using dir = await tempDir();
  const section: LoggingSection = {
    handlers: {
      console: { class: "logging.StreamHandler", debug_only: true },
      file: fileHandler(`${dir.path}/app.log`),
    },
    loggers: { app: { level: "INFO", handlers: ["console", "file"] } },
    root: { handlers: ["console"] },
  };
  {
    using stderr = capture("stderr");
    await applyLogging(section, { foreground: false });
    getLogger(["app"]).info("background");
    assert.equal(stderr.text(), "");
  }
  {
    using stderr = capture("stderr");
    await applyLogging(section, { foreground: true });
    getLogger(["app"]).info("foreground");
    // Once for the app logger's console, once more for the root's, as Python does.
    assert.equal(stderr.text(), "foreground\nforeground\n");
  }
  assert.equal(await Deno.readTextFile(`${dir.path}/app.log`), "background\nforeground\n");
});

Deno.test("`applyLogging()` shifts every configured level by the verbosity", async () => {
  await using dir = await tempDir();
  const section: LoggingSection = {
    handlers: {
      file: fileHandler(`${dir.path}/app.log`),
      errors: fileHandler(`${dir.path}/errors.log`, { level: "ERROR" }),
    },
    loggers: { app: { level: "INFO", handlers: ["file", "errors"] } },
  };
  const logAll = () => {
    const logger = getLogger(["app"]);
    logger.debug("debug");
    logger.info("info");
    logger.warning("warning");
    logger.error("error");
  };
  await applyLogging(section, { foreground: false, verbosity: 1 });
  logAll();
  await applyLogging(section, { foreground: false, verbosity: -1 });
  logAll();
  await applyLogging(section, { foreground: false, verbosity: 9 });
  getLogger(["app"]).trace("trace");
  assert.equal(
    await Deno.readTextFile(`${dir.path}/app.log`),
    "debug\ninfo\nwarning\nerror\nwarning\nerror\ntrace\n",
  );
  // With -q the handler's ERROR becomes CRITICAL, so the second "error" stays out.
  assert.equal(await Deno.readTextFile(`${dir.path}/errors.log`), "warning\nerror\ntrace\n");
});

Deno.test("`applyLogging()` throws naming the handler and file, and the old logging keeps writing", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/app.log`;
  await applyLogging({
    handlers: { file: fileHandler(path) },
    root: { level: "INFO", handlers: ["file"] },
  }, { foreground: false });
  getLogger(["app"]).info("before");
  await Deno.writeTextFile(`${dir.path}/good.log`, "kept\n");
  const missing = `${dir.path}/missing/app.log`;
  await assert.rejects(
    applyLogging({
      handlers: {
        good: fileHandler(`${dir.path}/good.log`, { mode: "w" }),
        broken: fileHandler(missing),
      },
      root: { level: "INFO", handlers: ["good", "broken"] },
    }, { foreground: false }),
    (error: Error) => {
      assert.match(
        error.message,
        new RegExp(`^Cannot apply logging: handler "broken" cannot open "${missing}": `),
      );
      assert.ok(error.cause instanceof Deno.errors.NotFound);
      return true;
    },
  );
  getLogger(["app"]).info("after");
  assert.equal(await Deno.readTextFile(path), "before\nafter\n");
  // The mode "w" file opened before the failure is left as it was.
  assert.equal(await Deno.readTextFile(`${dir.path}/good.log`), "kept\n");
});

Deno.test("`applyLogging()` rejects an invalid section before changing anything", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/app.log`;
  await applyLogging({
    handlers: { file: fileHandler(path) },
    root: { level: "INFO", handlers: ["file"] },
  }, { foreground: false });
  await assert.rejects(
    applyLogging({ root: { level: "LOUD", handlers: ["nope"] } }, { foreground: false }),
    new Error(
      'Invalid Logging section: key "root.level": expected one of DEBUG, INFO, WARNING, ERROR, ' +
        'CRITICAL, NOTSET, got "LOUD" (and 1 more)',
    ),
  );
  getLogger(["app"]).info("still here");
  assert.equal(await Deno.readTextFile(path), "still here\n");
});

Deno.test("`applyLogging()` truncates with mode w, appends by default and opens late with delay", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/w.log`, "old\n");
  await Deno.writeTextFile(`${dir.path}/a.log`, "old\n");
  await applyLogging({
    handlers: {
      w: fileHandler(`${dir.path}/w.log`, { mode: "w" }),
      a: fileHandler(`${dir.path}/a.log`),
      late: fileHandler(`${dir.path}/late.log`, { delay: true }),
    },
    root: { level: "INFO", handlers: ["w", "a", "late"] },
  }, { foreground: false });
  assert.equal(await Deno.readTextFile(`${dir.path}/w.log`), "");
  await assert.rejects(Deno.stat(`${dir.path}/late.log`), Deno.errors.NotFound);
  getLogger(["app"]).info("new");
  assert.equal(await Deno.readTextFile(`${dir.path}/w.log`), "new\n");
  assert.equal(await Deno.readTextFile(`${dir.path}/a.log`), "old\nnew\n");
  assert.equal(await Deno.readTextFile(`${dir.path}/late.log`), "new\n");
});

Deno.test("`applyLogging()` configures flagstaff's logger through helper's name", async () => {
  await using dir = await tempDir();
  await applyLogging({
    handlers: { file: fileHandler(`${dir.path}/app.log`) },
    loggers: { helper: { level: "DEBUG", handlers: ["file"] } },
  }, { foreground: false });
  getLogger(["flagstaff", "runtime"]).debug("tick");
  assert.equal(await Deno.readTextFile(`${dir.path}/app.log`), "tick\n");
});

Deno.test("`applyLogging()` runs helper's documented example like helper", async () => {
  await using _dir = await tempDir();
  const section = parseDocument(HELPER_EXAMPLE).toJS().Logging as LoggingSection;
  {
    using stderr = capture("stderr");
    await applyLogging(section, { foreground: true });
    getLogger(["flagstaff"]).info("Started");
    getLogger(["other"]).error("Root is at CRITICAL");
    // helper's default "verbose" formatter (the example's stray one is ignored, as by helper).
    assert.match(
      stderr.text(),
      /^INFO {7}\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \d+ +flagstaff {12}MainThread {3}flagstaff {22}\S+ +L\d+ +: Started\n$/,
    );
  }
  {
    using stderr = capture("stderr");
    await applyLogging(section, { foreground: false });
    getLogger(["flagstaff"]).info("No console in the background");
    getLogger(["flagstaff"]).warning("Python's last resort");
    assert.equal(stderr.text(), "Python's last resort\n");
  }
});

Deno.test("`applyLogging()` without a section logs INFO and up to stderr", async () => {
  await using _dir = await tempDir();
  using stderr = capture("stderr");
  await applyLogging(undefined, { foreground: false });
  getLogger(["flagstaff"]).debug("hidden");
  getLogger(["flagstaff", "runtime"]).info("Started");
  await applyLogging(undefined, { foreground: false, verbosity: 1 });
  getLogger(["app"]).debug("shown with -v");
  const lines = stderr.text().split("\n");
  assert.match(lines[0], /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO flagstaff\.runtime: Started$/);
  assert.match(lines[1], / DEBUG app: shown with -v$/);
  assert.equal(lines.length, 3);
});

Deno.test("`applyLogging()` writes a StreamHandler to stdout and keeps LogTape's notice quiet", async () => {
  await using _dir = await tempDir();
  using stdout = capture("stdout");
  using stderr = capture("stderr");
  await applyLogging({
    formatters: { plain: { format: "%(levelname)s %(message)s" } },
    handlers: { out: { class: "console", stream: "ext://sys.stdout", formatter: "plain" } },
    root: { level: "DEBUG", handlers: ["out"] },
  }, { foreground: false });
  getLogger(["app"]).info("to stdout");
  assert.equal(stdout.text(), "INFO to stdout\n");
  assert.equal(stderr.text(), "");
});

Deno.test("`applyLogging()` sends a record no handler takes to the last resort on stderr", async () => {
  await using dir = await tempDir();
  using stderr = capture("stderr");
  await applyLogging({
    handlers: { file: fileHandler(`${dir.path}/db.log`) },
    loggers: {
      "app.db": { handlers: ["file"] },
      "app.quiet": { propagate: false },
    },
    root: { level: "INFO" },
  }, { foreground: false });
  getLogger(["app", "db"]).warning("db has a handler");
  getLogger(["app", "web"]).info("below WARNING");
  getLogger(["app", "web"]).warning("web has none");
  getLogger(["app", "quiet"]).error("quiet stops the way up");
  assert.equal(stderr.text(), "web has none\nquiet stops the way up\n");
});

Deno.test("`shutdownLogging()` closes the files and later records go nowhere", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/app.log`;
  await applyLogging({
    handlers: { file: fileHandler(path) },
    root: { level: "INFO", handlers: ["file"] },
  }, { foreground: false });
  getLogger(["app"]).info("one");
  await shutdownLogging();
  getLogger(["app"]).info("two");
  assert.equal(await Deno.readTextFile(path), "one\n");
});

Deno.test("`applyLogging()` with delay reports a file it cannot open on stderr and keeps going", async () => {
  await using dir = await tempDir();
  using stderr = capture("stderr");
  await applyLogging({
    handlers: {
      late: fileHandler(`${dir.path}/missing/app.log`, { delay: true }),
      file: fileHandler(`${dir.path}/app.log`),
    },
    root: { level: "INFO", handlers: ["late", "file"] },
  }, { foreground: false });
  getLogger(["app"]).info("still logged");
  assert.equal(await Deno.readTextFile(`${dir.path}/app.log`), "still logged\n");
  assert.match(
    stderr.text(),
    new RegExp(
      `CRITICAL logtape\\.meta: .*Handler "late" cannot open "${dir.path}/missing/app.log": `,
    ),
  );
});
