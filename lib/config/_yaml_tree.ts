/**
 * The syntax tree of a config's first YAML document, built from js-yaml's
 * events (`parseEvents`: a flat list with source offsets): nodes with where
 * their values start, for positions, source texts, unique keys and the alias
 * checks of `_yaml.ts`. Private to `lib/config/`.
 *
 * @module
 */

import type { YamlModule, YamlScalarEvent } from "../deps.ts";
import type { KeyPath } from "./schema.ts";

/** A node of the syntax tree; `start` is the offset of its value (after any anchor or tag). */
export type Node = ScalarNode | SeqNode | MapNode | AliasNode;

export interface ScalarNode {
  readonly kind: "scalar";
  readonly start: number;
  readonly anchor?: string;
  readonly event: YamlScalarEvent;
}

export interface SeqNode {
  readonly kind: "seq";
  readonly start: number;
  readonly anchor?: string;
  readonly items: Node[];
}

export interface MapNode {
  readonly kind: "map";
  readonly start: number;
  readonly anchor?: string;
  readonly pairs: { key: Node; value?: Node }[];
}

export interface AliasNode {
  readonly kind: "alias";
  readonly start: number;
  /** The anchor's name, without `*`. */
  readonly name: string;
}

/** The first document's tree, and where a second one starts. */
export interface Tree {
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
 * Checks every alias on the syntax tree, in time linear in its size: each
 * must follow its anchor and not sit inside the node it names, and all of
 * them together may repeat at most `limit` nodes. Calls `report` for each
 * problem (once for the total).
 */
export function checkAliases(
  contents: Node | undefined,
  limit: number,
  report: (node: Node, path: KeyPath, message: string) => void,
  keyName: (key: ScalarNode) => string,
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
        const at = [...path, pair.key.kind === "scalar" ? keyName(pair.key) : index];
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
