import { readdirSync, readFileSync } from "node:fs";

/** CPU time counters of the whole machine and of every process, read from Linux's `/proc`. */
export interface CpuSnapshot {
  /** Jiffies of all CPUs together; of those idle (idle + iowait); stolen by the hypervisor. */
  readonly total: number;
  readonly idle: number;
  readonly steal: number;
  readonly cpus: number;
  /** utime + stime per pid, with the process name. */
  readonly processes: ReadonlyMap<number, { readonly comm: string; readonly jiffies: number }>;
}

/** Counters now; `undefined` where there is no `/proc` (not Linux). */
export function takeCpuSnapshot(): CpuSnapshot | undefined {
  let stat: string;
  try {
    stat = readFileSync("/proc/stat", "utf8");
  } catch {
    return undefined;
  }
  const lines = stat.split("\n");
  const fields = (lines[0] ?? "").trim().split(/\s+/).slice(1, 9).map(Number);
  const total = fields.reduce((sum, value) => sum + value, 0);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  const steal = fields[7] ?? 0;
  const cpus = lines.filter((line) => /^cpu\d+ /.test(line)).length;
  const processes = new Map<number, { comm: string; jiffies: number }>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const text = readFileSync(`/proc/${entry}/stat`, "utf8");
      // The name may hold spaces and parentheses: it ends at the last ")".
      const close = text.lastIndexOf(")");
      const comm = text.slice(text.indexOf("(") + 1, close);
      const rest = text.slice(close + 2).split(" ");
      processes.set(Number(entry), { comm, jiffies: Number(rest[11]) + Number(rest[12]) });
    } catch {
      // The process ended between the listing and the read.
    }
  }
  return { total, idle, steal, cpus, processes };
}

export interface CpuGroup {
  readonly name: string;
  readonly matches: (pid: number, comm: string) => boolean;
}

export interface CpuShares {
  /** Cores each group kept busy on average (1.0 = one core fully), in the order given. */
  readonly groups: ReadonlyMap<string, number>;
  /** Busy cores not in any group (other processes, the kernel's own work). */
  readonly other: number;
  /** Cores the hypervisor gave to other machines (steal time): a noisy host, not our load. */
  readonly steal: number;
  readonly busy: number;
  readonly cpus: number;
}

/** What each group of processes used between two snapshots, in cores. */
export function cpuSharesBetween(
  before: CpuSnapshot,
  after: CpuSnapshot,
  groups: readonly CpuGroup[],
): CpuShares {
  const perCore = (after.total - before.total) / after.cpus;
  const cores = (jiffies: number) => (perCore > 0 ? jiffies / perCore : 0);
  const steal = cores(after.steal - before.steal);
  const busy = cores(after.total - before.total - (after.idle - before.idle)) - steal;
  const used = new Map<string, number>(groups.map((group) => [group.name, 0]));
  let grouped = 0;
  for (const [pid, now] of after.processes) {
    const group = groups.find((candidate) => candidate.matches(pid, now.comm));
    if (group === undefined) continue;
    // A process started inside the window used all of its time in it.
    const delta = now.jiffies - (before.processes.get(pid)?.jiffies ?? 0);
    used.set(group.name, (used.get(group.name) ?? 0) + cores(delta));
    grouped += cores(delta);
  }
  return { groups: used, other: Math.max(0, busy - grouped), steal, busy, cpus: after.cpus };
}
