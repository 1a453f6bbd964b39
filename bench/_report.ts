/**
 * The results: sections of rows, one column per subject, a target column for
 * flagstaff; written as markdown (`bench/results/latest.md`) and JSON
 * (`bench/results/latest.json`, with the raw figures behind each section).
 *
 * @module
 */

import { SUBJECT_IDS, type SubjectId, SUBJECTS } from "./_subjects.ts";

/** One figure for one subject. */
export interface Cell {
  /** As shown in the table. */
  text: string;
  /** The number the target is checked on. */
  value?: number;
  /** Whether flagstaff meets the row's target (flagstaff's cell only). */
  met?: boolean;
}

/** One measure across subjects. */
export interface Row {
  /** What is measured. */
  measure: string;
  /** A cell per subject that this measure applies to. */
  cells: Partial<Record<SubjectId, Cell>>;
  /** flagstaff's target, as text. */
  target?: string;
}

/** A table with its notes and raw data. */
export interface Section {
  /** Heading. */
  title: string;
  /** Rows, in order. */
  rows: Row[];
  /** Lines printed under the table. */
  notes: string[];
  /** Everything measured, for the JSON. */
  raw?: unknown;
}

/** The whole run. */
export interface Results {
  /** Machine, OS, versions. */
  machine: Record<string, string | number>;
  /** ISO time the run started. */
  startedAt: string;
  /** Seconds it took. */
  durationS: number;
  /** `full` or `quick`. */
  mode: string;
  /** Facts about the method (clock, readiness). */
  method: Record<string, string | number>;
  /** The tables. */
  sections: Section[];
}

/** Milliseconds, with precision that suits the size. */
export function ms(value: number): string {
  if (!Number.isFinite(value)) return "n/a";
  const abs = Math.abs(value);
  return `${value.toFixed(abs < 1 ? 3 : abs < 100 ? 2 : 1)} ms`;
}

/** A cell checked against a maximum. */
export function atMost(text: string, value: number, limit: number): Cell {
  return { text, value, met: Number.isFinite(value) && value <= limit };
}

/** A plain cell. */
export function cell(text: string, value?: number): Cell {
  return { text, value };
}

function escape(text: string): string {
  return text.replaceAll("|", "\\|");
}

/** The markdown report. */
export function toMarkdown(results: Results): string {
  const out: string[] = [
    `# flagstaff benchmarks (${results.mode} run)`,
    "",
    ...Object.entries(results.machine).map(([k, v]) => `- ${k}: ${v}`),
    `- run: ${results.startedAt}, ${results.durationS.toFixed(0)} s`,
    ...Object.entries(results.method).map(([k, v]) => `- ${k}: ${v}`),
    "",
    "✓/✗: flagstaff against its target. Subjects: flagstaff (`deno run`, the documented " +
    "permissions); a bash `trap` loop (`bench/_trap_loop.sh`); a naive Deno loop " +
    "(`bench/_naive_loop.ts`).",
  ];
  for (const section of results.sections) {
    out.push("", `## ${section.title}`, "");
    out.push(
      `| measure | ${SUBJECT_IDS.map((id) => SUBJECTS[id]).join(" | ")} | flagstaff target |`,
      `|---|${SUBJECT_IDS.map(() => "---").join("|")}|---|`,
    );
    for (const row of section.rows) {
      const cells = SUBJECT_IDS.map((id) => {
        const c = row.cells[id];
        if (!c) return "";
        return escape(c.met === undefined ? c.text : `${c.text} ${c.met ? "✓" : "✗"}`);
      });
      out.push(`| ${escape(row.measure)} | ${cells.join(" | ")} | ${escape(row.target ?? "")} |`);
    }
    if (section.notes.length) out.push("", ...section.notes.map((note) => `- ${note}`));
  }
  const missed = results.sections.flatMap((s) =>
    s.rows.filter((r) => r.cells.flagstaff?.met === false).map((r) => `${s.title}: ${r.measure}`)
  );
  out.push("", "## Targets missed", "");
  out.push(...(missed.length ? missed.map((m) => `- ${m}`) : ["- none"]));
  return out.join("\n") + "\n";
}
