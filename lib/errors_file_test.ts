import assert from "node:assert/strict";
import { appendErrorsFile } from "./errors_file.ts";

Deno.test("appendErrorsFile() appends to the first writable folder", async () => {
  const base = await Deno.makeTempDir();
  try {
    const missing = `${base}/missing`;
    const notADir = `${base}/file`; // unwritable even for root
    const writable = `${base}/writable`;
    await Deno.writeTextFile(notADir, "");
    await Deno.mkdir(writable);
    const dirs = [missing, notADir, writable];
    const now = new Date("2026-11-23T10:00:00Z");
    const first = await appendErrorsFile("app", new Error("first"), { dirs, now });
    const second = await appendErrorsFile("app", "a string", { dirs, now });
    const expected = `${writable}/app.errors`;
    assert.equal(first, expected);
    assert.equal(second, expected);
    const text = await Deno.readTextFile(expected);
    assert.match(text, /-+ \[START\]\napp Exception \[2026-11-23T10:00:00.000Z\]/);
    assert.match(text, /Error: first\n\s+at /);
    assert.match(text, /Traceback:\na string\n-+ \[END\]/);
    assert.equal(text.split("[START]").length, 3);
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});

Deno.test("appendErrorsFile() returns undefined when no folder is writable", async () => {
  assert.equal(
    await appendErrorsFile("app", new Error("x"), { dirs: ["/nonexistent/a", "/proc/nope"] }),
    undefined,
  );
});
