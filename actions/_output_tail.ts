/**
 * Keeps the last lines a child process wrote, across its stdout and stderr,
 * in bounded memory: at most `maxLines` lines of at most `maxLineChars`
 * characters each, however much the child writes. Each stream has its own
 * partial line, so interleaved chunks never splice two streams' lines.
 *
 * @module
 */

/** A stream's line so far; `cut` once it outgrew the limit. */
interface PendingLine {
  text: string;
  cut: boolean;
}

/** Options for {@link OutputTail}. */
export interface OutputTailOptions {
  /** How many of the last lines to keep. Default 10. */
  maxLines?: number;
  /** Longer lines are cut to this many characters and marked with `…`. Default 1000. */
  maxLineChars?: number;
}

/**
 * The last lines of a process's output.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { OutputTail } from "./_output_tail.ts";
 * const tail = new OutputTail({ maxLines: 2 });
 * tail.write("stdout", "one\ntwo\nthr");
 * tail.write("stderr", "oops\n");
 * tail.write("stdout", "ee\n");
 * assert.deepEqual(tail.lines, ["oops", "three"]);
 * assert.equal(tail.total, 4);
 * ```
 */
export class OutputTail {
  readonly #maxLines: number;
  readonly #maxLineChars: number;
  readonly #lines: string[] = [];
  readonly #partial = new Map<string, PendingLine>();
  #total = 0;

  /** Creates an empty tail. */
  constructor(options: OutputTailOptions = {}) {
    this.#maxLines = options.maxLines ?? 10;
    this.#maxLineChars = options.maxLineChars ?? 1000;
  }

  /** The kept lines, oldest first, without line ends. */
  get lines(): readonly string[] {
    return this.#lines;
  }

  /** How many lines were written in all (kept or not). */
  get total(): number {
    return this.#total;
  }

  /** Adds decoded text from one stream (`stdout`, `stderr`). */
  write(stream: string, text: string): void {
    const partial = this.#partial.get(stream) ?? { text: "", cut: false };
    const pieces = text.split("\n");
    const last = pieces.pop() ?? "";
    for (const piece of pieces) {
      this.#append(partial, piece);
      this.#push(partial);
    }
    this.#append(partial, last);
    this.#partial.set(stream, partial);
  }

  /** Ends every stream: a last line without a line end is kept too. */
  end(): void {
    for (const partial of this.#partial.values()) {
      if (partial.text !== "" || partial.cut) this.#push(partial);
    }
    this.#partial.clear();
  }

  #append(partial: PendingLine, piece: string): void {
    if (partial.cut) return;
    const text = partial.text + piece;
    // One character of slack for the "\r" of a "\r\n" line end.
    if (text.length > this.#maxLineChars + 1) {
      partial.text = `${text.slice(0, this.#maxLineChars)}…`;
      partial.cut = true;
    } else {
      partial.text = text;
    }
  }

  #push(partial: PendingLine): void {
    let line = partial.text;
    if (!partial.cut) {
      if (line.endsWith("\r")) line = line.slice(0, -1);
      if (line.length > this.#maxLineChars) line = `${line.slice(0, this.#maxLineChars)}…`;
    }
    this.#lines.push(line);
    if (this.#lines.length > this.#maxLines) this.#lines.shift();
    this.#total++;
    partial.text = "";
    partial.cut = false;
  }
}
