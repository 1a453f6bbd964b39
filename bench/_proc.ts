/**
 * What `/proc` says about a process (Linux): memory, and per-thread context
 * switches and CPU time, so idle cost counts every thread of a Deno process
 * (V8's platform workers, tokio's), not only the main one.
 *
 * @module
 */

/** Memory of a process, in kibibytes, from `/proc/PID/status`. */
export interface Memory {
  /** Resident set size now (`VmRSS`). */
  rssKb: number;
  /** Peak resident set size (`VmHWM`). */
  hwmKb: number;
}

/** One thread at one moment. */
export interface ThreadSample {
  /** Its name (`comm`). */
  name: string;
  /** Voluntary plus involuntary context switches so far. */
  switches: number;
  /** CPU time so far, nanoseconds (`schedstat`). */
  cpuNs: number;
}

/** A process at one moment. */
export interface ProcessSample {
  /** When, on the monotonic clock (milliseconds). */
  atMs: number;
  /** Threads by tid. */
  threads: Map<number, ThreadSample>;
  /** User+system CPU of the process and its waited-for children, clock ticks (`stat`). */
  ticks: number;
}

/** Clock ticks per second of `/proc/PID/stat` (USER_HZ, 100 on Linux). */
export const TICKS_PER_S = 100;

function field(status: string, key: string): number {
  const match = status.match(new RegExp(`^${key}:\\s+(\\d+)`, "m"));
  return match ? Number(match[1]) : NaN;
}

/** Reads the memory of `pid`. */
export function readMemory(pid: number): Memory {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return { rssKb: field(status, "VmRSS"), hwmKb: field(status, "VmHWM") };
}

/** Samples every thread of `pid`; threads that end while it reads are left out. */
export function sampleProcess(pid: number): ProcessSample {
  const threads = new Map<number, ThreadSample>();
  for (const entry of Deno.readDirSync(`/proc/${pid}/task`)) {
    const tid = Number(entry.name);
    try {
      const base = `/proc/${pid}/task/${tid}`;
      const status = Deno.readTextFileSync(`${base}/status`);
      threads.set(tid, {
        name: Deno.readTextFileSync(`${base}/comm`).trim(),
        switches: field(status, "voluntary_ctxt_switches") +
          field(status, "nonvoluntary_ctxt_switches"),
        cpuNs: Number(Deno.readTextFileSync(`${base}/schedstat`).split(" ")[0]),
      });
    } catch {
      // the thread ended
    }
  }
  // Fields after the ")" that ends comm: utime is the 14th field of the line, i.e. index 11 here.
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = [11, 12, 13, 14].reduce((sum, i) => sum + Number(rest[i]), 0);
  return { atMs: performance.now(), threads, ticks };
}

/** What a process did between two samples. */
export interface Activity {
  /** Seconds between the samples. */
  seconds: number;
  /** Context switches over all threads (threads that ended in between are not counted). */
  switches: number;
  /** CPU over all threads, milliseconds (`schedstat`). */
  cpuMs: number;
  /** CPU of the process and its reaped children, milliseconds (`stat`, 10 ms resolution). */
  statCpuMs: number;
  /** Per thread name: switches, summed over threads of that name. */
  byThread: Record<string, number>;
  /** Threads at the end. */
  threadCount: number;
}

/** The activity between `before` and `after`. */
export function activity(before: ProcessSample, after: ProcessSample): Activity {
  let switches = 0;
  let cpuNs = 0;
  const byThread: Record<string, number> = {};
  for (const [tid, end] of after.threads) {
    const start = before.threads.get(tid);
    const delta = end.switches - (start?.switches ?? 0);
    switches += delta;
    cpuNs += end.cpuNs - (start?.cpuNs ?? 0);
    byThread[end.name] = (byThread[end.name] ?? 0) + delta;
  }
  return {
    seconds: (after.atMs - before.atMs) / 1000,
    switches,
    cpuMs: cpuNs / 1e6,
    statCpuMs: (after.ticks - before.ticks) * 1000 / TICKS_PER_S,
    byThread,
    threadCount: after.threads.size,
  };
}
