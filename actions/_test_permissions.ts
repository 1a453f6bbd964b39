/**
 * Runs a snippet in a child Deno with the given permission flags, to test
 * what an action does when a permission is missing (a test cannot take a
 * permission back from its own process without losing it for every test).
 * The snippet is read from stdin, so nothing is written to disk.
 *
 * @module
 */

import { fileURLToPath } from "node:url";

/** The outcome of {@link runWithPermissions}. */
export interface SnippetResult {
  /** The exit code. */
  code: number;
  /** Its stdout, decoded. */
  stdout: string;
  /** Its stderr, decoded. */
  stderr: string;
}

/**
 * Runs the module `source` with `deno run --no-prompt <flags> -` in the
 * `actions/` folder (so `./exec.ts` imports the action), and waits for it.
 */
export async function runWithPermissions(
  source: string,
  flags: readonly string[],
): Promise<SnippetResult> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", "--no-config", "--no-lock", ...flags, "-"],
    cwd: fileURLToPath(new URL(".", import.meta.url)),
    env: { NO_COLOR: "1" },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(source));
  await writer.close();
  const output = await child.output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}
