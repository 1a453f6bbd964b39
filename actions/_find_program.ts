/**
 * How `exec` finds the program it runs, as `execvp(3)` does: a command with a
 * path separator is a file (against the working directory), a bare name is
 * looked up on `PATH`. Shared by `exec`'s `setUp()` and its static `check()`
 * so that `flagstaff check` refuses what `run` refuses, in the same words.
 *
 * Not an action: a module whose name starts with `_` is not listed.
 *
 * @module
 */

import { delimiter, join, resolve } from "node:path";

/** Whether a command names a file (has a path separator) rather than a name to look up. */
function isPath(command: string): boolean {
  return command.includes("/") || (Deno.build.os === "windows" && command.includes("\\"));
}

/** Makes a path absolute against the working directory, if flagstaff may read it. */
function absolute(path: string): string {
  try {
    return resolve(path);
  } catch {
    return path;
  }
}

/**
 * Resolves a command as set-up does (a path against the working directory, a
 * bare name on `PATH`) and says what stops it from running: the program to
 * run and, when the permissions hide the answer, why it is unknown; or the
 * problem, in the words set-up throws. Only looks (`stat`, permission
 * queries): no side effects.
 */
export function findProgram(
  command: string,
): { program: string; unknown?: string } | { problem: string } {
  if (command === "") return { problem: 'Argument "command" is empty' };
  const program = isPath(command) ? absolute(command) : command;
  const permission = Deno.permissions.querySync({ name: "run", command: program });
  if (permission.state !== "granted") {
    return {
      problem:
        `Flagstaff may not run "${command}": give it --allow-run=${command} (or --allow-run)`,
    };
  }
  const found = isPath(command) ? checkFile(program) : searchPath(command);
  if (found.state === "missing") return { problem: found.message };
  return { program, unknown: found.state === "unknown" ? found.why : undefined };
}

/** What set-up learnt about a program: found, missing, or not knowable with the permissions given. */
type Found =
  | { state: "found" }
  | { state: "missing"; message: string }
  | { state: "unknown"; why: string };

/** Checks that a path is an executable file. */
function checkFile(path: string): Found {
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) {
      return { state: "unknown", why: "no read permission" };
    }
    return {
      state: "missing",
      message: `Cannot find program "${path}": ${
        error instanceof Error ? error.message : String(error)
      }`,
    };
  }
  if (!info.isFile) {
    return { state: "missing", message: `Cannot run program "${path}": it is not a file` };
  }
  if (!isExecutable(info)) {
    return { state: "missing", message: `Cannot run program "${path}": it is not executable` };
  }
  return { state: "found" };
}

/** Looks a bare name up on PATH, as `execvp` does (an empty entry is the working directory). */
function searchPath(name: string): Found {
  let path: string | undefined;
  let extensions = [""];
  try {
    path = Deno.env.get("PATH");
    if (Deno.build.os === "windows" && !/\.[^.\\/]+$/.test(name)) {
      const pathext = Deno.env.get("PATHEXT") ?? ".COM;.EXE;.BAT;.CMD";
      extensions = ["", ...pathext.split(";").filter((ext) => ext !== "")];
    }
  } catch {
    return { state: "unknown", why: "no env permission for PATH" };
  }
  if (path === undefined) return { state: "unknown", why: "PATH is not set" };
  for (const dir of path.split(delimiter)) {
    for (const extension of extensions) {
      try {
        const info = Deno.statSync(join(dir || ".", name + extension));
        if (info.isFile && isExecutable(info)) return { state: "found" };
      } catch (error) {
        if (error instanceof Deno.errors.NotCapable) {
          return { state: "unknown", why: `no read permission for "${dir}"` };
        }
      }
    }
  }
  return { state: "missing", message: `Cannot find program "${name}" (searched PATH)` };
}

/** Whether any execute bit is set (always true where modes do not exist). */
function isExecutable(info: Deno.FileInfo): boolean {
  return info.mode === null || (info.mode & 0o111) !== 0;
}
