/**
 * How the summary prints things, shared by every section's report so the
 * same quantity reads the same way everywhere (CPU, RSS, milliseconds,
 * machine load).
 */

/** Fixed-width text table for the summary: numbers right-aligned (`numeric`), text left-aligned. */
export function table(headers: readonly string[], rows: ReadonlyArray<readonly string[]>, numeric = true): string {
  const widths = headers.map((header, i) => Math.max(header.length, ...rows.map((row) => row[i].length)));
  const align = (cell: string, i: number) => (i > 0 && numeric ? cell.padStart(widths[i]) : cell.padEnd(widths[i]));
  const line = (cells: readonly string[]) => cells.map(align).join('  ').trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function formatInt(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

/** A latency: one decimal below 10 ms, whole ms above; `-` for NaN (nothing measured). */
export function milliseconds(value: number): string {
  if (Number.isNaN(value)) return '-';
  return value < 10 ? value.toFixed(1) : formatInt(value);
}

/** MB = 10^6 bytes. */
export function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

/** `relay 263 MiB, worker 279 MiB` (`?` where /proc had nothing: the process was gone). */
export function rssList(rss: Record<string, number | null>): string {
  return Object.entries(rss)
    .map(([app, mib]) => `${app} ${mib === null ? '?' : mib.toFixed(0)} MiB`)
    .join(', ');
}

/**
 * CPU of each component over `wallSeconds`, as a share of one core
 * (`relay 29%`), or with the CPU seconds too (`relay 1.8 s (29%)`).
 * Components under half a percent, and the bench's own polling, are left out.
 */
export function cpuUse(perGroup: Record<string, number>, wallSeconds: number, options: { withSeconds?: boolean } = {}): string {
  return Object.entries(perGroup)
    .filter(([group, used]) => group !== 'bench' && used / wallSeconds >= 0.005)
    .map(([group, used]) => {
      const share = `${((used / wallSeconds) * 100).toFixed(0)}%`;
      return options.withSeconds ? `${group} ${used.toFixed(1)} s (${share})` : `${group} ${share}`;
    })
    .join(', ');
}

/** The noise: how busy the machine was, and how much of that was processes outside the run. */
export function machineLoad(load: { machineBusy: number; otherCores: number }): string {
  return `${(load.machineBusy * 100).toFixed(0)}%, of which other processes ${load.otherCores.toFixed(2)} cores`;
}
