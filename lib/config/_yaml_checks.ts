/**
 * Checks on a config's syntax tree (`_yaml_tree.ts`) before js-yaml's
 * constructor builds its value, so that each problem names its key, line
 * and column: keys unique as JavaScript sees them ({@link checkUniqueKeys}),
 * scalars, keys and merge keys that can be built ({@link checkNodes}), and
 * aliases that are safe to expand ({@link checkAliases}).
 * Each walk visits every node once and does not follow aliases: linear in
 * the text's size. Private to `lib/config/`.
 *
 * @module
 */

import { implicitProblem } from "./_yaml11.ts";
import type { MapNode, Node, ScalarNode, ScalarReader } from "./_yaml_tree.ts";
import type { KeyPath } from "./schema.ts";

/** How `_yaml.ts` reads nodes, for the checks. */
export interface NodeReader extends ScalarReader {
  /** A scalar's value; throws js-yaml's error when its tag cannot make one (`!!float x`). */
  value(node: ScalarNode): unknown;
  /** A node as written, for messages: `on`, `'true'`, `*k`. */
  written(node: Node): string;
  /** An untagged plain scalar's text, which YAML 1.1's implicit types read; else undefined. */
  plainText(node: ScalarNode): string | undefined;
  /** The 1-based line a node is on. */
  line(node: Node): number;
}

/** Where a check's problems go: the node, its path, the message. */
export type NodeReport = (node: Node, path: KeyPath, message: string) => void;

/**
 * Reports the second of two keys in one map that are one key once built:
 * js-yaml's maps are JavaScript objects, whose keys are strings, so `on`
 * and `'true'` (both `"true"`), `1` and `'1'`, `~` and `null`, `a` and an
 * alias `*k` of `a` are the same key; in a `!!set` (a JavaScript `Set`)
 * only the same value is. Merge keys (`<<`) may repeat. Linear: each map's
 * keys go into a `Map` by what they become.
 */
export function checkUniqueKeys(
  contents: Node | undefined,
  reader: NodeReader,
  report: NodeReport,
): void {
  const walk = (node: Node | undefined, path: KeyPath): void => {
    if (!node || node.kind === "scalar" || node.kind === "alias") return;
    if (node.kind === "seq") return node.items.forEach((item, i) => walk(item, [...path, i]));
    const seen = new Map<string, Node>();
    node.pairs.forEach((pair, i) => {
      const name = reader.keyName(pair.key);
      const at = [...path, name ?? i];
      const key = reader.resolve(pair.key);
      if (name !== undefined && key?.kind === "scalar" && !reader.isMerge(pair.key)) {
        const id = keyId(node, key, reader);
        const first = id === undefined ? undefined : seen.get(id);
        if (first) report(pair.key, at, duplicateMessage(first, pair.key, name, reader));
        else if (id !== undefined) seen.set(id, pair.key);
      }
      walk(pair.key, at);
      walk(pair.value, at);
    });
  };
  walk(contents, []);
}

/** What a key becomes in `map`: an object's string key, or a `Set`'s value; undefined if unbuildable. */
function keyId(map: MapNode, key: ScalarNode, reader: NodeReader): string | undefined {
  let value: unknown;
  try {
    value = reader.value(key);
  } catch {
    return undefined; // checkNodes() reports it.
  }
  if (!map.set) return String(value);
  // SameValueZero: NaN is NaN, 0 is -0, and two dates are two values.
  return value instanceof Object ? undefined : `${typeof value}:${String(value)}`;
}

/** The message for a repeated key, naming the first one's line. */
function duplicateMessage(first: Node, second: Node, name: string, reader: NodeReader): string {
  const [a, b] = [reader.written(first), reader.written(second)];
  const line = reader.line(first);
  return a === b
    ? `Map keys must be unique: ${JSON.stringify(b)} is also on line ${line}`
    : `Map keys must be unique: ${JSON.stringify(b)} and ${JSON.stringify(a)} on line ${line} ` +
      `are both the key ${JSON.stringify(name)}`;
}

/**
 * Reports what js-yaml's constructor would refuse, at its key: a tagged
 * scalar its tag cannot read (`!!float x`, `!foo 1`), a plain scalar PyYAML
 * refuses (`2001-13-01`, `0x_`: see `implicitProblem()`), a key that is a
 * list or a map, and a merge key (`<<`) whose value is not a map or a list
 * of maps.
 */
export function checkNodes(
  contents: Node | undefined,
  reader: NodeReader,
  report: NodeReport,
): void {
  const walk = (node: Node | undefined, path: KeyPath): void => {
    if (!node || node.kind === "alias") return;
    if (node.kind === "scalar") return checkScalar(node, path, reader, report);
    if (node.kind === "seq") return node.items.forEach((item, i) => walk(item, [...path, i]));
    node.pairs.forEach((pair, i) => {
      const at = [...path, reader.keyName(pair.key) ?? i];
      const key = reader.resolve(pair.key);
      if (key?.kind === "seq" || key?.kind === "map") {
        report(
          pair.key,
          at,
          `expected a key that is a word or a quoted string, got a ${
            key.kind === "seq" ? "list" : "map"
          }`,
        );
      }
      if (reader.isMerge(pair.key)) checkMerge(pair.value, pair.key, at, reader, report);
      walk(pair.key, at);
      walk(pair.value, at);
    });
  };
  walk(contents, []);
}

/** Reports a scalar js-yaml's constructor or PyYAML would refuse. */
function checkScalar(node: ScalarNode, path: KeyPath, reader: NodeReader, report: NodeReport) {
  if (node.event.tagStart >= 0) {
    try {
      reader.value(node);
    } catch (error) {
      const reason = (error as { reason?: unknown } | null)?.reason;
      report(node, path, typeof reason === "string" ? reason : String(error));
    }
    return;
  }
  const text = reader.plainText(node);
  const problem = text === undefined ? undefined : implicitProblem(text);
  if (problem) report(node, path, problem);
}

/** Reports a merge key's value that is not a map or a list of maps. */
function checkMerge(
  value: Node | undefined,
  key: Node,
  path: KeyPath,
  reader: NodeReader,
  report: NodeReport,
): void {
  const source = reader.resolve(value);
  if (source?.kind === "map" || source?.kind === "alias") return; // An unknown alias: checkAliases().
  const items = source?.kind === "seq" ? source.items : [source];
  for (const item of items) {
    const resolved = reader.resolve(item);
    if (resolved?.kind === "map" || resolved?.kind === "alias") continue;
    const written = resolved?.kind === "scalar" ? reader.written(resolved) : "";
    const found = resolved?.kind === "seq"
      ? "a list"
      : written === ""
      ? "nothing"
      : JSON.stringify(written);
    report(
      item ?? key,
      path,
      `cannot merge: a merge key (<<) takes a map or a list of maps, got ${found}` +
        (source?.kind === "seq" ? " in its list" : ""),
    );
  }
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
  keyName: (key: Node) => string | undefined,
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
        const at = [...path, keyName(pair.key) ?? index];
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
