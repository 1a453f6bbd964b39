/**
 * The YAML side of config loading: parses a config's text as YAML 1.1 (as
 * helper's PyYAML does), bounds its aliases on the syntax tree, and answers
 * the schema's questions about the file: where a key or value is (line,
 * column), and what a scalar's source text was (`0755`, not 493).
 *
 * The `yaml` package is loaded by the first {@link parseYaml} (about 50 ms:
 * see `lib/deps.ts`); nothing here loads it before.
 *
 * @module
 */

import { loadYaml, type YamlModule } from "../deps.ts";
import type { Document, Scalar, YamlNode } from "../deps.ts";
import type { ConfigIssue } from "../core/errors.ts";
import type { ConfigSource, KeyPath, WrittenScalar } from "./schema.ts";

/** The yaml package, once {@link parseYaml} has loaded it. */
let yaml: YamlModule | undefined;

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
  const { LineCounter, parseDocument } = yaml ??= await loadYaml();
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter,
    version: "1.1",
    uniqueKeys: true,
    prettyErrors: false,
  });
  const source = treeSource(doc, (offset) => {
    if (offset === undefined) return { line: 0, column: 0 };
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  });
  const issues: ConfigIssue[] = [];
  const done = (root?: unknown): ParsedYaml => ({ root, source, issues });
  const issueAt = (offset: number | undefined, key: string, message: string) => {
    const pos = offset === undefined ? { line: 0, col: 0 } : lineCounter.linePos(offset);
    issues.push({ file: name, line: pos.line, column: pos.col, key, message });
  };
  for (const error of [...doc.errors, ...doc.warnings]) {
    const pos = error.linePos?.[0] ?? lineCounter.linePos(error.pos[0]);
    issues.push({
      file: name,
      line: pos.line,
      column: pos.col,
      key: "",
      message: firstLine(error.message),
    });
  }
  if (issues.length > 0) return done();
  if (!options.allowEmpty && isEmptyDocument(doc)) {
    issueAt(undefined, "", "is empty (no sections, only whitespace or comments)");
    return done();
  }
  checkAliases(
    doc,
    options.maxAliasNodes,
    (node, path, message) => issueAt(node.range?.[0], path.join("."), message),
  );
  if (issues.length > 0) return done();
  try {
    // Aliases share one value: the tree is as large as the file (checked above).
    return done(doc.toJS({ maxAliasCount: -1 }));
  } catch (error) {
    issueAt(undefined, "", error instanceof Error ? firstLine(error.message) : String(error));
    return done();
  }
}

/** The {@link ConfigSource} of a parsed document; `at` turns a byte offset into line and column. */
function treeSource(
  doc: Document,
  at: (offset: number | undefined) => { line: number; column: number },
): ConfigSource {
  const { isScalar, isSeq } = yaml!;
  return {
    position: (path, where) => at(locate(doc, path, where)),
    scalar(path): WrittenScalar | undefined {
      const node = nodeAt(doc, path);
      return isScalar(node) ? { text: scalarText(node), plain: node.type === "PLAIN" } : undefined;
    },
    words(path): string[] | undefined {
      const node = nodeAt(doc, path);
      if (node === undefined || node === null) return [];
      if (isScalar(node)) return node.value === null ? [] : [scalarText(node)];
      if (!isSeq(node)) return undefined;
      const words: string[] = [];
      for (const item of node.items) {
        const word = resolveAlias(doc, item);
        if (!isScalar(word)) return undefined;
        words.push(scalarText(word));
      }
      return words;
    },
  };
}

/**
 * A scalar as the text written: a plain scalar's source (`0755`, `yes`,
 * `12:30`, `~`; lines folded as YAML folds them), a quoted or block scalar's
 * string value. A scalar with an explicit tag (`!!int 0755`) gives its value.
 */
function scalarText(node: Scalar): string {
  if (typeof node.value === "string") return node.value;
  if (node.type === "PLAIN" && node.tag === undefined && typeof node.source === "string") {
    return node.source;
  }
  return String(node.value);
}

/**
 * Byte offset of the node at `path` (its key or its value), or the nearest
 * parent's. Aliases on the way are followed to the node they name.
 */
function locate(doc: Document, path: KeyPath, at: "key" | "value"): number | undefined {
  const { isMap, isScalar, isSeq } = yaml!;
  let node: unknown = doc.contents;
  let offset = (node as YamlNode | null)?.range?.[0];
  for (const [i, segment] of path.entries()) {
    node = resolveAlias(doc, node);
    if (isMap(node)) {
      const pair = node.items.find((p) =>
        String(isScalar(p.key) ? p.key.value : p.key) === String(segment)
      );
      if (!pair) break;
      const keyOffset = (pair.key as YamlNode | null)?.range?.[0];
      const valueOffset = (pair.value as YamlNode | null)?.range?.[0];
      offset = at === "key" && i === path.length - 1 ? keyOffset : valueOffset ?? keyOffset;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === "number") {
      const item = node.items[segment] as YamlNode | undefined;
      if (!item) break;
      offset = item.range?.[0] ?? offset;
      node = item;
    } else break;
  }
  return offset;
}

/** The syntax node at `path`, aliases followed; undefined when there is none. */
function nodeAt(doc: Document, path: KeyPath): unknown {
  const { isMap, isScalar, isSeq } = yaml!;
  let node: unknown = resolveAlias(doc, doc.contents);
  for (const segment of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) =>
        String(isScalar(p.key) ? p.key.value : p.key) === String(segment)
      );
      if (!pair) return undefined;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === "number") node = node.items[segment];
    else return undefined;
    node = resolveAlias(doc, node);
  }
  return node;
}

/** The node an alias names (checkAliases() made sure there is one), or `node` itself. */
function resolveAlias(doc: Document, node: unknown): unknown {
  return yaml!.isAlias(node) ? node.resolve(doc) : node;
}

/** Whether a document has no content: empty, whitespace, comments, or a bare null. */
function isEmptyDocument(doc: Document): boolean {
  const contents = doc.contents;
  return contents === null || (yaml!.isScalar(contents) && contents.value === null);
}

/**
 * Checks every alias on the syntax tree, in time linear in its size: each
 * must follow its anchor and not sit inside the node it names, and all of
 * them together may repeat at most `limit` nodes. Calls `report` for each
 * problem (once for the total).
 */
function checkAliases(
  doc: Document,
  limit: number,
  report: (node: YamlNode, path: KeyPath, message: string) => void,
): void {
  const { isAlias, isCollection, isMap, isNode, isPair, isScalar } = yaml!;
  /** The node each anchor names now (an anchor may be set again later). */
  const anchors = new Map<string, unknown>();
  /** Each anchored node's size with its aliases expanded, capped past the limit. */
  const sizes = new Map<unknown, number>();
  /** The nodes being walked: an alias to one of them would make the value contain itself. */
  const open = new Set<unknown>();
  let repeated = 0;
  let exceeded = false;
  const sizeOf = (node: unknown, path: KeyPath): number => {
    if (!isNode(node)) return 0;
    if (isAlias(node)) {
      const target = anchors.get(node.source);
      if (target === undefined) {
        report(node, path, `alias "*${node.source}" has no anchor "&${node.source}" before it`);
        return 1;
      }
      if (open.has(target)) {
        report(
          node,
          path,
          `alias "*${node.source}" is inside the node it names (a config cannot contain itself)`,
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
    if (node.anchor) anchors.set(node.anchor, node);
    open.add(node);
    let size = 1;
    if (isCollection(node)) {
      node.items.forEach((item, index) => {
        if (isPair(item)) {
          // A merge key (`<<`) is a symbol to the yaml package: name it as written.
          const key = isScalar(item.key)
            ? (typeof item.key.value === "symbol" ? "<<" : String(item.key.value))
            : index;
          const at = isMap(node) ? [...path, key] : [...path, index];
          size += sizeOf(item.key, at) + sizeOf(item.value, at);
        } else size += sizeOf(item, [...path, index]);
      });
    }
    open.delete(node);
    size = Math.min(size, limit + 1);
    if (node.anchor) sizes.set(node, size);
    return size;
  };
  sizeOf(doc.contents, []);
}

/** The first line of a yaml error, without the position it repeats. */
function firstLine(message: string): string {
  return message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "");
}
