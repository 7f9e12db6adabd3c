import { SchemaChangeRecord } from '@tributary/control';
import { ColumnRename, TableStep } from '@tributary/model';
import { ColumnNamingRules, renameRuleColumns, undoRenames } from '@tributary/replication';

/**
 * A captured table's schema changes (issue #17) as a worker applies one
 * route's changes: which renames and drops the route's target table must
 * have had before changes of a given schema are written, and the route's
 * rules in that schema's column names. Pure; SchemaCache loads it.
 */
export class TableHistory {
  constructor(private readonly changes: readonly SchemaChangeRecord[]) {}

  /** Whether the history holds the change with this id (a route's namesAsOf); null is the newest, always known. */
  knows(changeId: number | null | undefined): boolean {
    return changeId === null || changeId === undefined || this.changes.some((change) => change.id === changeId);
  }

  /**
   * How many changes lead to schema `hash`: the changes up to its last
   * recording. A schema an ALTER returned to (a rename undone) is reached
   * by every change up to its newest recording; a hash the history never
   * recorded (the schema capture was first installed with) by none.
   */
  private reached(hash: string): number {
    for (let index = this.changes.length - 1; index >= 0; index--) {
      if (this.changes[index].toHash === hash) return index + 1;
    }
    return 0;
  }

  /** Identifies what stepsFor and rulesFor answer for `hash`: plans and ensured tables are keyed by it. */
  versionFor(hash: string): string {
    const count = this.reached(hash);
    return count === 0 ? '0' : String(this.changes[count - 1].id);
  }

  /** The renames and drops the route's target table must have had before changes of schema `hash` are written. */
  stepsFor(routeId: string, hash: string): TableStep[] {
    return this.changes
      .slice(0, this.reached(hash))
      .filter((change) => Object.hasOwn(change.routeSteps, routeId))
      .map((change) => ({ id: change.id, ...change.routeSteps[routeId] }));
  }

  /** Whether the route's target table had renames or drops recorded after schema `hash` (a new default changes no column). */
  changedAfter(routeId: string, hash: string): boolean {
    return this.changes.slice(this.reached(hash)).some((change) => {
      const step = change.routeSteps[routeId];
      return step !== undefined && (step.dropped.length > 0 || step.renamed.length > 0);
    });
  }

  /**
   * The route's rules in the column names of schema `hash`: they are stored
   * in the names of change `namesAsOf` (null: the newest), and changes of
   * an older schema need them renamed back, of a newer one forward.
   */
  rulesFor<T extends ColumnNamingRules & { namesAsOf?: number | null }>(route: T, hash: string): T {
    const at = this.reached(hash);
    const stored = this.changes.findIndex((change) => change.id === route.namesAsOf);
    // Unknown (null: rules given after the last change) means the newest names.
    const written = stored < 0 ? this.changes.length : stored + 1;
    if (written === at) return route;
    const between = (from: number, to: number): ColumnRename[] => this.changes.slice(from, to).flatMap((change) => change.renames);
    return written > at ? renameRuleColumns(route, undoRenames(between(at, written))) : renameRuleColumns(route, between(written, at));
  }
}
