/**
 * The YAML side of config loading: parses a config's text as YAML 1.1 (as
 * helper's PyYAML does), bounds its aliases on the syntax tree, and answers
 * the schema's questions about the file: where a key or value is (line,
 * column), and what a scalar's source text was (`0755`, not 493).
 *
 * The parser is js-yaml's event parser (`parseEvents`: a flat list of
 * events with source offsets), its constructor with the YAML 1.1 schema of
 * `_yaml11.ts` for values, and a small syntax tree built here from the
 * events for positions, source texts, unique keys and the alias checks. js-yaml is plain ESM; the first {@link parseYaml} loads
 * it (a few milliseconds: see `lib/deps.ts`).
 *
 * @module
 */

import { loadYaml, type YamlModule } from "../deps.ts";
import type { ConfigIssue } from "../core/errors.ts";
import { configSchema } from "./_yaml11.ts";
import {
  anchorIndex,
  buildTree,
  checkAliases,
  type Node,
  type ScalarNode,
  type Tree,
} from "./_yaml_tree.ts";
import type { ConfigSource, KeyPath, WrittenScalar } from "./schema.ts";

/** js-yaml, once {@link parseYaml} has loaded it. */
let yaml: YamlModule | undefined;
/** The YAML 1.1 schema configs are read with (`_yaml11.ts`). */
let schema: ReturnType<typeof configSchema>;

/** Options for {@link parseYaml}. */
export interface ParseYamlOptions {
  /** Whether an empty document (whitespace, comments, a bare null) is allowed. */
  readonly allowEmpty: boolean;
  /** How many nodes aliases may repeat in all (see `MAX_ALIAS_NODES`). */
  readonly maxAliasNodes: number;
}

/** What {@link parseYaml} found. */
export interface ParsedYaml {
  /** The document as plain values (YAML 1.1 types); undefined when `issues` is not empty. */
  readonly root: unknown;
  /** Where keys and values are, and their source texts. */
  readonly source: ConfigSource;
  /** Syntax, empty-document and alias problems, in file order; empty when `root` is usable. */
  readonly issues: ConfigIssue[];
}

/**
 * Parses config text as YAML 1.1 with unique keys, then checks every alias on
 * the syntax tree before anything expands it: each must follow its anchor,
 * not sit inside the node it names, and all together may repeat at most
 * `options.maxAliasNodes` nodes (time and memory stay linear in the text's
 * size). Never throws for bad input: every problem is an issue naming
 * `name`, 1-based line and column, and the dotted key (empty for syntax).
 *
 * @param text The config's text.
 * @param name The file name to put in issues.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseYaml } from "./_yaml.ts";
 * const options = { allowEmpty: true, maxAliasNodes: 100 };
 * const { root, source, issues } = await parseYaml("Daemon:\n  umask: 022\n", "a.yml", options);
 * assert.deepEqual([root, issues], [{ Daemon: { umask: 18 } }, []]);
 * assert.deepEqual(source.scalar(["Daemon", "umask"]), { text: "022", plain: true });
 * assert.deepEqual(source.position(["Daemon", "umask"], "key"), { line: 2, column: 3 });
 * const bad = await parseYaml("a: *nowhere\n", "a.yml", options);
 * assert.equal(bad.issues[0].message, 'alias "*nowhere" has no anchor "&nowhere" before it');
 * ```
 */
export async function parseYaml(
  text: string,
  name: string,
  options: ParseYamlOptions,
): Promise<ParsedYaml> {
  if (!yaml) {
    yaml = await loadYaml();
    schema = configSchema(yaml);
  }
  const lines = lineStarts(text);
  const at = (offset: number | undefined) => {
    if (offset === undefined) return { line: 0, column: 0 };
    const line = lineOf(lines, offset);
    return { line: line + 1, column: offset - lines[line] + 1 };
  };
  const issues: ConfigIssue[] = [];
  const issueAt = (offset: number | undefined, key: string, message: string) => {
    issues.push({ file: name, ...at(offset), key, message });
  };
  let events: ReturnType<YamlModule["parseEvents"]> = [];
  let tree: Tree = { contents: undefined, documents: 0 };
  try {
    events = yaml.parseEvents(text, { filename: name });
    tree = buildTree(yaml!, text, events);
  } catch (error) {
    issueAt(errorOffset(error), "", reasonOf(error));
  }
  const source = treeSource(text, tree.contents, at);
  const done = (root?: unknown): ParsedYaml => ({ root, source, issues });
  if (issues.length > 0) return done();
  if (tree.secondDocument !== undefined) {
    issueAt(tree.secondDocument, "", "holds more than one YAML document (a config is one)");
    return done();
  }
  checkUniqueKeys(
    text,
    tree.contents,
    (node) => issueAt(node.start, "", "Map keys must be unique"),
  );
  if (issues.length > 0) return done();
  if (!options.allowEmpty && isEmpty(text, tree.contents)) {
    issueAt(undefined, "", "is empty (no sections, only whitespace or comments)");
    return done();
  }
  checkAliases(
    tree.contents,
    options.maxAliasNodes,
    (node, path, message) => issueAt(node.start, path.join("."), message),
    (key) => keyName(text, key),
  );
  if (issues.length > 0) return done();
  if (tree.contents === undefined) return done(null);
  try {
    // Aliases share one value, and merges copy what the alias check counted: the work is
    // linear in the text's size. Keys are unique (checked above); `json` only lets a key
    // that a merge brought in be overridden.
    const [root] = yaml.constructFromEvents(events, {
      source: text,
      filename: name,
      schema,
      json: true,
      maxTotalMergeKeys: -1,
    });
    return done(root ?? null);
  } catch (error) {
    issueAt(errorOffset(error), "", reasonOf(error));
    return done();
  }
}

/** Offsets at which each line starts. */
function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) starts.push(i + 1);
  return starts;
}

/** The 0-based line holding `offset`. */
function lineOf(starts: readonly number[], offset: number): number {
  let low = 0;
  let high = starts.length - 1;
  while (low < high) {
    const mid = (low + high + 1) >> 1;
    if (starts[mid] <= offset) low = mid;
    else high = mid - 1;
  }
  return low;
}

/** Where a js-yaml error points, as an offset. */
function errorOffset(error: unknown): number | undefined {
  const mark = (error as { mark?: { position?: number } } | null)?.mark;
  return typeof mark?.position === "number" ? mark.position : undefined;
}

/** A js-yaml error's reason, without the snippet its message adds. */
function reasonOf(error: unknown): string {
  const reason = (error as { reason?: unknown } | null)?.reason;
  if (typeof reason === "string" && reason) return reason;
  return error instanceof Error ? error.message.split("\n")[0] : String(error);
}

/**
 * A scalar's value as YAML 1.1 reads it: a plain scalar's by the schema's
 * implicit types, a quoted or block scalar's string, and a tagged scalar's
 * by its tag.
 */
function scalarValue(text: string, node: ScalarNode): unknown {
  const { event } = node;
  const { EVENT_ID, SCALAR_STYLE, constructFromEvents, getScalarValue } = yaml!;
  const written = getScalarValue(text, event);
  if (event.tagStart < 0) {
    if (event.style !== SCALAR_STYLE.PLAIN) return written;
    return schema.resolveImplicitScalarTag(written).value;
  }
  try {
    const document = { type: EVENT_ID.DOCUMENT, explicitStart: false, explicitEnd: false };
    const pop = { type: EVENT_ID.POP };
    return constructFromEvents([{ ...document, directives: [] }, event, pop], {
      source: text,
      schema,
    })[0];
  } catch {
    return written;
  }
}

/**
 * A scalar as the text written: a plain scalar's source (`0755`, `yes`,
 * `12:30`, `~`; lines folded as YAML folds them), a quoted or block scalar's
 * string value. A scalar with an explicit tag (`!!int 0755`) gives its value.
 */
function scalarText(text: string, node: ScalarNode): string {
  if (node.event.tagStart < 0) return yaml!.getScalarValue(text, node.event);
  return String(scalarValue(text, node));
}

/** A key as the config's objects name it (`on` → `"true"`). */
function keyName(text: string, key: Node): string {
  return key.kind === "scalar" ? String(scalarValue(text, key)) : String(key.start);
}

/** The {@link ConfigSource} of a parsed document; `at` turns an offset into line and column. */
function treeSource(
  text: string,
  contents: Node | undefined,
  at: (offset: number | undefined) => { line: number; column: number },
): ConfigSource {
  const anchors = anchorIndex(contents);
  const resolve = (node: Node | undefined) =>
    node?.kind === "alias" ? anchors.get(node) ?? node : node;
  /** The node at `path`, aliases followed; undefined when there is none. */
  const nodeAt = (path: KeyPath): Node | undefined => {
    let node = resolve(contents);
    for (const segment of path) {
      if (node?.kind === "map") {
        const pair = node.pairs.find((p) => keyName(text, p.key) === String(segment));
        if (!pair) return undefined;
        node = pair.value;
      } else if (node?.kind === "seq" && typeof segment === "number") node = node.items[segment];
      else return undefined;
      node = resolve(node);
    }
    return node;
  };
  /** Offset of the key or value at `path`, or the nearest parent's. */
  const locate = (path: KeyPath, where: "key" | "value"): number | undefined => {
    let node: Node | undefined = contents;
    let offset = node?.start;
    for (const [i, segment] of path.entries()) {
      node = resolve(node);
      if (node?.kind === "map") {
        const pair = node.pairs.find((p) => keyName(text, p.key) === String(segment));
        if (!pair) break;
        offset = where === "key" && i === path.length - 1
          ? pair.key.start
          : pair.value?.start ?? pair.key.start;
        node = pair.value;
      } else if (node?.kind === "seq" && typeof segment === "number") {
        const item: Node | undefined = node.items[segment];
        if (!item) break;
        offset = item.start;
        node = item;
      } else break;
    }
    return offset;
  };
  return {
    position: (path, where) => at(locate(path, where)),
    scalar(path): WrittenScalar | undefined {
      const node = nodeAt(path);
      return node?.kind === "scalar"
        ? { text: scalarText(text, node), plain: node.event.style === yaml!.SCALAR_STYLE.PLAIN }
        : undefined;
    },
    words(path): string[] | undefined {
      const node = nodeAt(path);
      if (node === undefined) return [];
      if (node.kind === "scalar") {
        return scalarValue(text, node) === null ? [] : [scalarText(text, node)];
      }
      if (node.kind !== "seq") return undefined;
      const words: string[] = [];
      for (const item of node.items) {
        const word = resolve(item);
        if (word?.kind !== "scalar") return undefined;
        words.push(scalarText(text, word));
      }
      return words;
    },
  };
}

/** Whether a document has no content: empty, whitespace, comments, or a bare null. */
function isEmpty(text: string, contents: Node | undefined): boolean {
  return contents === undefined ||
    (contents.kind === "scalar" && scalarValue(text, contents) === null);
}

/**
 * Reports the second of two keys in one map that are the same scalar value
 * (`a` and `"a"`; `1` and `0x1`), as the `yaml` package's `uniqueKeys` did;
 * merge keys (`<<`) may repeat.
 */
function checkUniqueKeys(
  text: string,
  contents: Node | undefined,
  report: (key: Node) => void,
): void {
  const walk = (node: Node | undefined) => {
    if (!node || node.kind === "scalar" || node.kind === "alias") return;
    if (node.kind === "seq") return node.items.forEach(walk);
    const seen: unknown[] = [];
    for (const { key, value } of node.pairs) {
      if (key.kind === "scalar") {
        const k = scalarValue(text, key);
        const merge = k === "<<" && key.event.style === yaml!.SCALAR_STYLE.PLAIN &&
          key.event.tagStart < 0;
        if (!merge && seen.some((s) => sameKey(s, k))) report(key);
        seen.push(k);
      }
      walk(key);
      walk(value);
    }
  };
  walk(contents);
}

/** Whether two scalar keys are the same value (dates by their time). */
function sameKey(a: unknown, b: unknown): boolean {
  if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime();
  return a === b || (Number.isNaN(a) && Number.isNaN(b));
}
