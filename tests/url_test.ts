/**
 * flagstaff run from a URL, as `deno run https://…/main.ts` runs it: this
 * checkout is served over loopback HTTP (files read at request time) and the
 * CLI runs from there with no config file, so no import map: every import
 * must be a relative path or a full `npm:` specifier (`lib/deps.ts`).
 *
 * The child gets a fresh, empty `DENO_DIR`, so every module really comes over
 * HTTP (the test checks the server's log), except npm packages: its `npm`
 * folder is a symlink to this Deno's npm cache (`deno info --json`), which
 * keeps the test fast and working offline. Deno treats an `http:` URL like
 * an `https:` one here: the main module's static imports load without
 * `--allow-import`; the flag, scoped to `127.0.0.1:PORT`, is what lets
 * flagstaff `import()` a controller from that server later (checked too).
 */
import assert from "node:assert/strict";
import { extname, join } from "node:path";
import { PERMISSION_FLAGS } from "../lib/permissions.ts";
import { ROOT, runCli, spawnCli, type SpawnOptions, tempDir } from "./_helpers.ts";

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  ".ts": "application/typescript",
  ".js": "text/javascript",
  ".json": "application/json",
};

/** This repository on a loopback HTTP server, and a child environment that runs from it. */
interface ServedRepo extends AsyncDisposable {
  /** `http://127.0.0.1:PORT/`. */
  readonly url: string;
  /** Every path requested, in order. */
  readonly requests: string[];
  /** Options for `spawnCli`/`runCli`: main module, flags, fresh DENO_DIR, a scratch cwd. */
  options(main?: string, importHost?: string): SpawnOptions;
  /** The child's scratch working folder (no deno.json, no actions/). */
  readonly cwd: string;
}

async function npmCache(): Promise<string> {
  const { code, stdout } = await new Deno.Command(Deno.execPath(), { args: ["info", "--json"] })
    .output();
  assert.equal(code, 0, "deno info --json");
  return JSON.parse(new TextDecoder().decode(stdout)).npmCache;
}

async function serveRepo(): Promise<ServedRepo> {
  const requests: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const path = decodeURIComponent(new URL(request.url).pathname);
    requests.push(path);
    const type = CONTENT_TYPES[extname(path)];
    if (request.method !== "GET" || !type || path.split("/").includes("..")) {
      return new Response("Not found\n", { status: 404 });
    }
    try {
      const body = await Deno.readFile(join(ROOT, path));
      return new Response(body, { headers: { "content-type": type } });
    } catch {
      return new Response("Not found\n", { status: 404 });
    }
  });
  const port = server.addr.port;
  const scratch = await tempDir();
  const denoDir = `${scratch.path}/deno_dir`;
  const cwd = `${scratch.path}/cwd`;
  await Deno.mkdir(denoDir);
  await Deno.mkdir(cwd);
  await Deno.symlink(await npmCache(), `${denoDir}/npm`);
  const url = `http://127.0.0.1:${port}/`;
  return {
    url,
    requests,
    cwd,
    options(main = `${url}main.ts`, importHost = `127.0.0.1:${port}`) {
      return {
        main,
        cwd,
        env: { DENO_DIR: denoDir },
        denoFlags: ["--no-config"],
        permissions: PERMISSION_FLAGS.map((flag) =>
          flag === "--allow-import" ? `--allow-import=${importHost}` : flag
        ),
      };
    },
    async [Symbol.asyncDispose]() {
      await server.shutdown();
      // Removes the symlink, never the npm cache it points to.
      await scratch[Symbol.asyncDispose]();
    },
  };
}

Deno.test("deno run <URL>/main.ts --help fetches flagstaff over HTTP and prints the help", async () => {
  await using repo = await serveRepo();
  const remote = await runCli(["--help"], repo.options());
  assert.equal(remote.code, 0, remote.stderr);
  const local = await runCli(["--help"], { cwd: repo.cwd });
  assert.equal(remote.stdout, local.stdout);
  assert.match(remote.stdout, /^Usage: flagstaff \[options\] \[command\]/);
  for (const path of ["/main.ts", "/lib/cli.ts", "/lib/deps.ts", "/actions/mod.ts"]) {
    assert.ok(repo.requests.includes(path), `${path} was fetched over HTTP`);
  }
  assert.ok(!repo.requests.includes("/deno.json"), "the remote deno.json is not read");
  assert.ok(!repo.requests.includes("/deno.lock"), "the remote deno.lock is not read");
});

Deno.test("deno run <URL>/main.ts list shows the built-in actions", async () => {
  await using repo = await serveRepo();
  const remote = await runCli(["list"], repo.options());
  assert.equal(remote.code, 0, remote.stderr);
  const local = await runCli(["list"], { cwd: repo.cwd });
  assert.equal(remote.stdout, local.stdout);
  assert.match(remote.stdout, /^print {2,}A simple Action that prints messages/m);
});

Deno.test("deno run <URL>/main.ts run --usr2 print hi runs the action and stops on TERM", async () => {
  await using repo = await serveRepo();
  await using app = spawnCli(["run", "--usr2", "print", "hi"], repo.options());
  await app.waitFor("init\n", { stream: "stdout" });
  await app.waitFor("Running 1 action(s); waiting for signals", { stream: "stderr" });
  await app.signal("USR2");
  await app.waitFor("hi\n", { stream: "stdout" });
  await app.signal("TERM");
  const result = await app.finished();
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout, "init\nhi\ncleanup\n");
});

Deno.test("--allow-import=127.0.0.1:PORT lets flagstaff from a URL load a controller from there", async () => {
  await using repo = await serveRepo();
  const controller = `${repo.url}examples/demo_controller.ts`;
  const allowed = await runCli(["check", "--controller", controller], repo.options());
  assert.equal(allowed.code, 0, allowed.stderr);
  assert.match(allowed.stdout, new RegExp(`^controller: ${controller}$`, "m"));
  // Scoped to another port, the same import is refused. Deno 2.9 makes a refused import() from a
  // remote module fatal (exit 1, its own message; from a local module it is a catchable TypeError),
  // so only the refusal is asserted here, not flagstaff's `error: …` and exit 2.
  const refused = await runCli(
    ["check", "--controller", controller],
    repo.options(undefined, "127.0.0.1:1"),
  );
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, new RegExp(`Requires import access to "${new URL(repo.url).host}"`));
});

Deno.test("deno install -g <URL>/main.ts gives a working flagstaff command", async () => {
  await using repo = await serveRepo();
  const options = repo.options();
  const root = `${repo.cwd}/root`;
  const install = await new Deno.Command(Deno.execPath(), {
    args: [
      "install",
      "-g",
      "--root",
      root,
      "-n",
      "flagstaff",
      "--no-config",
      ...options.permissions!,
      options.main!,
    ],
    cwd: repo.cwd,
    env: options.env,
    stdin: "null",
  }).output();
  assert.equal(install.code, 0, new TextDecoder().decode(install.stderr));
  const help = await new Deno.Command(`${root}/bin/flagstaff`, {
    args: ["--help"],
    cwd: repo.cwd,
    env: options.env,
  }).output();
  assert.equal(help.code, 0, new TextDecoder().decode(help.stderr));
  assert.match(new TextDecoder().decode(help.stdout), /^Usage: flagstaff \[options\] \[command\]/);
});
