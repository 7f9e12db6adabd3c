import { aligned } from './status-report';

/** One column change of a plan: `exact` false when a target cannot carry it value for value. */
export interface SchemaChange {
  kind: 'added' | 'dropped' | 'renamed' | 'widened' | 'retyped' | 'nullability' | 'default' | 'key';
  column: string;
  detail: string;
  exact: boolean;
}

/** What a schema change does to one route and its target table. */
export interface RoutePlan {
  route: string;
  target: string;
  targetKind: string;
  targetTable: string;
  /** What happens at the target table, in words. */
  actions: string[];
  /** How the route's filter, mapping or policy is rewritten (e.g. for a rename). */
  routeChanges: string[];
  /** Why the target cannot follow exactly without a re-sync; empty: it follows exactly. */
  resyncReasons: string[];
  /** Why the route will stop until a person changes it; null: it will not. */
  waits: string | null;
  resync: 'requested' | 'needed' | 'none';
}

/** The answer of POST /api/sources/:source/tables/:table/alter and …/adopt. */
export interface SchemaChangeAnswer {
  table: string;
  schemaHash: string;
  key: string[];
  keyKind: string;
  columns: Array<{ name: string; type: string; columnType: string; nullable: boolean }>;
  warnings: string[];
  /** False for a dry run: nothing was changed. */
  applied: boolean;
  plan: { fromHash: string; toHash: string; changes: SchemaChange[]; routes: RoutePlan[]; tableRename?: { from: string; to: string } };
}

/**
 * Why a route needs a person after this change, or none: it will stop until
 * its filter or mapping is changed, or its target differs until a re-sync
 * nobody asked for. Any makes alter and adopt exit 1.
 */
export function needsPerson(route: RoutePlan): string[] {
  const needs: string[] = [];
  if (route.waits !== null) needs.push(`${route.route} will stop until it is changed`);
  if (route.resync === 'needed') needs.push(`${route.route} needs a re-sync`);
  return needs;
}

/** The plan, and whether it was carried out, as an operator reads it in a terminal. */
export function formatSchemaChange(source: string, answer: SchemaChangeAnswer): string {
  const { plan } = answer;
  const lines = [`${source}.${answer.table}: ${answer.applied ? 'applied' : 'dry run: nothing changed'}`];
  const hashes = plan.fromHash === plan.toHash ? `schema ${plan.toHash} (unchanged)` : `schema ${plan.fromHash} → ${plan.toHash}`;
  lines.push(`${hashes}, key ${answer.key.join(', ')} (${answer.keyKind})`);
  for (const warning of answer.warnings) lines.push(`warning: ${warning}`);

  if (plan.tableRename) lines.push(`table renamed: ${plan.tableRename.from} → ${plan.tableRename.to} (its changes flow on under the new name, no copy)`);
  if (plan.changes.length === 0) lines.push(plan.tableRename ? 'column changes: none' : 'changes: none');
  else {
    lines.push('changes:');
    // "not exact" is what sends a reader to the routes' re-sync reasons below.
    const rows = plan.changes.map((change) => [change.kind, change.column, `${change.detail}${change.exact ? '' : '  (not exact)'}`]);
    lines.push(...aligned(rows).map((line) => `  ${line}`));
  }

  if (plan.routes.length === 0) lines.push('routes: none replicate this table');
  else {
    lines.push('routes:');
    for (const route of plan.routes) lines.push(...formatRoute(route, answer.applied));
  }

  const needs = plan.routes.flatMap(needsPerson);
  if (needs.length > 0) lines.push(`needs a person: ${needs.join('; ')}`);
  return lines.join('\n');
}

function formatRoute(route: RoutePlan, applied: boolean): string[] {
  const lines = [`  ${route.route} → ${route.target}.${route.targetTable} (${route.targetKind})`];
  if (route.actions.length === 0) lines.push('    target:  nothing to do');
  for (const action of route.actions) lines.push(`    target:  ${action}`);
  for (const change of route.routeChanges) lines.push(`    route:   ${change}`);
  lines.push(`    re-sync: ${resyncState(route, applied)}`);
  for (const reason of route.resyncReasons) lines.push(`      - ${reason}`);
  if (route.resync === 'needed') {
    // The way out differs: a dry run is re-run with the flag, a done change is followed by its own re-sync.
    lines.push(applied ? `      run: tributary resync ${route.route}` : '      add --resync to have it re-synced with the change');
  }
  if (route.waits !== null) lines.push(`    stops:   ${route.waits} (until a person changes the route)`);
  return lines;
}

function resyncState(route: RoutePlan, applied: boolean): string {
  const because = route.resyncReasons.length > 0 ? ', because:' : '';
  switch (route.resync) {
    case 'requested':
      return `${applied ? 'requested' : 'would be requested'}${because}`;
    case 'needed':
      return `needed, not requested${because}`;
    case 'none':
      return route.resyncReasons.length > 0 ? 'none, though the target does not follow exactly:' : 'not needed';
  }
}
