/**
 * Process-level benchmarks (`deno task bench`): real `flagstaff run`
 * processes, timed from outside. Writes a markdown table and JSON under
 * `bench/results/`. Figures, not pass/fail: nothing here fails the tests.
 *
 * Measured now: start-up (exec to the controller's first tick) and the drift
 * of the wake schedule.
 */

import { PERMISSION_FLAGS } from "../lib/permissions.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const RESULTS = `${ROOT}bench/results`;

interface Figure {
  name: string;
  value: number;
  unit: string;
  note: string;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function tempConfig(dir: string, controller: string, wakeS: number): Promise<string> {
  await Deno.writeTextFile(`${dir}/c.ts`, controller);
  const file = `${dir}/app.yml`;
  await Deno.writeTextFile(
    file,
    `Application:\n  wake_interval: ${wakeS}\n  controller: ./c.ts\nLogging:\n  root: {level: WARNING}\n`,
  );
  return file;
}

/** Spawns flagstaff and resolves at each stdout line, in order. */
async function* lines(child: Deno.ChildProcess): AsyncGenerator<string> {
  let buffer = "";
  for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
    buffer += chunk;
    let at;
    while ((at = buffer.indexOf("\n")) >= 0) {
      yield buffer.slice(0, at);
      buffer = buffer.slice(at + 1);
    }
  }
}

function spawn(config: string): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", ...PERMISSION_FLAGS, `${ROOT}main.ts`, "run", "-c", config],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
}

async function startup(dir: string, runs: number): Promise<Figure[]> {
  const config = await tempConfig(
    dir,
    `export default { process() { console.log("tick"); } };\n`,
    60,
  );
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    const child = spawn(config);
    for await (const line of lines(child)) {
      if (line === "tick") break;
    }
    times.push(performance.now() - started);
    child.kill("SIGTERM");
    await child.status;
  }
  return [{
    name: "start-up to first tick (deno run, warm cache, config file)",
    value: median(times),
    unit: "ms",
    note: `median of ${runs}; min ${Math.min(...times).toFixed(1)}, max ${
      Math.max(...times).toFixed(1)
    }`,
  }];
}

async function drift(
  dir: string,
  wakeS: number,
  busyShare: number,
  ticks: number,
): Promise<Figure[]> {
  const busyMs = wakeS * 1000 * busyShare;
  const controller = `export default {
  async process() {
    console.log(String(performance.timeOrigin + performance.now()));
    await new Promise((r) => setTimeout(r, ${busyMs}));
  },
};\n`;
  const config = await tempConfig(dir, controller, wakeS);
  const child = spawn(config);
  const stamps: number[] = [];
  for await (const line of lines(child)) {
    stamps.push(Number(line));
    if (stamps.length === ticks) break;
  }
  child.kill("SIGTERM");
  await child.status;
  const periods = stamps.slice(1).map((t, i) => t - stamps[i]);
  const ideal = stamps[0] + (ticks - 1) * wakeS * 1000;
  const mean = periods.reduce((a, b) => a + b, 0) / periods.length;
  const jitter = Math.sqrt(periods.reduce((a, p) => a + (p - mean) ** 2, 0) / periods.length);
  const label = `${ticks} ticks at ${wakeS} s, process() ${busyShare * 100} %`;
  return [
    {
      name: `drift of the last tick, ${label}`,
      value: stamps.at(-1)! - ideal,
      unit: "ms",
      note: "against t0 + n × interval",
    },
    {
      name: `period jitter (stddev), ${label}`,
      value: jitter,
      unit: "ms",
      note: `mean period ${mean.toFixed(2)} ms`,
    },
  ];
}

if (import.meta.main) {
  const quick = Deno.args.includes("--quick");
  const dir = await Deno.makeTempDir({ prefix: "flagstaff_bench_" });
  try {
    const figures = [
      ...await startup(dir, quick ? 3 : 15),
      ...await drift(dir, 0.1, 0, quick ? 10 : 30),
      ...await drift(dir, 0.1, 0.3, quick ? 10 : 30),
      ...(quick ? [] : [...await drift(dir, 1, 0, 30), ...await drift(dir, 1, 0.3, 30)]),
    ];
    const machine =
      `${Deno.build.target}, ${navigator.hardwareConcurrency} cores, Deno ${Deno.version.deno}`;
    const table = [
      `Machine: ${machine}; ${new Date().toISOString()}`,
      "",
      "| measure | value | note |",
      "|---|---|---|",
      ...figures.map((f) => `| ${f.name} | ${f.value.toFixed(2)} ${f.unit} | ${f.note} |`),
    ].join("\n");
    await Deno.mkdir(RESULTS, { recursive: true });
    await Deno.writeTextFile(`${RESULTS}/latest.md`, table + "\n");
    await Deno.writeTextFile(
      `${RESULTS}/latest.json`,
      JSON.stringify({ machine, figures }, null, 2) + "\n",
    );
    console.log(table);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
