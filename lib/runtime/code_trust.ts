/**
 * As root (effective uid 0), flagstaff imports a local module, or reads an
 * actions folder, only when no other user can change it or the path to it:
 * {@link codeTrustProblem} says why not, {@link untrustedCodeError} is the
 * refusal. A `data:` or URL module is not a file, and is not concerned.
 *
 * @module
 */

import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { FlagstaffError } from "../core/errors.ts";
import { openLibc } from "../os/_libc.ts";

/** Why root loads code only from places root alone can change: the end of a refusal. */
const TRUST_RULE =
  "as root, flagstaff loads code only from files and folders that only root can change";

/**
 * The error for code root must not load: code `usage` (exit 2).
 *
 * @param what What is refused: `to load "/srv/app/c.ts"`, `actions folder "/srv/app/actions"`.
 * @param problem What {@link codeTrustProblem} said.
 * @returns `Refusing to load "/w/evil.ts" as root: it belongs to uid 65534 (as root, …)`.
 */
export function untrustedCodeError(what: string, problem: string): FlagstaffError {
  const as = refusingAs();
  return new FlagstaffError(
    "usage",
    `Refusing ${what} ${as}: ${problem} (${as === "as root" ? TRUST_RULE : DROPPED_RULE})`,
  );
}

/** The rule's words after a drop to `Daemon.user`. */
const DROPPED_RULE = "started as root, flagstaff loads code only from files and folders that " +
  "only root and Daemon.user can change";

/**
 * The user flagstaff switched to from root (`Daemon.user`), if it did: the
 * code it loads must then be code only root or that user can change, or
 * another user would run code as that user (its files, its log folder).
 */
let droppedTo: number | undefined;

/**
 * Says that this process dropped root for `uid` (`Daemon.user`): from now on
 * code is checked with that user beside root as a trusted owner. Called once,
 * by the privilege drop.
 */
export function trustDroppedUser(uid: number): void {
  droppedTo = uid;
}

/** Who may own the code loaded now: root (as root), root and the dropped-to user, or anyone. */
function trustedOwners(): ReadonlySet<number> | undefined {
  const euid = effectiveUidNow();
  if (euid === 0) return new Set([0]);
  if (euid !== null && euid === droppedTo) return new Set([0, euid]);
  return undefined;
}

/** How a refusal says who is refusing: `as root`, or `as uid 33 (Daemon.user, started as root)`. */
export function refusingAs(): string {
  const euid = effectiveUidNow();
  return euid === 0 || euid === null ? "as root" : `as uid ${euid} (Daemon.user, started as root)`;
}

/** How many symbolic links a path may go through, as Linux's `ELOOP` limit. */
const MAX_LINK_HOPS = 40;

/**
 * As root, why another user could change the code at `path` (a module, or an
 * actions folder), or undefined when no one but root can, or when flagstaff
 * does not run as root (effective uid, `geteuid(2)`; it reads no file then).
 *
 * The rule is start-stop-daemon's for a pidfile, applied to every step of the
 * path, from `/` to the file, without following a link unchecked: each folder
 * is owned by root and not writable by group or others, unless it has the
 * sticky bit (as `/tmp`: others may add entries, not replace root's); the
 * file, and each symbolic link on the way, is owned by root; the file is not
 * writable by group or others. A link is followed by hand and its target is
 * checked the same way (a link only root can change to a file only root can
 * change is fine). A missing file is left to the import to report (Deno's
 * "Module not found"), unless its folder lets others create it (a sticky
 * folder such as `/tmp`): then it is refused, as another user could create it
 * between the check and the import.
 *
 * Under a compiled binary, the files embedded with it (in the folder of its
 * main module) are part of the binary and not checked.
 *
 * @param path An absolute path, or one relative to the working directory.
 * @returns `it belongs to uid 65534`, `its folder "/w" is writable by group or
 *   others (mode 0777) without the sticky bit`, `the folder "/w" on its path
 *   belongs to uid 65534`, `its target "/w/x.ts" belongs to uid 65534`, …
 * @throws {FlagstaffError} `permission` when flagstaff cannot tell its
 *   effective uid (Linux: `--allow-ffi`; elsewhere `--allow-sys`).
 *   `Deno.errors.NotCapable` without `--allow-read`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { codeTrustProblem } from "./code_trust.ts";
 * const dir = await Deno.makeTempDir(); // 0700, this user's
 * await Deno.writeTextFile(`${dir}/a.ts`, "export default 1;\n");
 * await Deno.chmod(`${dir}/a.ts`, 0o666);
 * const problem = await codeTrustProblem(`${dir}/a.ts`);
 * if ((await Deno.stat(dir)).uid === 0) {
 *   assert.equal(problem, "it is writable by group or others (mode 0666)");
 * } else {
 *   assert.equal(problem, undefined); // not root: nothing is checked
 * }
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function codeTrustProblem(path: string): Promise<string | undefined> {
  const owners = trustedOwners();
  if (!owners) return undefined;
  const given = resolve(path);
  if (Deno.build.standalone) {
    const embedded = dirname(fileURLToPath(Deno.mainModule));
    if (given.startsWith(embedded.endsWith("/") ? embedded : `${embedded}/`)) return undefined;
  }
  const top = await Deno.lstat("/");
  if (!owners.has(top.uid ?? -1)) return `the folder "/" on its path belongs to uid ${top.uid}`;
  const topProblem = modeProblem(top, true);
  if (topProblem) return `the folder "/" on its path ${topProblem}`;
  const pending = given.split("/").filter(Boolean);
  let current = "/";
  let currentMode = (top.mode ?? 0) & 0o7777;
  let hops = 0;
  while (pending.length > 0) {
    const name = pending.shift()!;
    if (name === ".") continue;
    if (name === "..") {
      // `current` is a checked path without links: its parent is checked too.
      current = dirname(current);
      continue;
    }
    const next = current === "/" ? `/${name}` : `${current}/${name}`;
    const last = pending.length === 0;
    let info: Deno.FileInfo;
    try {
      info = await Deno.lstat(next);
    } catch (error) {
      if (error instanceof Deno.errors.NotCapable) throw error;
      if (error instanceof Deno.errors.NotFound) {
        if ((currentMode & 0o022) === 0) return undefined;
        return `${
          subject(next, last, hops, given, "missing")
        } does not exist, and another user could create it in the folder "${current}"`;
      }
      return `cannot check "${next}": ${(error as Error).message}`;
    }
    if (info.isSymlink) {
      if (!owners.has(info.uid ?? -1)) {
        return `${subject(next, last, hops, given, "link")} belongs to uid ${info.uid}`;
      }
      if (++hops > MAX_LINK_HOPS) {
        return `its path goes through more than ${MAX_LINK_HOPS} symbolic links`;
      }
      const target = await Deno.readLink(next);
      if (target.startsWith("/")) current = "/";
      pending.unshift(...target.split("/").filter(Boolean));
      continue;
    }
    const what = subject(next, last, hops, given, info.isDirectory ? "folder" : "file");
    if (!owners.has(info.uid ?? -1)) return `${what} belongs to uid ${info.uid}`;
    const problem = modeProblem(info, info.isDirectory);
    if (problem) return `${what} ${problem}`;
    if (!info.isDirectory) {
      // A file before the end: the import fails ("Not a directory"), as only root made it so.
      return undefined;
    }
    current = next;
    currentMode = (info.mode ?? 0) & 0o7777;
  }
  return undefined;
}

/** Why a file or folder's mode lets others change it, or undefined. */
function modeProblem(info: Deno.FileInfo, isFolder: boolean): string | undefined {
  const mode = (info.mode ?? 0) & 0o7777;
  if ((mode & 0o022) === 0) return undefined;
  if (isFolder && (mode & 0o1000) !== 0) return undefined;
  return `is writable by group or others (mode ${octal(mode)})${
    isFolder ? " without the sticky bit" : ""
  }`;
}

/** How a refusal names a step of the path: `it`, `its folder "/w"`, `its target "/x"`, …. */
function subject(
  path: string,
  last: boolean,
  hops: number,
  given: string,
  kind: "file" | "folder" | "link" | "missing",
): string {
  if (last && hops === 0) return kind === "link" ? "it (a symbolic link)" : "it";
  if (last) return `its target "${path}"`;
  if (kind === "link") return `the symbolic link "${path}" on its path`;
  if (hops === 0 && path === dirname(given)) return `its folder "${path}"`;
  return `the folder "${path}" on its path`;
}

/**
 * As root, why a module given by URL could be another local user's code, or
 * undefined. Plain `http:` is allowed on loopback only (`remote_url.ts`), and
 * any local user may listen on an unprivileged loopback port before flagstaff
 * fetches from it. So, as root, a plain `http:` module is loaded only when
 * its port is privileged (below `net.ipv4.ip_unprivileged_port_start`,
 * usually 1024: only root, or a program given `CAP_NET_BIND_SERVICE`, can
 * listen there), when it has an integrity pin (the bytes are then checked,
 * whoever served them), or when it comes from the origin flagstaff itself
 * was loaded from (that server already runs flagstaff's own code). `https:`
 * is not refused (the server is authenticated); nothing is when flagstaff
 * does not run as root.
 *
 * @param url The module's URL (`http:` or `https:`).
 * @param pinned Whether an integrity pin was given for it.
 * @returns `a plain http:// module from loopback port 8000 may be served by
 *   any local user: …`, or undefined.
 * @throws {FlagstaffError} `permission` when flagstaff cannot tell its
 *   effective uid.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { remoteCodeTrustProblem } from "./code_trust.ts";
 * assert.equal(remoteCodeTrustProblem(new URL("https://example.com/a.ts"), false), undefined);
 * assert.equal(remoteCodeTrustProblem(new URL("http://127.0.0.1:8000/a.ts"), true), undefined);
 * assert.equal(remoteCodeTrustProblem(new URL("http://127.0.0.1/a.ts"), false), undefined);
 * const unpinned = remoteCodeTrustProblem(new URL("http://127.0.0.1:8000/a.ts"), false);
 * assert.equal(unpinned !== undefined, Deno.uid() === 0);
 * ```
 */
export function remoteCodeTrustProblem(url: URL, pinned: boolean): string | undefined {
  if (url.protocol !== "http:" || pinned) return undefined;
  if (url.origin === new URL(import.meta.url).origin) return undefined;
  const port = url.port === "" ? 80 : Number(url.port);
  const unprivileged = unprivilegedPortStart();
  if (port < unprivileged || !trustedOwners()) return undefined;
  return `a plain http:// module from loopback port ${port} may be served by any local user ` +
    `(ports from ${unprivileged} up need no privilege): give it an integrity pin ` +
    "(Application.controller_integrity, or {module, integrity} in Actions), serve it from a " +
    `port below ${unprivileged}, or use https://`;
}

/** The first port any user may listen on (`net.ipv4.ip_unprivileged_port_start`); 1024 if unreadable. */
function unprivilegedPortStart(): number {
  try {
    const text = Deno.readTextFileSync("/proc/sys/net/ipv4/ip_unprivileged_port_start").trim();
    return /^\d+$/.test(text) ? Number(text) : 1024;
  } catch {
    return 1024;
  }
}

function octal(mode: number): string {
  return `0${mode.toString(8).padStart(3, "0")}`;
}

/**
 * This process's effective uid now (it changes at the privilege drop), or
 * null where there are no uids (Windows).
 */
function effectiveUidNow(): number | null {
  if (Deno.build.os === "windows") return null;
  // Elsewhere than Linux, the real uid (`--allow-sys`): flagstaff drops privileges on Linux only.
  if (Deno.build.os !== "linux") return Deno.uid();
  const library = openLibc("tell whether flagstaff runs as root before loading code");
  try {
    return library.symbols.geteuid();
  } finally {
    library.close();
  }
}
