import assert from "node:assert/strict";
import HttpAction from "./http.ts";
import { createTestContext } from "./_test_context.ts";
import { runWithPermissions } from "./_test_permissions.ts";

/** What the test server saw of one request. */
interface Seen {
  method: string;
  path: string;
  type: string | null;
  authorization: string | null;
  body: string;
}

/** A local server that records requests and answers with `respond`; shut down on dispose. */
function startServer(
  respond: (request: Request) => Response | Promise<Response> = () => new Response("ok"),
): AsyncDisposable & { url: string; seen: Seen[] } {
  const seen: Seen[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const url = new URL(request.url);
    seen.push({
      method: request.method,
      path: `${url.pathname}${url.search}`,
      type: request.headers.get("content-type"),
      authorization: request.headers.get("authorization"),
      body: await request.text(),
    });
    return await respond(request);
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    seen,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

Deno.test("`http` POSTs the signal, action and time as JSON by default, and logs the status", async () => {
  await using server = startServer();
  const context = createTestContext({ name: "notify", trigger: "SIGUSR2" });
  const action = new HttpAction(context);
  action.setUp(`${server.url}/hook`);
  const before = Date.now();
  await action.run(context);
  assert.equal(server.seen.length, 1);
  const [request] = server.seen;
  assert.equal(request.method, "POST");
  assert.equal(request.path, "/hook");
  assert.equal(request.type, "application/json");
  const body = JSON.parse(request.body);
  assert.deepEqual(Object.keys(body), ["signal", "action", "time"]);
  assert.equal(body.signal, "SIGUSR2");
  assert.equal(body.action, "notify");
  assert.equal(new Date(body.time).toISOString(), body.time);
  assert.ok(Date.parse(body.time) >= before - 1 && Date.parse(body.time) <= Date.now());
  assert.deepEqual(context.logs, [`info: http POST ${server.url}/hook: 200 OK`]);
});

Deno.test("`http` sends BODY as JSON when it parses as JSON, else as text", async () => {
  await using server = startServer();
  const context = createTestContext();
  for (const body of ['{"deploy": true}', "deploy now", "[1, 2]"]) {
    const action = new HttpAction(context);
    action.setUp(server.url, body);
    await action.run(context);
  }
  assert.deepEqual(server.seen.map(({ type, body }) => [type, body]), [
    ["application/json", '{"deploy": true}'],
    ["text/plain;charset=UTF-8", "deploy now"],
    ["application/json", "[1, 2]"],
  ]);
});

Deno.test("`http` logs a status outside 2xx at warning and does not throw", async () => {
  await using server = startServer(() => new Response("down for maintenance", { status: 503 }));
  const context = createTestContext();
  const action = new HttpAction(context);
  action.setUp(`${server.url}/hook`);
  await action.run(context);
  assert.deepEqual(context.logs, [
    `warning: http POST ${server.url}/hook failed: 503 Service Unavailable`,
  ]);
});

Deno.test("`http` logs a refused connection at warning and does not throw", async () => {
  const closed = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => new Response(),
  );
  const port = closed.addr.port;
  await closed.shutdown();
  const context = createTestContext();
  const action = new HttpAction(context);
  action.setUp(`http://127.0.0.1:${port}/hook?token=secret`);
  await action.run(context);
  assert.equal(context.logs.length, 1);
  assert.match(
    context.logs[0],
    new RegExp(`^warning: http POST http://127\\.0\\.0\\.1:${port}/hook failed: .*refused`, "i"),
  );
  assert.doesNotMatch(context.logs[0], /secret/);
});

Deno.test("`http` gives up after its timeout, and when the run's signal fires", async () => {
  const pending = new Set<PromiseWithResolvers<void>>();
  // Answers only when the test ends.
  await using server = startServer(async () => {
    const end = Promise.withResolvers<void>();
    pending.add(end);
    await end.promise;
    return new Response("late");
  });
  try {
    const timedOut = createTestContext();
    const slow = new HttpAction(timedOut, { timeoutMs: 50 });
    slow.setUp(server.url);
    await slow.run(timedOut);
    assert.deepEqual(timedOut.logs, [
      `warning: http POST ${server.url}/ failed: no response within 50 ms`,
    ]);

    const stopped = createTestContext();
    const action = new HttpAction(stopped);
    action.setUp(server.url);
    const run = action.run(stopped);
    stopped.abort(new Error("stopping"));
    await run;
    assert.deepEqual(stopped.logs, [`warning: http POST ${server.url}/ failed: aborted: stopping`]);
  } finally {
    for (const end of pending) end.resolve();
  }
});

Deno.test("`http` sends the URL's user and password but logs neither, nor the query", async () => {
  await using server = startServer();
  const context = createTestContext();
  const action = new HttpAction(context);
  const { host } = new URL(server.url);
  action.setUp(`http://ops:s3cret@${host}/hook?token=abc`);
  await action.run(context);
  assert.equal(server.seen[0].path, "/hook?token=abc");
  assert.equal(server.seen[0].authorization, `Basic ${btoa("ops:s3cret")}`);
  assert.deepEqual(context.logs, [`info: http POST http://${host}/hook: 200 OK`]);
});

Deno.test("`http` set-up rejects a URL that is not http or https", () => {
  for (const url of ["ftp://example.com/", "example.com/hook", "", "file:///etc/passwd"]) {
    assert.throws(() => new HttpAction(createTestContext()).setUp(url), {
      message: `Argument "url" must be an http or https URL, got ${JSON.stringify(url)}`,
    });
  }
});

Deno.test("`http` set-up names the missing --allow-net", async () => {
  const source = `
    import HttpAction from "./http.ts";
    import { createTestContext } from "./_test_context.ts";
    for (const url of ["https://hooks.example.com/x", "http://127.0.0.1:8080/"]) {
      try {
        new HttpAction(createTestContext()).setUp(url);
        console.log("set up");
      } catch (error) {
        console.log(error.message);
      }
    }
  `;
  const result = await runWithPermissions(source, ["--allow-read", "--allow-net=127.0.0.1"]);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(
    result.stdout,
    'Flagstaff may not connect to "hooks.example.com:443": ' +
      "give it --allow-net=hooks.example.com (or --allow-net)\nset up\n",
  );
});

/** A response that redirects to `location` with `status`. */
function redirect(status: number, location: string): Response {
  return new Response(null, { status, headers: { location } });
}

Deno.test("`http` re-sends the POST and its body on a 307 or 308 to the same origin, and logs the final URL", async () => {
  for (const status of [307, 308]) {
    await using server = startServer((request) =>
      new URL(request.url).pathname === "/hook"
        ? redirect(status, "/moved?token=secret")
        : new Response("ok")
    );
    const context = createTestContext();
    const action = new HttpAction(context);
    action.setUp(`${server.url}/hook`, "deploy now");
    await action.run(context);
    assert.deepEqual(
      server.seen.map(({ method, path, type, body }) => [method, path, type, body]),
      [
        ["POST", "/hook", "text/plain;charset=UTF-8", "deploy now"],
        ["POST", "/moved?token=secret", "text/plain;charset=UTF-8", "deploy now"],
      ],
    );
    assert.deepEqual(context.logs, [
      `info: http POST ${server.url}/hook: 200 OK at ${server.url}/moved (POST, after 1 redirect)`,
    ]);
  }
});

Deno.test("`http` follows a 301, 302 or 303 to another origin with a GET and no body", async () => {
  for (const status of [301, 302, 303]) {
    await using other = startServer();
    await using server = startServer(() => redirect(status, `${other.url}/landing?token=secret`));
    const context = createTestContext();
    const action = new HttpAction(context);
    action.setUp(`${server.url}/hook`, '{"deploy": true}');
    await action.run(context);
    assert.deepEqual(server.seen.map(({ method, body }) => [method, body]), [
      ["POST", '{"deploy": true}'],
    ]);
    assert.deepEqual(other.seen.map(({ method, path, type, body }) => [method, path, type, body]), [
      ["GET", "/landing?token=secret", null, ""],
    ]);
    assert.deepEqual(context.logs, [
      `info: http POST ${server.url}/hook: 200 OK at ${other.url}/landing (GET, after 1 redirect)`,
    ]);
  }
});

Deno.test("`http` does not follow a 307 or 308 to another origin: the body stays home, a warning names both URLs", async () => {
  for (const status of [307, 308]) {
    await using other = startServer();
    await using server = startServer(() => redirect(status, `${other.url}/steal?token=secret`));
    const context = createTestContext();
    const action = new HttpAction(context);
    action.setUp(`${server.url}/hook`, "the body");
    await action.run(context);
    assert.equal(server.seen.length, 1);
    assert.deepEqual(other.seen, [], "nothing reached the other origin");
    const text = status === 307 ? "307 Temporary Redirect" : "308 Permanent Redirect";
    assert.deepEqual(context.logs, [
      `warning: http POST ${server.url}/hook failed: not following ${text} from ${server.url}/hook ` +
      `to ${other.url}/steal, another origin: the request body goes only to the origin it was meant for`,
    ]);
  }
});

Deno.test("`http` gives up after 5 redirects, and on a redirect to a URL that is not http", async () => {
  await using server = startServer((request) => {
    const n = Number(new URL(request.url).pathname.slice(1) || "0");
    return n === 9 ? redirect(302, "file:///etc/passwd") : redirect(302, `/${n + 1}`);
  });
  const context = createTestContext();
  const looping = new HttpAction(context);
  looping.setUp(`${server.url}/`);
  await looping.run(context);
  assert.deepEqual(server.seen.map(({ path }) => path), ["/", "/1", "/2", "/3", "/4", "/5"]);
  assert.deepEqual(context.logs, [
    `warning: http POST ${server.url}/ failed: more than 5 redirects, the last a 302 Found ` +
    `from ${server.url}/5 to ${server.url}/6`,
  ]);

  const elsewhere = createTestContext();
  const action = new HttpAction(elsewhere);
  action.setUp(`${server.url}/9`);
  await action.run(elsewhere);
  assert.deepEqual(elsewhere.logs, [
    `warning: http POST ${server.url}/9 failed: 302 Found from ${server.url}/9 to file:/etc/passwd, ` +
    "which is not an http or https URL",
  ]);
});
