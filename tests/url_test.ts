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
 * `--allow-import`. A controller from that server is fetched by flagstaff
 * itself (the fetch API) and imported as a `data:` URL, so `--allow-net` is
 * what lets it load (checked too); `--allow-import` stays needed for
 * flagstaff's own modules, which it imports lazily.
 */
import assert from "node:assert/strict";
import { extname, join } from "node:path";
import { PERMISSION_FLAGS } from "../lib/cli/permissions.ts";
import { ROOT, runCli, serveLoopback, spawnCli, type SpawnOptions, tempDir } from "./_helpers.ts";

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  ".ts": "application/typescript",
  ".js": "text/javascript",
  ".json": "application/json",
  // `flagstaff new`'s templates, imported as text; GitHub's raw files come as text/plain too.
  ".tmpl": "text/plain; charset=utf-8",
};

/** This repository on a loopback HTTP server, and a child environment that runs from it. */
interface ServedRepo extends AsyncDisposable {
  /** `http://127.0.0.1:PORT/`. */
  readonly url: string;
  /** Every path requested, in order. */
  readonly requests: string[];
  /**
   * Options for `spawnCli`/`runCli`: main module, flags, fresh DENO_DIR, a
   * scratch cwd. `--allow-import` is scoped to `hosts.importHost` (default
   * this server), `--allow-net` to `hosts.netHost` (default: any host).
   */
  options(main?: string, hosts?: { importHost?: string; netHost?: string }): SpawnOptions;
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
  const server = serveLoopback(async (request) => {
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
    options(main = `${url}main.ts`, hosts = {}) {
      const { importHost = `127.0.0.1:${port}`, netHost } = hosts;
      return {
        main,
        cwd,
        env: { DENO_DIR: denoDir },
        denoFlags: ["--no-config"],
        permissions: PERMISSION_FLAGS.map((flag) =>
          flag === "--allow-import"
            ? `--allow-import=${importHost}`
            : flag === "--allow-net" && netHost
            ? `--allow-net=${netHost}`
            : flag
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
  assert.match(remote.stdout, /^Usage: flagstaff \[command\] \[options\] /);
  for (const path of ["/main.ts", "/lib/cli/main.ts", "/lib/deps.ts", "/actions/mod.ts"]) {
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

Deno.test("flagstaff from a URL fetches a controller from there (--allow-net): once, with a clear error when refused", async () => {
  await using repo = await serveRepo();
  const controller = `${repo.url}examples/demo_controller.ts`;
  const host = new URL(repo.url).host;
  const allowed = await runCli(["check", "--controller", controller], repo.options());
  assert.equal(allowed.code, 0, allowed.stderr);
  assert.match(allowed.stdout, new RegExp(`^controller: ${controller}$`, "m"));
  assert.equal(repo.requests.filter((path) => path === "/examples/demo_controller.ts").length, 1);
  assert.ok(!repo.requests.includes("/lib/mod.ts"), "its type-only import is not fetched");
  // --allow-net scoped to another port: flagstaff's own permission error, exit 2.
  const refused = await runCli(
    ["check", "--controller", controller],
    repo.options(undefined, { netHost: "127.0.0.1:1" }),
  );
  assert.equal(refused.code, 2, refused.stderr);
  assert.equal(
    refused.stderr,
    `error: Cannot load controller "${controller}": Requires net access to "${host}", ` +
      `run again with the --allow-net flag\n`,
  );
});

/** Every file under `dir` (relative path → text), as `new` wrote it. */
async function readTree(dir: string, prefix = ""): Promise<Record<string, string>> {
  const tree: Record<string, string> = {};
  for await (const entry of Deno.readDir(`${dir}/${prefix}`)) {
    const path = `${prefix}${entry.name}`;
    if (entry.isDirectory) Object.assign(tree, await readTree(dir, `${path}/`));
    else tree[path] = await Deno.readTextFile(`${dir}/${path}`);
  }
  return tree;
}

for (const standalone of [false, true]) {
  const mode = standalone ? " (FLAGSTAFF_STANDALONE=1)" : "";
  Deno.test(`deno run <URL>/main.ts new writes the project a local flagstaff writes, importing flagstaff from the URL${mode}`, async () => {
    await using repo = await serveRepo();
    const options = repo.options();
    const env = { ...options.env, ...(standalone ? { FLAGSTAFF_STANDALONE: "1" } : {}) };
    const remote = await runCli(["new", "clock", "--dir", "remote"], { ...options, env });
    assert.equal(remote.code, 0, remote.stderr);
    assert.ok(remote.stdout.startsWith(`Created clock in ${repo.cwd}/remote:\n`), remote.stdout);
    for (const path of ["/scaffold/mod.ts", "/scaffold/templates/etc/NAME.yml.tmpl"]) {
      assert.ok(repo.requests.includes(path), `${path} was fetched over HTTP`);
    }
    const flagstaff = `${repo.url}lib/mod.ts`;
    const local = await runCli(["new", "clock", "--dir", "local", "--flagstaff", flagstaff], {
      cwd: repo.cwd,
      env: standalone ? { FLAGSTAFF_STANDALONE: "1" } : {},
    });
    assert.equal(local.code, 0, local.stderr);
    const written = await readTree(`${repo.cwd}/remote`);
    assert.deepEqual(written, await readTree(`${repo.cwd}/local`));
    assert.match(
      written["deps.ts"],
      new RegExp(`^export \\{ start \\} from "${flagstaff}";$`, "m"),
    );
    assert.equal((await Deno.stat(`${repo.cwd}/remote/etc/clock.initd`)).mode! & 0o777, 0o755);
  });
}

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
  assert.match(new TextDecoder().decode(help.stdout), /^Usage: flagstaff \[command\] \[options\] /);
});
