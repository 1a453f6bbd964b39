/**
 * `flagstaff new NAME`: writes a library-mode project (DESIGN.md, "Library
 * mode"): `main.ts` calling `start()`, a `Controller` subclass, an example
 * action with its test, a config with every section and key, a systemd unit,
 * an init script, a test that runs the app, a README. The templates are
 * files in `scaffold/templates/` with `{{name}}`-style placeholders, imported
 * as text by `scaffold/mod.ts` (statically), so `new` works from a checkout,
 * from a URL and in a compiled binary alike.
 *
 * The project imports flagstaff's `lib/mod.ts` by a full URL, since it has
 * no import map: by default the URL this flagstaff was loaded from (a
 * `file:` URL in a checkout, the `http(s):` URL under `deno run <URL>`); a
 * compiled binary, whose own modules live in a virtual folder, points at
 * this version's release on GitHub.
 *
 * Nothing is half-written. Every file is first written into a staging
 * folder, then moved into place by `rename(2)`, which is atomic and, on one
 * file system, does not fail for lack of space:
 *
 * - a new target: the staging folder is made beside it (so on the same file
 *   system) and renamed to the target in one step;
 * - an existing folder (empty, or with `force` one that has files): the
 *   staging folder is made inside it, so the folder itself stays (a shell
 *   whose working directory it is keeps seeing it) and its parent need not
 *   be writable. Nothing in it is touched until every file was written. A
 *   preflight check refuses a folder where a folder stands in a file's way,
 *   or a file in a folder's. Then the files are moved in one by one, each a
 *   complete file at every moment; a file they replace is moved aside first,
 *   and if a move fails, the moves so far are undone.
 *
 * On any failure the staging folder, and any parent folder `new` created,
 * are removed, and the error says what failed.
 *
 * @module
 */

import { basename, dirname, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { renderProject } from "../../scaffold/mod.ts";
import { asPermissionError, FlagstaffError, messageOf } from "../core/errors.ts";
import {
  checkNothingInTheWay,
  inspectTarget,
  makeParents,
  makeStagingDir,
  moveIntoPlace,
  removeQuietly,
  type TargetState,
  writeProjectFile,
} from "./_project_files.ts";
import { PERMISSION_FLAGS } from "./permissions.ts";
import { VERSION } from "../core/version.ts";

/**
 * What a project name must match, and why: it becomes the binary's file name
 * (`dist/NAME`, `/usr/local/bin/NAME`), the package and logger name, and the
 * systemd unit name (`NAME.service`). A lowercase letter first: no leading
 * `-` that a command would read as an option, no leading digit or `_`, which
 * package names and some tools refuse. Then only lowercase letters, digits,
 * `_` and `-`: no `/`, no spaces or quotes to escape in shell scripts, no `.`
 * (a unit name's suffix separator) or `@` (a unit template's instance
 * marker), and no case clashes on case-insensitive file systems. At most 63
 * characters: a DNS label's limit, well inside file and unit name limits.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PROJECT_NAME_PATTERN } from "./_project.ts";
 * assert.ok(PROJECT_NAME_PATTERN.test("my-app"));
 * assert.ok(!PROJECT_NAME_PATTERN.test("My.App"));
 * ```
 */
export const PROJECT_NAME_PATTERN: RegExp = /^[a-z][a-z0-9_-]{0,62}$/;

/**
 * Options for {@link newProject}.
 *
 * @example
 * ```ts
 * import type { NewProjectOptions } from "./_project.ts";
 * const options: NewProjectOptions = { dir: "/srv/clock", force: true };
 * ```
 */
export interface NewProjectOptions {
  /** The folder to write the project into. Default: `./NAME`, in the working directory. */
  dir?: string;
  /** Write into a folder that is not empty, replacing the project's files there. Default: false. */
  force?: boolean;
  /**
   * A URL (`file:`, `http:`, `https:`) or a path of flagstaff's `lib/mod.ts`
   * (or of a checkout's root folder), which the project imports. Default:
   * where this flagstaff was loaded from (see {@link defaultFlagstaffUrl}).
   */
  flagstaff?: string;
}

/**
 * What {@link newProject} wrote.
 *
 * @example
 * ```ts
 * import type { NewProjectResult } from "./_project.ts";
 * const written: NewProjectResult = { dir: "/srv/clock", files: ["deno.json", "main.ts"] };
 * ```
 */
export interface NewProjectResult {
  /** The project folder, absolute. */
  dir: string;
  /** The files written, relative to `dir`, with `/` separators. */
  files: string[];
}

/** Where a compiled flagstaff's projects import it from: this version's tag on GitHub. */
const RELEASE_MOD_URL =
  `https://raw.githubusercontent.com/flagstaff/flagstaff/v${VERSION}/lib/mod.ts`;

/**
 * Checks a project name against {@link PROJECT_NAME_PATTERN}.
 *
 * @throws {FlagstaffError} `usage`: `Invalid project name "X": …`, saying which rule it breaks.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkProjectName } from "./_project.ts";
 * checkProjectName("my-app");
 * assert.throws(() => checkProjectName("MyApp"), {
 *   code: "usage",
 *   message: /^Invalid project name "MyApp": it must start with a lowercase letter/,
 * });
 * ```
 */
export function checkProjectName(name: string): void {
  if (PROJECT_NAME_PATTERN.test(name)) return;
  const chars = [...name];
  const bad = chars.find((char) => !/[a-z0-9_-]/.test(char));
  const reason = name === ""
    ? "it is empty"
    : !/[a-z]/.test(chars[0])
    ? `it must start with a lowercase letter (a-z), not ${JSON.stringify(chars[0])}`
    : bad !== undefined
    ? `it may contain only lowercase letters, digits, "_" and "-", not ${JSON.stringify(bad)}`
    : `it has ${chars.length} characters, at most 63 are allowed`;
  throw new FlagstaffError(
    "usage",
    `Invalid project name ${JSON.stringify(name)}: ${reason} ` +
      "(it names the executable, the config file and the systemd unit)",
  );
}

/**
 * The URL of the `lib/mod.ts` this flagstaff runs from: a `file:` URL in a
 * checkout, the `http(s):` URL under `deno run <URL>`. A compiled binary's
 * modules live in a virtual folder that no project can import, so there it
 * is this version's `lib/mod.ts` on GitHub.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defaultFlagstaffUrl } from "./_project.ts";
 * assert.match(defaultFlagstaffUrl(), /\/lib\/mod\.ts$/);
 * ```
 */
export function defaultFlagstaffUrl(): string {
  if (Deno.build.standalone) return RELEASE_MOD_URL;
  return new URL("../mod.ts", import.meta.url).href;
}

/**
 * Writes a new library-mode project named `name` into `options.dir`
 * (default `./NAME`): all of it, or, on failure, nothing.
 *
 * @throws {FlagstaffError} `usage` for an invalid name, as root a target
 *   another user could change (or create), a target folder that
 *   is not empty (without `force`), a target that is not a folder, a
 *   flagstaff path that does not exist, or a failed write; `permission` when
 *   Deno may not read or write there.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { newProject } from "./_project.ts";
 * const parent = await Deno.makeTempDir();
 * const project = await newProject("clock", { dir: `${parent}/clock` });
 * assert.ok(project.files.includes("etc/clock.yml"));
 * assert.match(await Deno.readTextFile(`${project.dir}/main.ts`), /await start\(AppController, \{/);
 * await Deno.remove(parent, { recursive: true });
 * ```
 */
export async function newProject(
  name: string,
  options: NewProjectOptions = {},
): Promise<NewProjectResult> {
  checkProjectName(name);
  const shown = options.dir ?? `./${name}`;
  const target = resolve(shown);
  const flagstaff = await resolveFlagstaff(options.flagstaff);
  const files = renderProject({
    name,
    flagstaff,
    permissionFlags: PERMISSION_FLAGS,
    flagstaffVersion: VERSION,
  });
  const fail = (error: unknown) =>
    asUserError(error, `Cannot write project "${name}" to "${shown}"`);
  let state: TargetState;
  try {
    // As root, a folder another user can change could send the files (and the chmod of the init
    // script) anywhere through a link swapped in meanwhile: only folders root alone can change.
    const { codeTrustProblem } = await import("../runtime/code_trust.ts");
    const untrusted = await codeTrustProblem(target) ?? await projectFoldersProblem(target, files);
    if (untrusted) {
      throw new FlagstaffError(
        "usage",
        `Refusing to write a project into "${shown}" as root: ${untrusted} (another user could ` +
          "redirect its files through a link; use a folder that only root can change)",
      );
    }
    state = await inspectTarget(target, shown);
    if (state === "full" && !options.force) {
      throw new FlagstaffError("usage", `Target folder "${shown}" is not empty (use --force)`);
    }
    if (state === "full") await checkNothingInTheWay(target, shown, files);
  } catch (error) {
    throw fail(error);
  }
  let createdParent: string | undefined;
  let staging: string | undefined;
  let writing: string | undefined;
  try {
    if (state === "missing") {
      createdParent = await makeParents(dirname(target));
      staging = await makeStagingDir(dirname(target), `.${basename(target)}.new-`);
    } else {
      staging = await makeStagingDir(target, ".flagstaff-new-");
    }
    for (const file of files) {
      writing = file.path;
      await writeProjectFile(staging, file);
    }
    writing = undefined;
    if (state === "missing") {
      await Deno.rename(staging, target);
      staging = undefined;
    } else {
      await moveIntoPlace(staging, target, files);
    }
  } catch (error) {
    await removeQuietly(createdParent ?? staging);
    throw writing === undefined ? fail(error) : asUserError(
      error,
      `Cannot write project "${name}" to "${shown}": writing "${writing}"`,
    );
  } finally {
    await removeQuietly(staging);
  }
  return { dir: target, files: files.map((file) => file.path) };
}

/** `file:`/`http(s):` URL or path → the URL the project imports; a local one must exist. */
async function resolveFlagstaff(given: string | undefined): Promise<string> {
  if (given === undefined) return defaultFlagstaffUrl();
  let url: URL;
  if (/^[a-z][a-z0-9+.-]+:/i.test(given)) {
    url = new URL(given);
    if (!["file:", "http:", "https:"].includes(url.protocol)) {
      throw new FlagstaffError(
        "usage",
        `--flagstaff takes a file:, http: or https: URL or a path, got "${given}"`,
      );
    }
    if (url.protocol !== "file:") return url.href;
  } else {
    url = pathToFileURL(resolve(given));
  }
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(url);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new FlagstaffError("usage", `Cannot find flagstaff's lib/mod.ts at "${given}"`);
    }
    throw asUserError(error, `Cannot read flagstaff's lib/mod.ts at "${given}"`);
  }
  if (info.isDirectory) {
    const mod = new URL(`${url.href.replace(/\/?$/, "/")}lib/mod.ts`);
    const found = await Deno.stat(mod).then((stat) => stat.isFile, () => false);
    if (!found) {
      throw new FlagstaffError(
        "usage",
        `Cannot find flagstaff's lib/mod.ts in the folder "${given}"`,
      );
    }
    return mod.href;
  }
  return url.href;
}

/** Turns a failure into a user-facing error: `what: detail`, the original as the cause. */
function asUserError(error: unknown, what: string): FlagstaffError {
  const mapped = asPermissionError(error, what);
  if (mapped instanceof FlagstaffError) return mapped;
  return new FlagstaffError("usage", `${what}: ${messageOf(error, { firstLine: true })}`, {
    cause: error,
  });
}

/**
 * As root, why the target or a folder inside it that the files go into lets
 * another user plant something: the target (when it exists) and each such
 * folder must be root's, not writable by group or others even with the
 * sticky bit, and not a link another user made (a root's link is followed
 * when the walk to where it leads is root's too). Undefined when not run by root
 * (the effective uid, through libc), and on systems other than Linux.
 */
async function projectFoldersProblem(
  target: string,
  files: readonly { path: string }[],
): Promise<string | undefined> {
  if (Deno.build.os !== "linux") return undefined;
  const [{ withOwnLibc }, { effectiveUid }] = await Promise.all([
    import("../os/_libc.ts"),
    import("../os/own_file.ts"),
  ]);
  if (withOwnLibc(effectiveUid) !== 0) return undefined;
  const folders = new Set([""]);
  for (const file of files) {
    const parts = file.path.split("/").slice(0, -1);
    for (let i = 1; i <= parts.length; i++) folders.add(parts.slice(0, i).join("/"));
  }
  const { codeTrustProblem } = await import("../runtime/code_trust.ts");
  for (const folder of [...folders].sort()) {
    const path = folder ? `${target}/${folder}` : target;
    let info: Deno.FileInfo;
    try {
      info = await Deno.lstat(path);
      // A root's link is followed when the walk from / to where it leads is root's too.
      if (info.isSymlink && info.uid === 0) {
        const problem = await codeTrustProblem(path);
        if (problem) return problem;
        info = await Deno.stat(path);
      }
    } catch (error) {
      // Missing: made by flagstaff; not a folder: said as such when the files are written.
      if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) {
        continue;
      }
      throw error;
    }
    const what = folder ? `its folder "${folder}"` : "it";
    if (info.isSymlink) return `${what} is a symbolic link of uid ${info.uid}`;
    if (!info.isDirectory) continue;
    if (info.uid !== 0) return `${what} belongs to uid ${info.uid}`;
    const mode = (info.mode ?? 0) & 0o7777;
    if ((mode & 0o022) !== 0) {
      return `${what} is writable by group or others (mode 0${mode.toString(8)})`;
    }
  }
  return undefined;
}
