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
import { checkAliases, checkNodes, checkUniqueKeys, type NodeReader } from "./_yaml_checks.ts";
import {
  anchorIndex,
  buildTree,
  findPair,
  type MapNode,
  type Node,
  type PairIndex,
  pathAt,
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
  let tree: Tree = { contents: undefined, documents: 0, directives: [] };
  try {
    events = yaml.parseEvents(text, { filename: name });
    tree = buildTree(yaml!, text, events);
  } catch (error) {
    issueAt(errorOffset(error), "", reasonOf(error));
  }
  const reader = nodeReader(text, tree, (node) => at(node.start).line);
  const source = treeSource(text, tree.contents, reader, at);
  const done = (root?: unknown): ParsedYaml => ({ root, source, issues });
  if (issues.length > 0) return done();
  if (tree.secondDocument !== undefined) {
    issueAt(tree.secondDocument, "", "holds more than one YAML document (a config is one)");
    return done();
  }
  const report = (node: Node, path: KeyPath, message: string) =>
    issueAt(node.start, path.join("."), message);
  checkNodes(tree.contents, reader, report);
  checkUniqueKeys(tree.contents, reader, report);
  if (issues.length > 0) return done();
  if (!options.allowEmpty && isEmpty(tree.contents, reader)) {
    issueAt(undefined, "", "is empty (no sections, only whitespace or comments)");
    return done();
  }
  checkAliases(tree.contents, options.maxAliasNodes, report, reader.keyName);
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
    // Left for js-yaml (an unknown collection tag, a long merge list): its key, from its mark.
    const offset = errorOffset(error);
    const path = offset === undefined ? undefined : pathAt(tree.contents, offset, reader);
    issueAt(offset, path?.join(".") ?? "", reasonOf(error));
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
 * How the config reads the tree's nodes: a scalar's value as YAML 1.1 reads
 * it (a plain scalar's by the schema's implicit types, a quoted or block
 * scalar's string, a tagged scalar's by its tag), keys as the config's
 * objects name them, aliases followed through their anchors.
 */
function nodeReader(text: string, tree: Tree, lineOfNode: (node: Node) => number): NodeReader {
  const { EVENT_ID, SCALAR_STYLE, constructFromEvents, getScalarValue } = yaml!;
  const anchors = anchorIndex(tree.contents);
  const names = new WeakMap<Node, string | undefined>();
  const isPlain = (node: ScalarNode) =>
    node.event.tagStart < 0 && node.event.style === SCALAR_STYLE.PLAIN;
  const tagOf = (node: ScalarNode) => text.slice(node.event.tagStart, node.event.tagEnd);
  const reader: NodeReader = {
    resolve: (node) => node?.kind === "alias" ? anchors.get(node) ?? node : node,
    value(node) {
      const { event } = node;
      const written = getScalarValue(text, event);
      if (event.tagStart < 0) {
        return event.style === SCALAR_STYLE.PLAIN
          ? schema.resolveImplicitScalarTag(written).value
          : written;
      }
      const document = { type: EVENT_ID.DOCUMENT, explicitStart: false, explicitEnd: false };
      return constructFromEvents(
        [{ ...document, directives: tree.directives }, event, { type: EVENT_ID.POP }],
        { source: text, schema },
      )[0];
    },
    keyName(key) {
      if (names.has(key)) return names.get(key);
      const node = reader.resolve(key);
      const name = node?.kind === "scalar" ? String(valueOrText(node)) : undefined;
      names.set(key, name);
      return name;
    },
    isMerge(key) {
      const node = reader.resolve(key);
      if (node?.kind !== "scalar") return false;
      if (isPlain(node)) return getScalarValue(text, node.event) === "<<";
      return node.event.tagStart >= 0 && MERGE_TAGS.includes(tagOf(node));
    },
    written(node) {
      if (node.kind === "alias") return `*${node.name}`;
      if (node.kind !== "scalar") return text.slice(node.start, node.start + 1);
      const { event } = node;
      if (event.valueStart < 0) return node.mark < 0 ? "" : text.slice(node.mark, propsEnd(event));
      const quoted = event.style === SCALAR_STYLE.SINGLE_QUOTED ||
        event.style === SCALAR_STYLE.DOUBLE_QUOTED;
      const end = event.valueEnd + (quoted ? 1 : 0);
      const from = event.tagStart >= 0 || event.anchorStart >= 0 ? node.mark : node.start;
      const written = event.style === SCALAR_STYLE.PLAIN || quoted
        ? text.slice(from, end)
        : getScalarValue(text, event);
      return written.length > 60 ? `${written.slice(0, 59)}…` : written;
    },
    plainText: (node) => isPlain(node) ? getScalarValue(text, node.event) : undefined,
    line: lineOfNode,
  };
  /** A scalar's value, or its text when its tag cannot read it (checkNodes() reports that). */
  const valueOrText = (node: ScalarNode) => {
    try {
      return reader.value(node);
    } catch {
      return getScalarValue(text, node.event);
    }
  };
  return reader;
}

/** How a merge key may be tagged. */
const MERGE_TAGS = ["!!merge", "!<tag:yaml.org,2002:merge>"];

/** Where a node's anchor and tag end. */
function propsEnd(event: { anchorEnd: number; tagEnd: number }): number {
  return Math.max(event.anchorEnd, event.tagEnd);
}

/**
 * A scalar as the text written: an untagged plain scalar's source (`0755`,
 * `yes`, `12:30`, `~`; lines folded as YAML folds them), a quoted or block
 * scalar's string value. A tagged scalar gives its value when it is a
 * number, boolean, null or string (`!!int 0755` gives `493`), else its text
 * (`!!timestamp 2001-12-14`, `!!binary aGk=`).
 */
function scalarText(text: string, reader: NodeReader, node: ScalarNode): string {
  const written = yaml!.getScalarValue(text, node.event);
  if (node.event.tagStart < 0) return written;
  let value: unknown;
  try {
    value = reader.value(node);
  } catch {
    return written;
  }
  return value instanceof Object ? written : String(value);
}

/**
 * The {@link ConfigSource} of a parsed document: `reader` reads its nodes,
 * `at` turns an offset into line and column. Keys are found as js-yaml's
 * constructor builds maps (through aliases and merge keys: see `findPair()`).
 */
function treeSource(
  text: string,
  contents: Node | undefined,
  reader: NodeReader,
  at: (offset: number | undefined) => { line: number; column: number },
): ConfigSource {
  const index = new WeakMap<MapNode, PairIndex>();
  /** The pair or item at `segment` of `node` (aliases followed), and the node it holds. */
  const step = (node: Node | undefined, segment: string | number) => {
    const parent = reader.resolve(node);
    if (parent?.kind === "map") {
      const pair = findPair(parent, String(segment), reader, index);
      return pair && { pair, node: pair.value };
    }
    if (parent?.kind === "seq" && typeof segment === "number") {
      const item = parent.items[segment];
      return item && { pair: undefined, node: item };
    }
    return undefined;
  };
  /** The node at `path`, aliases followed; undefined when there is none. */
  const nodeAt = (path: KeyPath): Node | undefined => {
    let node = contents;
    for (const segment of path) {
      const found = step(node, segment);
      if (!found) return undefined;
      node = found.node;
    }
    return reader.resolve(node);
  };
  /** Offset of the key or value at `path`, or the nearest parent's. */
  const locate = (path: KeyPath, where: "key" | "value"): number | undefined => {
    let node = contents;
    let offset = node?.start;
    for (const [i, segment] of path.entries()) {
      const found = step(node, segment);
      if (!found) break;
      const { pair } = found;
      offset = !pair
        ? found.node!.start
        : where === "key" && i === path.length - 1
        ? pair.key.start
        : pair.value?.start ?? pair.key.start;
      node = found.node;
    }
    return offset;
  };
  return {
    position: (path, where) => at(locate(path, where)),
    scalar(path): WrittenScalar | undefined {
      const node = nodeAt(path);
      return node?.kind === "scalar"
        ? {
          text: scalarText(text, reader, node),
          plain: node.event.style === yaml!.SCALAR_STYLE.PLAIN,
        }
        : undefined;
    },
    words(path): string[] | undefined {
      const node = nodeAt(path);
      if (node?.kind === "scalar") {
        return valueOf(reader, node) === null ? [] : [scalarText(text, reader, node)];
      }
      if (node?.kind !== "seq") return undefined;
      const words: string[] = [];
      for (const item of node.items) {
        const word = reader.resolve(item);
        if (word?.kind !== "scalar") return undefined;
        words.push(scalarText(text, reader, word));
      }
      return words;
    },
  };
}

/** A scalar's value; undefined when its tag cannot read it. */
function valueOf(reader: NodeReader, node: ScalarNode): unknown {
  try {
    return reader.value(node);
  } catch {
    return undefined;
  }
}

/** Whether a document has no content: empty, whitespace, comments, or a bare null. */
function isEmpty(contents: Node | undefined, reader: NodeReader): boolean {
  return contents === undefined ||
    (contents.kind === "scalar" && valueOf(reader, contents) === null);
}
