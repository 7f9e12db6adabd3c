import { Knex } from 'knex';
import { captureStatus, cascadeGraph, renamedBehindBack } from '@tributary/capture';
import { CatalogRepository } from '@tributary/control';
import { Logger } from '@tributary/logger';
import { Metrics } from '@tributary/metrics';

/**
 * Schema drift is loud (DESIGN.md, Hazards): a table altered after capture
 * either breaks the application's writes (a dropped column) or stops
 * capturing a new column. Checked on a timer; reported as a metric and an
 * error log line when a table starts (or stops) drifting.
 */
export class DriftMonitor {
  private readonly drifting = new Set<string>();

  constructor(
    private readonly sourceId: string,
    private readonly knex: Knex,
    private readonly catalog: CatalogRepository,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
  ) {}

  async check(): Promise<void> {
    const tables = await this.catalog.listCapturedTables(this.sourceId);
    // A table no longer captured under this name (renamed, uncaptured) is no longer drifting.
    for (const table of [...this.drifting].filter((name) => !tables.some((captured) => captured.table === name))) {
      this.drifting.delete(table);
      this.metrics.captureDrift.remove({ source: this.sourceId, table });
    }
    if (tables.length === 0) return;
    // Foreign keys and captured tables once per check, not once per table.
    const graph = await cascadeGraph(this.knex);
    for (const { table } of tables) {
      const movedTo = await renamedBehindBack(this.knex, table).catch(() => null);
      if (movedTo !== null) {
        this.reportRenamed(table, movedTo);
        continue;
      }
      const status = await captureStatus(this.knex, table, graph).catch((error: Error) => {
        this.logger.error({ table, err: error }, 'capture status check failed');
        return null;
      });
      if (!status) continue;
      const drifted = status.drifted || !status.installed;
      this.metrics.captureDrift.set({ source: this.sourceId, table }, drifted ? 1 : 0);
      if (drifted && !this.drifting.has(table)) {
        this.drifting.add(table);
        this.logger.error(
          { table, installedHash: status.installedHash, currentHash: status.currentHash, installed: status.installed },
          status.currentHash === status.installedHash
            ? 'captured table no longer matches its triggers: refresh capture (POST /api/sources/{source}/tables/{table}/refresh)'
            : 'captured table changed shape behind Tributary (writes may be failing or columns not captured): adopt the change ' +
                '(POST /api/sources/{source}/tables/{table}/adopt, with dryRun first and the renamed columns named)',
        );
      } else if (!drifted && this.drifting.delete(table)) {
        this.logger.info({ table }, 'captured table matches its triggers again');
      }
    }
  }

  /** A table renamed with RENAME TABLE: its triggers went along and still write the old name, but nothing else finds it. */
  private reportRenamed(table: string, movedTo: string): void {
    this.metrics.captureDrift.set({ source: this.sourceId, table }, 1);
    if (this.drifting.has(table)) return;
    this.drifting.add(table);
    this.logger.error(
      { table, renamedTo: movedTo },
      `captured table was renamed to ${movedTo} behind Tributary (its changes still flow under the old name; copies, verify and schema changes cannot find it): ` +
        'adopt the rename (POST /api/sources/{source}/tables/{table}/adopt, with dryRun first)',
    );
  }
}
