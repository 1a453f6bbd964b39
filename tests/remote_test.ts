/**
 * Controllers and actions from a URL: served by a loopback HTTP server
 * started here (its answers change between requests), loaded by the real CLI.
 *
 * flagstaff fetches each URL module itself on every load and imports the
 * bytes as a `data:` URL: a start always runs what the server has now, an
 * unchanged module is not imported again on reload, an integrity pin is
 * checked on every load, plain `http:` is refused off loopback, and Deno
 * prints no `Download` line. Each run gets a fresh, empty `DENO_DIR` (its
 * `npm` folder a symlink to this Deno's npm cache), so a cached copy would
 * show.
 */
import assert from "node:assert/strict";
import { ROOT, runCli, serveLoopback, spawnCli, tempDir, writeFiles } from "./_helpers.ts";
import * as loader from "../lib/runtime/loader.ts";
import { integrityProblem } from "../lib/core/integrity.ts";
import { remoteUrlProblem } from "../lib/core/remote_url.ts";
import { FlagstaffError } from "../lib/core/errors.ts";

/** An HTTP server whose files (path → body, content type) can change between requests. */
interface ModuleServer extends AsyncDisposable {
  /** `http://HOST:PORT`. */
  readonly url: string;
  /** Serves `body` at `path` with `contentType`. */
  set(path: string, body: string, contentType?: string): void;
  /** Answers `path` with a redirect to `location` (sent as given: it may be relative). */
  redirect(path: string, location: string, status?: number): void;
  /** How many times `path` was requested. */
  requests(path: string): number;
  /** How many requests it answered, all paths together. */
  total(): number;
}

/** A module server on `hostname` (default loopback, 127.0.0.1), on a free port. */
function serveModules(hostname = "127.0.0.1"): ModuleServer {
  const files = new Map<string, { body: string; contentType: string }>();
  const redirects = new Map<string, { location: string; status: number }>();
  const counts = new Map<string, number>();
  const handler = (request: Request) => {
    const path = new URL(request.url).pathname;
    counts.set(path, (counts.get(path) ?? 0) + 1);
    const redirect = redirects.get(path);
    if (redirect) {
      return new Response(null, {
        status: redirect.status,
        headers: { location: redirect.location },
      });
    }
    const file = files.get(path);
    if (!file) return new Response("not found\n", { status: 404 });
    return new Response(file.body, { headers: { "content-type": file.contentType } });
  };
  // On loopback as root, a privileged port (as a root-run development server has).
  const server = hostname === "127.0.0.1"
    ? serveLoopback(handler)
    : Deno.serve({ hostname, port: 0, onListen() {} }, handler);
  return {
    url: `http://${hostname}:${server.addr.port}`,
    set(path, body, contentType = "application/typescript; charset=utf-8") {
      files.set(path, { body, contentType });
    },
    redirect(path, location, status = 302) {
      redirects.set(path, { location, status });
    },
    requests: (path) => counts.get(path) ?? 0,
    total: () => [...counts.values()].reduce((sum, count) => sum + count, 0),
    async [Symbol.asyncDispose]() {
      await server.shutdown();
    },
  };
}

let npmCachePath: string | undefined;

/** A fresh, empty DENO_DIR whose `npm` folder is this Deno's npm cache (keeps runs offline). */
async function freshDenoDir(): Promise<AsyncDisposable & { path: string }> {
  if (!npmCachePath) {
    const { code, stdout } = await new Deno.Command(Deno.execPath(), { args: ["info", "--json"] })
      .output();
    assert.equal(code, 0, "deno info --json");
    npmCachePath = JSON.parse(new TextDecoder().decode(stdout)).npmCache as string;
  }
  const dir = await tempDir();
  await Deno.symlink(npmCachePath, `${dir.path}/npm`);
  return dir; // Disposing removes the symlink, never the npm cache it points to.
}

/** The SRI integrity string of `text`'s UTF-8 bytes, computed here, not by the code under test. */
async function sri(
  text: string,
  algorithm: "sha256" | "sha384" | "sha512" = "sha256",
): Promise<string> {
  const name = { sha256: "SHA-256", sha384: "SHA-384", sha512: "SHA-512" }[algorithm];
  const digest = new Uint8Array(await crypto.subtle.digest(name, new TextEncoder().encode(text)));
  return `${algorithm}-${btoa(String.fromCharCode(...digest))}`;
}

/** An action whose top-level code prints `evaluated VERSION` and whose run prints `hello VERSION`. */
function greet(version: string): string {
  return `import type { ActionContext } from "./lib/mod.ts";
console.log("evaluated ${version}");
export default class Greet {
  static description = "Greets (tests)";
  run(context: ActionContext): void {
    context.out.write("hello ${version}\\n");
  }
}
`;
}

/** The README's own `greet.ts` (it imports flagstaff's types by the bare name "flagstaff"). */
async function readmeGreet(): Promise<string> {
  const readme = await Deno.readTextFile(`${ROOT}README.md`);
  const match = readme.match(/```ts\n(\/\/ greet\.ts\n[\s\S]*?)```/);
  assert.ok(match, "the README has a greet.ts example");
  assert.match(match[1], /^import type .* from "flagstaff";$/m);
  return match[1];
}

Deno.test("reload: an unchanged URL action is not imported again; a changed one is fetched and imported once", async () => {
  await using server = serveModules();
  server.set("/greet.ts", greet("v1"));
  await using dir = await tempDir();
  await using denoDir = await freshDenoDir();
  await writeFiles(dir.path, {
    "app.yml": `Signals:\n  usr2: [greet]\nActions:\n  greet: ${server.url}/greet.ts\n`,
  });
  await using app = spawnCli(["run", "-c", `${dir.path}/app.yml`], {
    env: { DENO_DIR: denoDir.path },
  });
  await app.waitFor("Running 1 action(s)", { stream: "stderr" });
  for (let i = 0; i < 3; i++) {
    await app.signal("HUP");
    await app.waitFor("Config reloaded from", { stream: "stderr" });
  }
  await app.signal("USR2");
  await app.waitFor("hello v1\n", { stream: "stdout" });
  server.set("/greet.ts", greet("v2"));
  await app.signal("HUP");
  await app.waitFor("Config reloaded from", { stream: "stderr" });
  await app.signal("USR2");
  await app.waitFor("hello v2\n", { stream: "stdout" });
  await app.signal("HUP");
  await app.waitFor("Config reloaded from", { stream: "stderr" });
  await app.signal("TERM");
  const result = await app.finished();
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout, "evaluated v1\nhello v1\nevaluated v2\nhello v2\n");
  assert.equal(server.requests("/greet.ts"), 6, "fetched at start and on each of 5 reloads");
  assert.doesNotMatch(result.stderr, /Download/);
});

Deno.test("a fresh start runs the URL module the server has now, never a cached copy, and Deno prints no Download line", async () => {
  await using server = serveModules();
  await using dir = await tempDir();
  await using denoDir = await freshDenoDir();
  await writeFiles(dir.path, {
    "app.yml": `Signals:\n  usr2: [greet]\nActions:\n  greet: ${server.url}/greet.ts\n`,
  });
  for (const version of ["v1", "v2"]) {
    server.set("/greet.ts", greet(version));
    const result = await runCli(["check", "-c", `${dir.path}/app.yml`], {
      env: { DENO_DIR: denoDir.path },
    });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`^evaluated ${version}\nconfig: `));
    assert.doesNotMatch(result.stderr, /Download/);
  }
});

Deno.test("a URL module's media type: by extension (a .ts served as text/plain), else by Content-Type, else an error naming it", async () => {
  await using server = serveModules();
  server.set("/plain.ts", greet("plain"), "text/plain");
  server.set(
    "/js-module",
    `console.log("evaluated js");\nexport default { run() {} };\n`,
    "application/javascript",
  );
  server.set("/ts-module", greet("ts"), "application/typescript");
  server.set("/unknown", greet("unknown"), "text/plain; charset=utf-8");
  await using dir = await tempDir();
  await writeFiles(dir.path, {
    "ok.yml": `Actions:\n  plain: ${server.url}/plain.ts\n  js: ${server.url}/js-module\n` +
      `  ts: ${server.url}/ts-module\n`,
    "bad.yml": `Actions:\n  unknown: ${server.url}/unknown\n`,
  });
  const loaded = await runCli([
    "check",
    "-c",
    `${dir.path}/ok.yml`,
    "--usr2",
    "plain",
    "--usr2",
    "js",
    "--usr2",
    "ts",
  ]);
  assert.equal(loaded.code, 0, loaded.stderr);
  // Each module is evaluated once (every Actions entry is loaded, in name order, before the uses).
  const evaluated = loaded.stdout.match(/^evaluated .*$/gm) ?? [];
  assert.deepEqual(evaluated.toSorted(), ["evaluated js", "evaluated plain", "evaluated ts"]);
  const bad = await runCli(["check", "-c", `${dir.path}/bad.yml`, "--usr2", "unknown"]);
  assert.equal(bad.code, 2);
  assert.equal(
    bad.stderr,
    `error: Cannot load action "unknown" from ${server.url}/unknown, given by ${dir.path}/bad.yml line 2 ` +
      `(Actions.unknown): cannot tell TypeScript from JavaScript: ` +
      `the URL does not end in .ts, .mts, .tsx, .js or .mjs and the server sent Content-Type ` +
      `"text/plain; charset=utf-8": serve it with Content-Type application/typescript or ` +
      `text/javascript, or name it with one of these extensions\n`,
  );
  assert.doesNotMatch(bad.stdout, /evaluated/);
});

for (const standalone of [false, true]) {
  const mode = standalone ? " (FLAGSTAFF_STANDALONE=1)" : "";
  Deno.test(`the README's greet.ts (import type from "flagstaff", no import map) runs from a URL${mode}; a relative runtime import says to bundle`, async () => {
    await using server = serveModules();
    server.set("/greet.ts", await readmeGreet(), "text/plain");
    // The same with a relative type-only import, as a checkout's own examples write it.
    server.set(
      "/greet_relative.ts",
      (await readmeGreet()).replace('from "flagstaff"', 'from "./lib/mod.ts"'),
    );
    server.set(
      "/relative.ts",
      `import { helper } from "./helper.ts";\nexport default class R {\n  run() {\n    helper();\n  }\n}\n`,
    );
    server.set("/helper.ts", "export function helper() {}\n");
    await using dir = await tempDir();
    await writeFiles(dir.path, {
      "app.yml": `Signals:\n  usr2: [{greet: world}, {greet_relative: there}]\nActions:\n` +
        `  greet: ${server.url}/greet.ts\n  greet_relative: ${server.url}/greet_relative.ts\n`,
      // A broken entry is refused whether used or not: a config of its own.
      "relative.yml": `Actions:\n  relative: ${server.url}/relative.ts\n`,
    });
    const env: Record<string, string> = standalone ? { FLAGSTAFF_STANDALONE: "1" } : {};
    {
      await using app = spawnCli(["run", "-c", `${dir.path}/app.yml`], { env });
      await app.waitFor("Running 2 action(s)", { stream: "stderr" });
      await app.signal("USR2");
      await app.waitFor("hello world (SIGUSR2)\nhello there (SIGUSR2)\n", { stream: "stdout" });
      await app.signal("TERM");
      const result = await app.finished();
      assert.equal(result.code, 0, result.stderr);
    }
    const relative = await runCli(
      ["check", "-c", `${dir.path}/relative.yml`, "--usr2", "relative"],
      {
        env,
      },
    );
    assert.equal(relative.code, 2);
    assert.equal(
      relative.stderr,
      `error: Cannot load action "relative" from ${server.url}/relative.ts, given by ${dir.path}/relative.yml ` +
        `line 2 (Actions.relative): it imports "./helper.ts" by a relative path, ` +
        `which a module loaded from a URL cannot follow (it runs from the bytes fetched, as a data: URL): ` +
        `bundle it into one file first (deno bundle ${server.url}/relative.ts -o one_file.js)\n`,
    );
    assert.equal(server.requests("/helper.ts"), 0);
  });
}

Deno.test("plain http:// off loopback is a config error naming file, line, column and key (exit 2); --controller too", async () => {
  await using dir = await tempDir();
  await writeFiles(dir.path, {
    "app.yml": [
      "Application:",
      "  controller: http://example.com/c.ts",
      "Actions:",
      "  a: http://10.1.2.3/a.ts",
      "  b: {module: 'http://example.com/b.ts'}",
      "  c: https://example.com/c.ts",
      "  d: http://127.0.0.2:1/d.ts",
      "  e: http://localhost:1/e.ts",
      "",
    ].join("\n"),
  });
  const file = `${dir.path}/app.yml`;
  const result = await runCli(["check", "-c", file]);
  assert.equal(result.code, 2);
  const refused = (url: string) =>
    `plain http:// is allowed only for loopback hosts (127.0.0.0/8, ::1, localhost): use https:// for "${url}"`;
  // The config's errors first; check goes on to load the entries that are valid (c, d, e), which
  // fail here for their own reasons (no network, port 1), never as config errors.
  const configErrors = result.stderr.split("\n").filter((line) =>
    line.includes("Cannot load config")
  );
  assert.match(result.stderr, /^error: Cannot load config/);
  assert.doesNotMatch(result.stderr, /Cannot load config[^\n]*"Actions\.[cde]/);
  assert.equal(
    configErrors.map((line) => `${line}\n`).join(""),
    `error: Cannot load config "${file}": line 2, column 15, key "Application.controller": ${
      refused("http://example.com/c.ts")
    }\n` +
      `error: Cannot load config "${file}": line 4, column 6, key "Actions.a": ${
        refused("http://10.1.2.3/a.ts")
      }\n` +
      `error: Cannot load config "${file}": line 5, column 15, key "Actions.b.module": ${
        refused("http://example.com/b.ts")
      }\n`,
  );
  const cli = await runCli(["check", "--controller", "http://example.com/c.ts"]);
  assert.equal(cli.code, 2);
  assert.equal(
    cli.stderr,
    `error: Cannot load controller "http://example.com/c.ts": ${
      refused("http://example.com/c.ts")
    }\n`,
  );
});

Deno.test("remoteUrlProblem() allows https: anywhere and http: on loopback only", () => {
  for (
    const ok of [
      "https://example.com/a.ts",
      "http://127.0.0.1:8000/a.ts",
      "http://127.255.0.9/a.ts",
      "http://127.1/a.ts",
      "http://[::1]:8000/a.ts",
      "http://localhost/a.ts",
      "http://LOCALHOST:9/a.ts",
    ]
  ) {
    assert.equal(remoteUrlProblem(new URL(ok)), undefined, ok);
  }
  for (
    const bad of [
      "http://example.com/a.ts",
      "http://128.0.0.1/a.ts",
      "http://10.0.0.1/a.ts",
      "http://[::2]/a.ts",
      "http://localhost.example.com/a.ts",
      "http://127.0.0.1.example.com/a.ts",
    ]
  ) {
    assert.match(remoteUrlProblem(new URL(bad)) ?? "", /use https:/, bad);
  }
});

Deno.test("an integrity pin: the right one loads (sha256, sha384, sha512), a wrong one is refused naming module, expected and actual digests", async () => {
  await using server = serveModules();
  const source = greet("pinned");
  server.set("/greet.ts", source);
  await using dir = await tempDir();
  for (const algorithm of ["sha256", "sha384", "sha512"] as const) {
    const pin = await sri(source, algorithm);
    await writeFiles(dir.path, {
      "app.yml": `Actions:\n  greet: {module: "${server.url}/greet.ts", integrity: "${pin}"}\n`,
    });
    const result = await runCli(["check", "-c", `${dir.path}/app.yml`, "--usr2", "greet"]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^evaluated pinned\n/);
  }
  const wrong = await sri("something else");
  await writeFiles(dir.path, {
    "app.yml": `Actions:\n  greet:\n    module: ${server.url}/greet.ts\n    integrity: ${wrong}\n`,
  });
  const result = await runCli(["check", "-c", `${dir.path}/app.yml`, "--usr2", "greet"]);
  assert.equal(result.code, 2);
  assert.equal(
    result.stderr,
    `error: Cannot load action "greet" from ${server.url}/greet.ts, given by ${dir.path}/app.yml line 3 ` +
      `(Actions.greet): integrity check failed: ` +
      `expected "${wrong}", got "${await sri(source)}" ` +
      `(the module changed, or the pin is wrong; nothing of it was run)\n`,
  );
  assert.doesNotMatch(result.stdout, /evaluated/);
});

Deno.test("a pinned URL action changed on the server: the reload fails and the old action keeps running", async () => {
  await using server = serveModules();
  const source = greet("v1");
  server.set("/greet.ts", source);
  const pin = await sri(source);
  await using dir = await tempDir();
  await writeFiles(dir.path, {
    "app.yml":
      `Signals:\n  usr2: [greet]\nActions:\n  greet: {module: "${server.url}/greet.ts", integrity: "${pin}"}\n`,
  });
  await using app = spawnCli(["run", "-c", `${dir.path}/app.yml`]);
  await app.waitFor("Running 1 action(s)", { stream: "stderr" });
  server.set("/greet.ts", greet("v2"));
  await app.signal("HUP");
  const failed = await app.waitFor("Reload failed, keeping the running config", {
    stream: "stderr",
  });
  assert.match(
    failed,
    new RegExp(
      `Cannot load action "greet" from ${server.url}/greet\\.ts, given by .* \\(Actions\\.greet\\): ` +
        `integrity check failed: ` +
        `expected "${pin.replace(/[+/]/g, "\\$&")}", got "sha256-`,
    ),
  );
  await app.signal("USR2");
  await app.waitFor("hello v1\n", { stream: "stdout" });
  await app.signal("TERM");
  const result = await app.finished();
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout, "evaluated v1\nhello v1\n");
});

Deno.test("integrity pins in the config: a malformed pin, a pin on a local path, an unknown key are errors naming file, line, column and key", async () => {
  await using dir = await tempDir();
  await writeFiles(dir.path, {
    "app.yml": [
      "Application:",
      "  controller: ./c.ts",
      "  controller_integrity: sha256-AAAA",
      "Actions:",
      "  a: {module: 'https://example.com/a.ts', integrity: md5-abc}",
      "  b: {module: ./b.ts, integrity: 'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='}",
      "  c: {url: 'https://example.com/c.ts'}",
      "  d: 42",
      "",
    ].join("\n"),
  });
  const file = `${dir.path}/app.yml`;
  const result = await runCli(["check", "-c", file]);
  assert.equal(result.code, 2);
  const pin = (found: string) =>
    `expected an integrity pin such as "sha256-<base64 of the SHA-256 digest>" (or sha384-, sha512-), got "${found}"`;
  assert.equal(
    result.stderr,
    [
      `line 3, column 25, key "Application.controller_integrity": ${pin("sha256-AAAA")}`,
      `line 5, column 54, key "Actions.a.integrity": ${pin("md5-abc")}`,
      `line 6, column 34, key "Actions.b.integrity": an integrity pin applies to a module given by URL only, not to "./b.ts"`,
      `line 7, column 6, key "Actions.c": expected a module path or URL as "module", got nothing`,
      `line 7, column 7, key "Actions.c.url": unknown key "url" (expected module, integrity)`,
      `line 8, column 6, key "Actions.d": expected a module path or URL, got 42`,
    ].map((issue) => `error: Cannot load config "${file}": ${issue}\n`).join(""),
  );
});

Deno.test("integrityProblem() accepts SRI sha256/384/512 pins of the right length only", async () => {
  for (const algorithm of ["sha256", "sha384", "sha512"] as const) {
    assert.equal(integrityProblem(await sri("", algorithm)), undefined, algorithm);
  }
  for (
    const bad of ["sha256-", "sha256-AAAA", "sha1-2jmj7l5rSw0yVb/vlWAYkK/YBwk=", "sha256 47DE", 42]
  ) {
    assert.match(integrityProblem(bad) ?? "", /^expected an integrity pin/, String(bad));
  }
});

Deno.test("loadController() checks Application.controller_integrity on the fetched bytes", async () => {
  await using server = serveModules();
  const source = "export default class C {\n  process() {}\n}\n";
  server.set("/c.ts", source);
  const pin = await sri(source);
  const controller = await loader.loadController(`${server.url}/c.ts`, { integrity: pin });
  assert.equal(typeof controller, "function");
  server.set("/c.ts", source.replace("process() {}", "process() { /* changed */ }"));
  await assert.rejects(
    loader.loadController(`${server.url}/c.ts`, { integrity: pin }),
    (error: unknown) => {
      assert.ok(error instanceof FlagstaffError);
      assert.equal(error.code, "controller_invalid");
      assert.match(
        error.message,
        new RegExp(
          `^Cannot load controller "${server.url}/c\\.ts": integrity check failed: expected "sha256-`,
        ),
      );
      return true;
    },
  );
});

Deno.test({
  name:
    "Application.controller_integrity: a controller changed on the server is refused at start (exit 2)",
  async fn() {
    await using server = serveModules();
    const source = "export default class C {\n  process() {}\n}\n";
    server.set("/c.ts", source);
    const pin = await sri(source);
    await using dir = await tempDir();
    await writeFiles(dir.path, {
      "app.yml": `Application:\n  controller: ${server.url}/c.ts\n  controller_integrity: ${pin}\n`,
    });
    const ok = await runCli(["check", "-c", `${dir.path}/app.yml`]);
    assert.equal(ok.code, 0, ok.stderr);
    server.set("/c.ts", source.replace("process() {}", "process() { /* changed */ }"));
    const changed = await runCli(["check", "-c", `${dir.path}/app.yml`]);
    assert.equal(changed.code, 2);
    assert.match(
      changed.stderr,
      new RegExp(
        `^error: Cannot load controller "${server.url}/c\\.ts" given by ${dir.path}/app\\.yml line 2 ` +
          `\\(Application\\.controller\\): integrity check failed: expected "sha256-`,
      ),
    );
  },
});

Deno.test({
  name:
    "after dropping root for nobody (DENO_DIR unreadable), a URL action still loads, runs and reloads",
  ignore: Deno.uid() !== 0,
  async fn() {
    await using server = serveModules();
    server.set("/greet.ts", greet("v1"));
    await using dir = await tempDir();
    // nobody re-reads the config on reload.
    await Deno.chmod(dir.path, 0o755);
    await writeFiles(dir.path, {
      "app.yml":
        `Daemon:\n  user: nobody\nSignals:\n  usr2: [greet]\nActions:\n  greet: ${server.url}/greet.ts\n`,
    });
    await Deno.chmod(`${dir.path}/app.yml`, 0o644);
    // The default DENO_DIR, under HOME=/root (mode 0700): nobody can neither read nor write it.
    await using app = spawnCli(["run", "-c", `${dir.path}/app.yml`], { env: { HOME: "/root" } });
    await app.waitFor("Running as uid 65534", { stream: "stderr" });
    await app.waitFor("Running 1 action(s)", { stream: "stderr" });
    await app.signal("USR2");
    await app.waitFor("hello v1\n", { stream: "stdout" });
    server.set("/greet.ts", greet("v2"));
    await app.signal("HUP");
    await app.waitFor("Config reloaded from", { stream: "stderr" });
    await app.signal("USR2");
    await app.waitFor("hello v2\n", { stream: "stdout" });
    await app.signal("TERM");
    const result = await app.finished();
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, "evaluated v1\nhello v1\nevaluated v2\nhello v2\n");
    assert.doesNotMatch(result.stderr, /ERROR|WARN/);
  },
});

/** This machine's first IPv4 address off loopback (`ip -4 addr`), if it has one. */
function nonLoopbackAddress(): string | undefined {
  return Deno.networkInterfaces().find((i) => i.family === "IPv4" && !i.address.startsWith("127."))
    ?.address;
}

/** A controller whose top-level code prints `evaluated NAME`. */
function controllerSource(name: string): string {
  return `console.log("evaluated ${name}");\nexport default class C {\n  process() {}\n}\n`;
}

const REFUSED_HTTP =
  "plain http:// is allowed only for loopback hosts (127.0.0.0/8, ::1, localhost): " +
  "use https:// for";

Deno.test("a plain-http redirect hop off loopback is refused before it is fetched, naming the hop: nothing runs", async () => {
  await using server = serveModules();
  server.set("/real.ts", controllerSource("real"));
  // The hop: a server on this machine's own non-loopback address if it has one, else an address
  // nothing listens on (TEST-NET-1): either way flagstaff must refuse it before connecting.
  const address = nonLoopbackAddress();
  await using hop = address ? serveModules(address) : undefined;
  const hopUrl = `${hop?.url ?? "http://192.0.2.1:9"}/hop`;
  hop?.redirect("/hop", `${server.url}/real.ts`);
  server.redirect("/ctl.ts", hopUrl);
  await using dir = await tempDir();
  await writeFiles(dir.path, { "app.yml": `Actions:\n  e: ${server.url}/ctl.ts\n` });
  const refusal =
    `it redirects from "${server.url}/ctl.ts" to a refused URL: ${REFUSED_HTTP} "${hopUrl}"`;
  const controller = await runCli(["check", "--controller", `${server.url}/ctl.ts`]);
  assert.equal(controller.stdout, "", "nothing of the module ran");
  assert.equal(
    controller.stderr,
    `error: Cannot load controller "${server.url}/ctl.ts": ${refusal}\n`,
  );
  assert.equal(controller.code, 2);
  const action = await runCli(["check", "-c", `${dir.path}/app.yml`, "--usr2", "e"]);
  assert.equal(action.stdout, "", "nothing of the module ran");
  assert.equal(
    action.stderr,
    `error: Cannot load action "e" from ${server.url}/ctl.ts, given by ${dir.path}/app.yml line 2 ` +
      `(Actions.e): ${refusal}\n`,
  );
  assert.equal(action.code, 2);
  assert.equal(hop?.total() ?? 0, 0, "the hop was never requested");
  assert.equal(server.requests("/real.ts"), 0);
  assert.equal(server.requests("/ctl.ts"), 2);
});

Deno.test("redirects on loopback are followed by hand, at most 5, each hop checked; the pin is checked on the final bytes", async () => {
  await using server = serveModules();
  const source = controllerSource("real");
  server.set("/real.ts", source);
  const localhost = `http://localhost:${new URL(server.url).port}`;
  // /chain/N takes N+1 redirects to reach /real.ts: relative and absolute, every redirect status.
  const statuses = [301, 302, 303, 307, 308, 302];
  server.redirect("/chain/0", "../real.ts", statuses[0]);
  for (let n = 1; n <= 5; n++) {
    server.redirect(
      `/chain/${n}`,
      n % 2 ? `${localhost}/chain/${n - 1}` : `/chain/${n - 1}`,
      statuses[n],
    );
  }
  server.redirect("/elsewhere.ts", "file:///etc/hostname");
  const five = await runCli(["check", "--controller", `${server.url}/chain/4`]);
  assert.equal(five.code, 0, five.stderr);
  assert.match(five.stdout, /^evaluated real\n/);
  const six = await runCli(["check", "--controller", `${server.url}/chain/5`]);
  assert.equal(
    six.stderr,
    `error: Cannot load controller "${server.url}/chain/5": it redirects more than 5 times ` +
      `(the last hop to "${localhost}/real.ts")\n`,
  );
  assert.equal(six.code, 2);
  assert.equal(six.stdout, "");
  const scheme = await runCli(["check", "--controller", `${server.url}/elsewhere.ts`]);
  assert.equal(
    scheme.stderr,
    `error: Cannot load controller "${server.url}/elsewhere.ts": it redirects from ` +
      `"${server.url}/elsewhere.ts" to "file:///etc/hostname": a redirect may lead to https: or ` +
      `(on loopback) http: only\n`,
  );
  assert.equal(scheme.code, 2);
  await using dir = await tempDir();
  for (const [pin, ok] of [[await sri(source), true], [await sri("other"), false]] as const) {
    await writeFiles(dir.path, {
      "app.yml":
        `Application:\n  controller: ${server.url}/chain/2\n  controller_integrity: ${pin}\n`,
    });
    const pinned = await runCli(["check", "-c", `${dir.path}/app.yml`]);
    assert.equal(pinned.code, ok ? 0 : 2, pinned.stderr);
    if (!ok) {
      assert.match(
        pinned.stderr,
        /^error: Cannot load controller "[^"]+\/chain\/2" given by .+ line 2 \(Application\.controller\): integrity check failed: /,
      );
    }
  }
});

Deno.test("as root, a plain http:// module from an unprivileged loopback port needs a pin: any local user could serve it", async () => {
  if (Deno.uid() !== 0) return;
  // An unprivileged port: nobody could have been listening there first.
  const source = "export default class C {\n  process() {}\n}\n";
  await using server = (() => {
    const served = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      () => new Response(source, { headers: { "content-type": "application/typescript" } }),
    );
    return {
      url: `http://127.0.0.1:${served.addr.port}`,
      port: served.addr.port,
      [Symbol.asyncDispose]: () => served.shutdown(),
    };
  })();
  await using dir = await tempDir();
  await writeFiles(dir.path, {
    "app.yml": `Application:\n  controller: ${server.url}/c.ts\n`,
    "pinned.yml":
      `Application:\n  controller: ${server.url}/c.ts\n  controller_integrity: ${await sri(
        source,
      )}\n`,
    "actions.yml": `Actions:\n  a: ${server.url}/c.ts\n`,
  });
  const refused = await runCli(["check", "-c", `${dir.path}/app.yml`]);
  assert.equal(refused.code, 2);
  assert.match(
    refused.stderr,
    new RegExp(
      `^error: Refusing to load "${server.url}/c\\.ts" as root: a plain http:// module from loopback port ` +
        `${server.port} may be served by any local user \\(ports from 1024 up need no privilege\\): give it ` +
        `an integrity pin \\(Application\\.controller_integrity, or \\{module, integrity\\} in Actions\\), serve it ` +
        `from a port below 1024, or use https://\n$`,
    ),
  );
  const action = await runCli(["check", "-c", `${dir.path}/actions.yml`]);
  assert.equal(action.code, 2);
  assert.match(
    action.stderr,
    /^error: Refusing to load "[^"]+" as root: .*may be served by any local user/,
  );
  const cli = await runCli(["check", "--controller", `${server.url}/c.ts`]);
  assert.equal(cli.code, 2);
  assert.match(cli.stderr, /may be served by any local user/);
  const pinned = await runCli(["check", "-c", `${dir.path}/pinned.yml`]);
  assert.equal(pinned.code, 0, pinned.stderr);
  // A trusted (privileged-port) server that redirects there: the hop is refused alike.
  await using trusted = serveModules();
  trusted.redirect("/c.ts", `${server.url}/c.ts`);
  const hop = await runCli(["check", "--controller", `${trusted.url}/c.ts`]);
  assert.equal(hop.code, 2);
  assert.match(
    hop.stderr,
    new RegExp(
      `it redirects from "${trusted.url}/c\\.ts" to a refused URL: a plain http:// module from loopback port ${server.port}`,
    ),
  );
});
