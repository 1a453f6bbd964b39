/**
 * Writing a new project without ever leaving it half-written: the files go
 * into a staging folder first, then the folder is renamed into place, or,
 * into an existing folder (`--force`), each file is moved in as one
 * transaction that is undone on failure. Private to `_project.ts`.
 *
 * @module
 */

import { dirname, join } from "node:path";
import type { ProjectFile } from "../../scaffold/mod.ts";
import { FlagstaffError } from "../core/errors.ts";

/** A target folder that does not exist, is empty, or holds files. */
export type TargetState = "missing" | "empty" | "full";

/** Whether `target` is missing, an empty folder or a folder with files; a file there is refused. */
export async function inspectTarget(target: string, shown: string): Promise<TargetState> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(target);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return "missing";
    throw error;
  }
  if (!info.isDirectory) throw new FlagstaffError("usage", `Target "${shown}" is not a folder`);
  for await (const _ of Deno.readDir(target)) return "full";
  return "empty";
}

/** With `force`: refuses a target where a folder stands in a file's way, or a file in a folder's. */
export async function checkNothingInTheWay(
  target: string,
  shown: string,
  files: readonly ProjectFile[],
): Promise<void> {
  for (const file of files) {
    const parts = file.path.split("/");
    for (let i = 1; i <= parts.length; i++) {
      const path = join(target, ...parts.slice(0, i));
      const isFile = i === parts.length;
      // A folder may be a symlink to one; the file itself is replaced, never followed.
      const info = await (isFile ? Deno.lstat(path) : Deno.stat(path)).catch((error) => {
        if (error instanceof Deno.errors.NotFound) return undefined;
        throw error;
      });
      if (info === undefined) break;
      if (isFile ? info.isDirectory : !info.isDirectory) {
        throw new FlagstaffError(
          "usage",
          `Cannot write "${file.path}" into "${shown}": "${parts.slice(0, i).join("/")}" is ` +
            (isFile ? "a folder" : "not a folder"),
        );
      }
    }
  }
}

/** Creates `dir` and its missing parents; returns the topmost one it created, to undo. */
export async function makeParents(dir: string): Promise<string | undefined> {
  let topmost: string | undefined;
  for (let path = dir;; path = dirname(path)) {
    try {
      await Deno.lstat(path);
      break;
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
      topmost = path;
      if (dirname(path) === path) break;
    }
  }
  if (topmost !== undefined) await Deno.mkdir(dir, { recursive: true });
  return topmost;
}

/** A fresh folder in `parent`, named `prefix` and 8 random characters, made with the umask's mode. */
export async function makeStagingDir(parent: string, prefix: string): Promise<string> {
  for (let attempt = 0;; attempt++) {
    const path = join(parent, `${prefix}${crypto.randomUUID().slice(0, 8)}`);
    try {
      await Deno.mkdir(path);
      return path;
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists) || attempt >= 5) throw error;
    }
  }
}

/** Writes one file under `root`, creating its folders; never over an existing file. */
export async function writeProjectFile(root: string, file: ProjectFile): Promise<void> {
  const path = join(root, file.path);
  await Deno.mkdir(dirname(path), { recursive: true });
  await Deno.writeTextFile(path, file.content, { createNew: true });
  if (file.executable && Deno.build.os !== "windows") await Deno.chmod(path, 0o755);
}

/**
 * Moves every written file from `staging` into the existing `target`, as one
 * transaction: a file it replaces is first moved aside into `staging`; if any
 * move fails, the files moved so far are taken back out, the replaced ones
 * put back and the folders it made removed, so the folder is as it was.
 */
export async function moveIntoPlace(
  staging: string,
  target: string,
  files: readonly ProjectFile[],
): Promise<void> {
  const done: { destination: string; replaced?: string; placed: boolean }[] = [];
  const createdDirs: string[] = [];
  try {
    for (const file of files) {
      const destination = join(target, file.path);
      const step: (typeof done)[number] = { destination, placed: false };
      done.push(step);
      const folders = file.path.split("/").slice(0, -1);
      for (let i = 1; i <= folders.length; i++) {
        const folder = join(target, ...folders.slice(0, i));
        if (await Deno.stat(folder).then(() => false, () => true)) {
          await Deno.mkdir(folder);
          createdDirs.push(folder);
        }
      }
      if (await Deno.lstat(destination).then(() => true, () => false)) {
        const aside = join(staging, ".replaced", file.path);
        await Deno.mkdir(dirname(aside), { recursive: true });
        await Deno.rename(destination, aside);
        step.replaced = aside;
      }
      await Deno.rename(join(staging, file.path), destination);
      step.placed = true;
    }
  } catch (error) {
    for (const step of done.reverse()) {
      try {
        if (step.placed) await Deno.remove(step.destination);
        if (step.replaced) await Deno.rename(step.replaced, step.destination);
      } catch {
        // Best effort: keep undoing the other steps.
      }
    }
    for (const folder of createdDirs.reverse()) await Deno.remove(folder).catch(() => {});
    throw error;
  }
}

/** Removes `path` and what it holds, if it can; never throws. */
export async function removeQuietly(path: string | undefined): Promise<void> {
  if (path === undefined) return;
  try {
    await Deno.remove(path, { recursive: true });
  } catch {
    // Already gone, or not ours to force.
  }
}
