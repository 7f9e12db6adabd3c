import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';

/**
 * Linux /proc readings: memory of the apps, and CPU seconds per process, so
 * the bench can say which component a drain spends its time in.
 */

const CLOCK_TICKS = clockTicks();

function clockTicks(): number {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
}

/** VmHWM (peak resident set) or VmRSS (current) of a live process, in MiB; null once it is gone. */
export function memoryMiB(pid: number, field: 'VmHWM' | 'VmRSS'): number | null {
  try {
    const match = readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
    return match ? Number(match[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** User + system CPU seconds a process has used so far; null once it is gone. */
export function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses: fields are counted after its closing ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS; // utime, stime (fields 14, 15)
  } catch {
    return null;
  }
}

/** Pids of the processes whose command name is one of `names`, by name (e.g. every PostgreSQL backend). */
export function pidsByName(names: readonly string[]): Map<string, number[]> {
  const found = new Map<string, number[]>(names.map((name) => [name, []]));
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const comm = readFileSync(`/proc/${entry}/comm`, 'utf8').trim();
      found.get(comm)?.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}

/** Busy and total jiffies of the whole machine (all cores), from /proc/stat. */
export function machineJiffies(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  const total = values.reduce((sum, value) => sum + value, 0);
  const idle = values[3] + (values[4] ?? 0); // idle + iowait
  return { busy: total - idle, total };
}

/**
 * CPU used by groups of processes between `start()` and `stop()`. A group is
 * a name → pids function evaluated at both ends, so PostgreSQL backends that
 * appear during the run are counted from zero.
 */
export class CpuMeter {
  private readonly before = new Map<string, Map<number, number>>();
  private machineBefore = machineJiffies();

  constructor(private readonly groups: ReadonlyMap<string, () => number[]>) {}

  start(): void {
    this.machineBefore = machineJiffies();
    for (const [group, pids] of this.groups) this.before.set(group, snapshot(pids()));
  }

  /**
   * CPU seconds per group; the machine's busy share (1 = every core busy);
   * and the cores used by everything outside the groups (other sessions,
   * other services): the noise in this measurement.
   */
  stop(): { perGroup: Map<string, number>; machineBusy: number; otherCores: number } {
    const perGroup = new Map<string, number>();
    for (const [group, pids] of this.groups) {
      const before = this.before.get(group) ?? new Map<number, number>();
      let used = 0;
      for (const [pid, now] of snapshot(pids())) used += now - (before.get(pid) ?? 0);
      perGroup.set(group, used);
    }
    const machine = machineJiffies();
    const busy = machine.busy - this.machineBefore.busy;
    const total = Math.max(1, machine.total - this.machineBefore.total);
    const wallSeconds = total / CLOCK_TICKS / cpus().length;
    const groupsSeconds = [...perGroup.values()].reduce((sum, seconds) => sum + seconds, 0);
    return { perGroup, machineBusy: busy / total, otherCores: Math.max(0, busy / CLOCK_TICKS - groupsSeconds) / wallSeconds };
  }
}

function snapshot(pids: number[]): Map<number, number> {
  const result = new Map<number, number>();
  for (const pid of pids) {
    const cpu = cpuSeconds(pid);
    if (cpu !== null) result.set(pid, cpu);
  }
  return result;
}
