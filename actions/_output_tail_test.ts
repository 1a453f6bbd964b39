import assert from "node:assert/strict";
import { OutputTail } from "./_output_tail.ts";

Deno.test("`OutputTail` keeps the last lines across streams and chunks", () => {
  const table: {
    name: string;
    writes: [string, string][];
    maxLines?: number;
    maxLineChars?: number;
    lines: string[];
    total: number;
  }[] = [
    { name: "nothing", writes: [], lines: [], total: 0 },
    { name: "one line", writes: [["stdout", "hi\n"]], lines: ["hi"], total: 1 },
    { name: "no final newline", writes: [["stdout", "a\nb"]], lines: ["a", "b"], total: 2 },
    { name: "empty lines", writes: [["stdout", "\n\n"]], lines: ["", ""], total: 2 },
    {
      name: "CRLF",
      writes: [["stdout", "a\r\nb\r"], ["stdout", "\n"]],
      lines: ["a", "b"],
      total: 2,
    },
    {
      name: "a line split over chunks",
      writes: [["stdout", "hel"], ["stdout", "lo\nwor"], ["stdout", "ld\n"]],
      lines: ["hello", "world"],
      total: 2,
    },
    {
      name: "streams do not splice",
      writes: [["stdout", "out "], ["stderr", "err\n"], ["stdout", "line\n"]],
      lines: ["err", "out line"],
      total: 2,
    },
    {
      name: "only the last lines",
      writes: [["stdout", "1\n2\n3\n4\n5\n"]],
      maxLines: 2,
      lines: ["4", "5"],
      total: 5,
    },
    {
      name: "long lines are cut",
      writes: [["stdout", "abcdef"], ["stdout", "ghij\nabcd\nabcde\r\n"]],
      maxLineChars: 4,
      lines: ["abcd…", "abcd", "abcd…"],
      total: 3,
    },
  ];
  for (const { name, writes, maxLines, maxLineChars, lines, total } of table) {
    const tail = new OutputTail({ maxLines, maxLineChars });
    for (const [stream, text] of writes) tail.write(stream, text);
    tail.end();
    assert.deepEqual(tail.lines, lines, name);
    assert.equal(tail.total, total, name);
  }
});
