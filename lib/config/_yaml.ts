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

import { loadYaml, type YamlModule, type YamlScalarEvent } from "../deps.ts";
import type { ConfigIssue } from "../core/errors.ts";
import { configSchema } from "./_yaml11.ts";
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

/** A node of the syntax tree; `start` is the offset of its value (after any anchor or tag). */
type Node = ScalarNode | SeqNode | MapNode | AliasNode;

interface ScalarNode {
  readonly kind: "scalar";
  readonly start: number;
  readonly anchor?: string;
  readonly event: YamlScalarEvent;
}

interface SeqNode {
  readonly kind: "seq";
  readonly start: number;
  readonly anchor?: string;
  readonly items: Node[];
}

interface MapNode {
  readonly kind: "map";
  readonly start: number;
  readonly anchor?: string;
  readonly pairs: { key: Node; value?: Node }[];
}

interface AliasNode {
  readonly kind: "alias";
  readonly start: number;
  /** The anchor's name, without `*`. */
  readonly name: string;
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
    tree = buildTree(text, events);
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
    text,
    tree.contents,
    options.maxAliasNodes,
    (node, path, message) => issueAt(node.start, path.join("."), message),
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

/** The first document's tree, and where a second one starts. */
interface Tree {
  contents: Node | undefined;
  documents: number;
  secondDocument?: number;
}

/**
 * Builds the syntax tree of the first document from js-yaml's events. Event
 * offsets are kept; what the events leave out is found in the text: the
 * quote before a quoted scalar, the `|` or `>` of a block scalar, and where
 * an empty scalar is (after its `:` or `-` and the spaces that follow, as
 * the `yaml` package placed it).
 */
function buildTree(text: string, events: ReturnType<YamlModule["parseEvents"]>): Tree {
  const { EVENT_ID, SCALAR_STYLE } = yaml!;
  const tree: Tree = { contents: undefined, documents: 0 };
  const stack: (SeqNode | MapNode)[] = [];
  /** Where the text read so far ends: scans for what events leave out start here. */
  let cursor = 0;
  let inFirst = false;
  const propsEnd = (event: { anchorEnd: number; tagEnd: number }) =>
    Math.max(event.anchorEnd, event.tagEnd);
  const anchorOf = (event: { anchorStart: number; anchorEnd: number }) =>
    event.anchorStart < 0 ? undefined : text.slice(event.anchorStart, event.anchorEnd);
  const add = (node: Node) => {
    const parent = stack.at(-1);
    if (!parent) tree.contents = node;
    else if (parent.kind === "seq") parent.items.push(node);
    else {
      const last = parent.pairs.at(-1);
      if (last && last.value === undefined) last.value = node;
      else parent.pairs.push({ key: node });
    }
  };
  for (const event of events) {
    if (event.type === EVENT_ID.DOCUMENT) {
      tree.documents++;
      if (tree.documents === 2) tree.secondDocument = documentStart(text, cursor);
      inFirst = tree.documents === 1;
      continue;
    }
    if (!inFirst) continue;
    switch (event.type) {
      case EVENT_ID.SCALAR: {
        let start: number;
        if (event.valueStart < 0) {
          start = emptyScalarStart(text, Math.max(cursor, propsEnd(event)), propsEnd(event) >= 0);
        } else if (
          event.style === SCALAR_STYLE.SINGLE_QUOTED || event.style === SCALAR_STYLE.DOUBLE_QUOTED
        ) {
          start = event.valueStart - 1;
        } else if (
          event.style === SCALAR_STYLE.LITERAL_BLOCK || event.style === SCALAR_STYLE.FOLDED_BLOCK
        ) {
          start = blockHeaderStart(text, Math.max(cursor, propsEnd(event)), event.valueStart);
        } else start = event.valueStart;
        add({ kind: "scalar", start, anchor: anchorOf(event), event });
        const quoted = event.style === SCALAR_STYLE.SINGLE_QUOTED ||
          event.style === SCALAR_STYLE.DOUBLE_QUOTED;
        cursor = Math.max(
          cursor,
          event.valueStart < 0 ? start : event.valueEnd + (quoted ? 1 : 0),
          propsEnd(event),
        );
        break;
      }
      case EVENT_ID.SEQUENCE:
      case EVENT_ID.MAPPING: {
        const node: SeqNode | MapNode = event.type === EVENT_ID.SEQUENCE
          ? { kind: "seq", start: event.start, anchor: anchorOf(event), items: [] }
          : { kind: "map", start: event.start, anchor: anchorOf(event), pairs: [] };
        add(node);
        stack.push(node);
        cursor = Math.max(cursor, propsEnd(event), event.start);
        break;
      }
      case EVENT_ID.ALIAS:
        add({
          kind: "alias",
          start: event.anchorStart - 1,
          name: text.slice(event.anchorStart, event.anchorEnd),
        });
        cursor = Math.max(cursor, event.anchorEnd);
        break;
      case EVENT_ID.POP:
        stack.pop();
        break;
    }
  }
  return tree;
}

/** Skips spaces, line breaks and comments from `from`; returns the offset after them. */
function skipBlank(text: string, from: number): number {
  let i = from;
  while (i < text.length) {
    const c = text[i];
    if (c === " " || c === "\t" || c === "\n" || c === "\r" || c === "\ufeff") i++;
    else if (c === "#") {
      while (i < text.length && text[i] !== "\n") i++;
    } else break;
  }
  return i;
}

/**
 * Where an empty scalar is: after the indicator that introduces it (`:`,
 * `-`, `?`, `,`) and the spaces on its line; with an anchor or tag, after
 * those and the spaces.
 */
function emptyScalarStart(text: string, from: number, afterProps: boolean): number {
  let i = from;
  if (!afterProps) {
    // A closing quote or bracket of what came before, then blanks, then the indicator.
    while (i < text.length && `"']}`.includes(text[i])) i++;
    i = skipBlank(text, i);
    if (i < text.length && ":-?,".includes(text[i])) i++;
  }
  while (i < text.length && (text[i] === " " || text[i] === "\t")) i++;
  return i;
}

/** The offset of a block scalar's `|` or `>` between `from` and its content at `content`. */
function blockHeaderStart(text: string, from: number, content: number): number {
  for (let i = from; i < content; i++) {
    const c = text[i];
    if (c === "|" || c === ">") return i;
    if (c === "#" && (i === 0 || /\s/.test(text[i - 1]))) {
      while (i < content && text[i] !== "\n") i++;
    }
  }
  return content;
}

/** Where the document after `from` begins: its `---`, or its first content. */
function documentStart(text: string, from: number): number {
  const i = skipBlank(text, from);
  const marker = text.indexOf("---", i);
  return marker >= 0 ? marker : i;
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

/**
 * The node each alias names: the last node with that anchor before it
 * (checkAliases() reports an alias without one).
 */
function anchorIndex(contents: Node | undefined): Map<AliasNode, Node> {
  const named = new Map<AliasNode, Node>();
  const anchors = new Map<string, Node>();
  const walk = (node: Node | undefined) => {
    if (!node) return;
    if (node.kind === "alias") {
      const target = anchors.get(node.name);
      if (target) named.set(node, target);
      return;
    }
    if (node.anchor !== undefined) anchors.set(node.anchor, node);
    if (node.kind === "seq") node.items.forEach(walk);
    if (node.kind === "map") {
      for (const pair of node.pairs) {
        walk(pair.key);
        walk(pair.value);
      }
    }
  };
  walk(contents);
  return named;
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

/**
 * Checks every alias on the syntax tree, in time linear in its size: each
 * must follow its anchor and not sit inside the node it names, and all of
 * them together may repeat at most `limit` nodes. Calls `report` for each
 * problem (once for the total).
 */
function checkAliases(
  text: string,
  contents: Node | undefined,
  limit: number,
  report: (node: Node, path: KeyPath, message: string) => void,
): void {
  /** The node each anchor names now (an anchor may be set again later). */
  const anchors = new Map<string, Node>();
  /** Each anchored node's size with its aliases expanded, capped past the limit. */
  const sizes = new Map<Node, number>();
  /** The nodes being walked: an alias to one of them would make the value contain itself. */
  const open = new Set<Node>();
  let repeated = 0;
  let exceeded = false;
  const sizeOf = (node: Node | undefined, path: KeyPath): number => {
    if (!node) return 0;
    if (node.kind === "alias") {
      const target = anchors.get(node.name);
      if (target === undefined) {
        report(node, path, `alias "*${node.name}" has no anchor "&${node.name}" before it`);
        return 1;
      }
      if (open.has(target)) {
        report(
          node,
          path,
          `alias "*${node.name}" is inside the node it names (a config cannot contain itself)`,
        );
        return 1;
      }
      const size = sizes.get(target) ?? 1;
      repeated += size;
      if (repeated > limit && !exceeded) {
        exceeded = true;
        report(
          node,
          path,
          `aliases repeat more than ${limit} nodes (an alias bomb?); ` +
            `write the values out, or use fewer aliases`,
        );
      }
      return size;
    }
    if (node.anchor !== undefined) anchors.set(node.anchor, node);
    open.add(node);
    let size = 1;
    if (node.kind === "seq") {
      node.items.forEach((item, index) => size += sizeOf(item, [...path, index]));
    } else if (node.kind === "map") {
      node.pairs.forEach((pair, index) => {
        const at = [...path, pair.key.kind === "scalar" ? keyName(text, pair.key) : index];
        size += sizeOf(pair.key, at) + sizeOf(pair.value, at);
      });
    }
    open.delete(node);
    size = Math.min(size, limit + 1);
    if (node.anchor !== undefined) sizes.set(node, size);
    return size;
  };
  sizeOf(contents, []);
}
