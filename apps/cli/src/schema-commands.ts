import { AdminApi } from './admin-api';
import { formatSchemaChange, needsPerson, SchemaChangeAnswer } from './schema-report';

/** Exit statuses of alter and adopt: 0 done or planned, 1 a route needs a person, 2 error (thrown to the caller). */
const DONE = 0;
const NEEDS_PERSON = 1;

interface SchemaChangeOptions {
  source: string;
  table: string;
  dryRun: boolean;
  resync: boolean;
  json: boolean;
}

/** `alter <source> <table> <clauses>`: ALTER TABLE at the source the safe way, and carry it to the targets. */
export async function runAlter(api: Pick<AdminApi, 'post'>, io: { out(text: string): void }, command: SchemaChangeOptions & { alter: string }): Promise<number> {
  return submit(api, io, command, 'alter', { alter: command.alter });
}

/** `adopt <source> <table>`: take over a change made at the source without Tributary (drift). */
export async function runAdopt(
  api: Pick<AdminApi, 'post'>,
  io: { out(text: string): void },
  command: SchemaChangeOptions & { renames: Record<string, string> },
): Promise<number> {
  return submit(api, io, command, 'adopt', Object.keys(command.renames).length > 0 ? { renames: command.renames } : {});
}

async function submit(
  api: Pick<AdminApi, 'post'>,
  io: { out(text: string): void },
  command: SchemaChangeOptions,
  action: 'alter' | 'adopt',
  body: Record<string, unknown>,
): Promise<number> {
  const path = `/api/sources/${encodeURIComponent(command.source)}/tables/${encodeURIComponent(command.table)}/${action}`;
  // Flags go only when given: an admin that predates dryRun refuses the unknown property (400)
  // instead of carrying out what was meant as a dry run.
  const answer = await api.post<SchemaChangeAnswer>(path, { ...body, ...(command.dryRun ? { dryRun: true } : {}), ...(command.resync ? { resync: true } : {}) });
  io.out(command.json ? JSON.stringify(answer.body, null, 2) : formatSchemaChange(command.source, answer.body));
  return answer.body.plan.routes.some((route) => needsPerson(route).length > 0) ? NEEDS_PERSON : DONE;
}
