/**
 * The syntax tree of a config's first YAML document, built from js-yaml's
 * events (`parseEvents`: a flat list with source offsets): nodes with where
 * their values start, for positions, source texts, unique keys and the alias
 * checks of `_yaml.ts`; and the walks over it that follow aliases and merge
 * keys (`<<`) as js-yaml's constructor does. Private to `lib/config/`.
 *
 * @module
 */

import type { YamlModule, YamlScalarEvent } from "../deps.ts";

type YamlDocumentEvent = Extract<
  ReturnType<YamlModule["parseEvents"]>[number],
  { directives: unknown }
>;
import type { KeyPath } from "./schema.ts";

/**
 * A node of the syntax tree. `start` is the offset of its value (after any
 * anchor or tag); `mark` the offset js-yaml's constructor puts in an error
 * about it (its tag, else its anchor, else its value; -1 for none).
 */
export type Node = ScalarNode | SeqNode | MapNode | AliasNode;

export interface ScalarNode {
  readonly kind: "scalar";
  readonly start: number;
  readonly mark: number;
  readonly anchor?: string;
  readonly event: YamlScalarEvent;
}

export interface SeqNode {
  readonly kind: "seq";
  readonly start: number;
  readonly mark: number;
  readonly anchor?: string;
  readonly items: Node[];
}

export interface MapNode {
  readonly kind: "map";
  readonly start: number;
  readonly mark: number;
  readonly anchor?: string;
  /** Whether it is tagged `!!set` (its keys are a JavaScript `Set`'s, not an object's). */
  readonly set: boolean;
  readonly pairs: Pair[];
}

export interface AliasNode {
  readonly kind: "alias";
  readonly start: number;
  readonly mark: number;
  /** The anchor's name, without `*`. */
  readonly name: string;
}

/** A key and its value in a map. */
export interface Pair {
  key: Node;
  value?: Node;
}

/** How the config reads scalars (`_yaml.ts`), for the walks here. */
export interface ScalarReader {
  /** A key as the config's objects name it (`on` → `"true"`, aliases followed); undefined when it is not a scalar. */
  keyName(key: Node): string | undefined;
  /** Whether a key is a merge key (`<<`). */
  isMerge(key: Node): boolean;
  /** The node an alias names (the node itself when it is no alias or names nothing). */
  resolve(node: Node | undefined): Node | undefined;
}

/** The first document's tree, its directives (`%TAG`), and where a second one starts. */
export interface Tree {
  contents: Node | undefined;
  documents: number;
  directives: YamlDocumentEvent["directives"];
  secondDocument?: number;
}

/**
 * Builds the syntax tree of the first document from js-yaml's events. Event
 * offsets are kept; what the events leave out is found in the text: the
 * quote before a quoted scalar, the `|` or `>` of a block scalar, and where
 * an empty scalar is (after its `:` or `-` and the spaces that follow, as
 * the `yaml` package placed it).
 *
 * @param yaml js-yaml, loaded.
 * @param text The config's text.
 * @param events js-yaml's events for `text`.
 */
export function buildTree(
  yaml: YamlModule,
  text: string,
  events: ReturnType<YamlModule["parseEvents"]>,
): Tree {
  const { EVENT_ID, SCALAR_STYLE } = yaml;
  const tree: Tree = { contents: undefined, documents: 0, directives: [] };
  const stack: (SeqNode | MapNode)[] = [];
  /** Where the text read so far ends: scans for what events leave out start here. */
  let cursor = 0;
  let inFirst = false;
  const propsEnd = (event: { anchorEnd: number; tagEnd: number }) =>
    Math.max(event.anchorEnd, event.tagEnd);
  const anchorOf = (event: { anchorStart: number; anchorEnd: number }) =>
    event.anchorStart < 0 ? undefined : text.slice(event.anchorStart, event.anchorEnd);
  /** js-yaml's `eventPosition()`: where its constructor's errors about a node point. */
  const markOf = (
    event: { tagStart: number; anchorStart: number; valueStart?: number; start?: number },
  ) =>
    event.tagStart >= 0
      ? event.tagStart
      : event.anchorStart >= 0
      ? event.anchorStart
      : event.valueStart ?? event.start ?? -1;
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
      if (inFirst) tree.directives = event.directives;
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
        add({ kind: "scalar", start, mark: markOf(event), anchor: anchorOf(event), event });
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
        const props = { start: event.start, mark: markOf(event), anchor: anchorOf(event) };
        const tag = event.tagStart < 0 ? "" : text.slice(event.tagStart, event.tagEnd);
        const node: SeqNode | MapNode = event.type === EVENT_ID.SEQUENCE
          ? { kind: "seq", ...props, items: [] }
          : { kind: "map", ...props, set: SET_TAGS.includes(tag), pairs: [] };
        add(node);
        stack.push(node);
        cursor = Math.max(cursor, propsEnd(event), event.start);
        break;
      }
      case EVENT_ID.ALIAS:
        add({
          kind: "alias",
          start: event.anchorStart - 1,
          mark: event.anchorStart,
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

/** How a `!!set` map is tagged. */
const SET_TAGS = ["!!set", "!<tag:yaml.org,2002:set>"];

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

/**
 * The node each alias names: the last node with that anchor before it
 * (checkAliases() reports an alias without one).
 */
export function anchorIndex(contents: Node | undefined): Map<AliasNode, Node> {
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

/**
 * The pair of `map` whose key is `name`, as js-yaml's constructor builds the
 * map: its own keys first, then each merge key's maps (`<<: *a`,
 * `<<: [*a, *b]`), in order, the first that has it winning, their own merges
 * followed in turn. Each map's own keys are indexed once (`index`), so a
 * lookup does not walk a long map again.
 */
export function findPair(
  map: MapNode,
  name: string,
  reader: ScalarReader,
  index: WeakMap<MapNode, PairIndex>,
): Pair | undefined {
  const seen = new Set<MapNode>();
  const find = (node: MapNode): Pair | undefined => {
    if (seen.has(node)) return undefined;
    seen.add(node);
    let indexed = index.get(node);
    if (!indexed) {
      indexed = { own: new Map(), merges: [] };
      for (const pair of node.pairs) {
        const key = reader.isMerge(pair.key) ? undefined : reader.keyName(pair.key);
        if (key !== undefined) indexed.own.set(key, pair);
        else if (reader.isMerge(pair.key)) indexed.merges.push(pair);
      }
      index.set(node, indexed);
    }
    const pair = indexed.own.get(name);
    if (pair) return pair;
    for (const merge of indexed.merges) {
      const source = reader.resolve(merge.value);
      const sources = source?.kind === "seq" ? source.items.map(reader.resolve) : [source];
      for (const item of sources) {
        const found = item?.kind === "map" ? find(item) : undefined;
        if (found) return found;
      }
    }
    return undefined;
  };
  return find(map);
}

/** A map's own pairs by key name, and its merge keys' pairs, in order (see {@link findPair}). */
export interface PairIndex {
  readonly own: Map<string, Pair>;
  readonly merges: Pair[];
}

/**
 * The path of the node whose {@link Node.mark} is `offset` (a key's pair for
 * a key), for an error js-yaml's constructor raised there; undefined when
 * no node has that mark. Aliases are not followed: each node is visited once.
 */
export function pathAt(
  contents: Node | undefined,
  offset: number,
  reader: ScalarReader,
): KeyPath | undefined {
  const walk = (node: Node | undefined, path: KeyPath): KeyPath | undefined => {
    if (!node) return undefined;
    if (node.mark === offset) return path;
    if (node.kind === "seq") {
      for (const [i, item] of node.items.entries()) {
        const found = walk(item, [...path, i]);
        if (found) return found;
      }
    } else if (node.kind === "map") {
      for (const [i, pair] of node.pairs.entries()) {
        const at = [...path, reader.keyName(pair.key) ?? i];
        if (pair.key.mark === offset) return at;
        const found = walk(pair.key, at) ?? walk(pair.value, at);
        if (found) return found;
      }
    }
    return undefined;
  };
  return offset < 0 ? undefined : walk(contents, []);
}
