import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { Knex } from 'knex';
import { loadConfig, redactSecrets } from '@tributary/config';
import { CatalogRepository, openMysql, ProgressRepository, SnapshotRepository, VerifyRunRepository } from '@tributary/control';
import { migrateControl } from '@tributary/db';
import { defaultTargetRegistry } from '@tributary/targets';
import { failureMessage, recordAndRun, routeRunLocks, UnknownRouteError } from '@tributary/verify';
import { AdminApi, AdminApiError } from './admin-api';
import { runDeadLetters, runRoutes, runStatus, runWait, runWaitCaughtUp } from './admin-commands';
import { formatRun } from './report';
import { resync } from './resync';
import { runAdopt, runAlter } from './schema-commands';

/** Exit statuses: scripts branch on them. */
export const EXIT_MATCHED = 0;
export const EXIT_DIFFERS = 1;
export const EXIT_ERROR = 2;

export const USAGE = `usage: tributary verify <route> [--repair] [--json]
       tributary resync <route> [--no-wait]
       tributary status [--max-lag SECONDS] [--json]
       tributary routes [--json]
       tributary dead-letters <route> [--json]
       tributary wait-caught-up <route> [--timeout SECONDS] [--json]
       tributary wait <source> <token> (--routes ROUTE,… | --target TARGET) [--timeout SECONDS] [--json]
       tributary alter <source> <table> '<clauses>' [--dry-run] [--resync] [--json]
       tributary adopt <source> <table> [--rename OLD=NEW]… [--dry-run] [--resync] [--json]

  verify <route>           compare the route's target with its source (filtered, mapped)
    --repair               re-send the differing rows through the route, then verify again
    --json                 print the run as JSON instead of a report
  resync <route>           copy the route's source rows again (online), with a progress bar until done
    --no-wait              only ask for it (the relay's copier runs it either way)
  status                   every route's state, lag, rate and dead letters
    --max-lag SECONDS      a route whose oldest waiting change is older is unhealthy (default 60)
  routes                   the routes, from where to where, paused or not
  dead-letters <route>     the route's changes its target refused, waiting for a person
  wait-caught-up <route>   wait until the route has applied every captured change
    --timeout SECONDS      give up after this long (default 60)
  wait <source> <token>    read-your-writes: wait until the routes (or every route into the target) have applied
                           the token (after a commit: SELECT MAX(seq) FROM _tributary_outbox); --timeout at most 60
  alter <source> <table> '<clauses>'
                           run ALTER TABLE <table> <clauses> at the source without losing a write, and carry it to
                           the routes' targets; the clauses are one quoted argument, e.g. 'ADD COLUMN note TEXT NULL'
                           (left unquoted, the shell would drop quotes inside them, so more arguments are refused)
  adopt <source> <table>   take over a schema change made at the source without Tributary (drifted triggers):
                           regenerate capture and carry the change to the routes' targets
    --rename OLD=NEW       the dropped column OLD and the added column NEW are one column renamed (repeatable)
    --dry-run              (alter, adopt) only show the plan for the table and each route; nothing is changed
    --resync               (alter, adopt) re-sync the routes whose targets cannot follow the change exactly

exit status: verify: 0 the target matches (or was repaired and re-verified), 1 differences remain, 2 error;
             resync: 0 done (or asked for, with --no-wait), 1 failed or cancelled, 2 error;
             status: 0 every route healthy, 1 one is failing, stalled or lags past --max-lag, 2 error;
             wait-caught-up, wait: 0 caught up / applied, 1 not within --timeout, 2 error;
             alter, adopt: 0 done (--dry-run: planned, nothing changed), 1 the same, but a route will stop until a
             person changes it or needs a re-sync --resync did not ask for (a dry run tells before it happens), 2 error
configuration: verify and resync: CONTROL_DATABASE_URL (and the other Tributary variables);
               status, routes, dead-letters, wait-caught-up, wait, alter, adopt: the admin API, TRIBUTARY_ADMIN_URL
               (default http://127.0.0.1:3000) and ADMIN_TOKEN; all from the environment`;

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** A progress line that replaces the previous one on a terminal; `final` ends it. */
  progress(line: string, final: boolean): void;
  env: Record<string, string | undefined>;
}

/** Bad command-line arguments (exit 2 with the usage). */
class UsageError extends Error {}

type Command =
  | { name: 'verify'; route: string; repair: boolean; json: boolean }
  | { name: 'resync'; route: string; wait: boolean }
  | { name: 'status'; json: boolean; maxLagSeconds: number }
  | { name: 'routes'; json: boolean }
  | { name: 'dead-letters'; route: string; json: boolean }
  | { name: 'wait-caught-up'; route: string; json: boolean; timeoutSeconds: number }
  | { name: 'wait'; source: string; token: number; routes?: string[]; target?: string; json: boolean; timeoutSeconds: number }
  | { name: 'alter'; source: string; table: string; alter: string; dryRun: boolean; resync: boolean; json: boolean }
  | { name: 'adopt'; source: string; table: string; renames: Record<string, string>; dryRun: boolean; resync: boolean; json: boolean };

/** The commands that work on a running deployment through its admin API. */
type AdminCommand = Extract<Command, { name: 'status' | 'routes' | 'dead-letters' | 'wait-caught-up' | 'wait' | 'alter' | 'adopt' }>;

export function parseCommand(argv: readonly string[]): Command {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        repair: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        'no-wait': { type: 'boolean', default: false },
        'max-lag': { type: 'string' },
        timeout: { type: 'string' },
        routes: { type: 'string' },
        target: { type: 'string' },
        'dry-run': { type: 'boolean', default: false },
        resync: { type: 'boolean', default: false },
        rename: { type: 'string', multiple: true },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (parsed.values.help) throw new UsageError('');
  const [command, route, ...rest] = parsed.positionals;
  const { values } = parsed;
  const only = (allowed: string[]) => {
    const given = Object.entries({
      repair: values.repair,
      'no-wait': values['no-wait'],
      json: values.json,
      'max-lag': values['max-lag'],
      timeout: values.timeout,
      routes: values.routes,
      target: values.target,
      'dry-run': values['dry-run'],
      resync: values.resync,
      rename: values.rename,
    })
      .filter(([name, value]) => value !== undefined && value !== false && !allowed.includes(name))
      .map(([name]) => `--${name}`);
    if (given.length > 0) throw new UsageError(`${command} does not take ${given.join(', ')}`);
  };
  if (command === 'status' || command === 'routes') {
    if (route) throw new UsageError(`unexpected argument ${JSON.stringify(route)}`);
    if (command === 'routes') {
      only(['json']);
      return { name: 'routes', json: values.json === true };
    }
    only(['json', 'max-lag']);
    return { name: 'status', json: values.json === true, maxLagSeconds: seconds('--max-lag', values['max-lag'], 60) };
  }
  if (command === 'dead-letters' || command === 'wait-caught-up') {
    if (!route) throw new UsageError(`${command} needs a route id`);
    if (rest.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(rest[0])}`);
    if (command === 'dead-letters') {
      only(['json']);
      return { name: 'dead-letters', route, json: values.json === true };
    }
    only(['json', 'timeout']);
    return { name: 'wait-caught-up', route, json: values.json === true, timeoutSeconds: seconds('--timeout', values.timeout, 60) };
  }
  if (command === 'wait') {
    const [token] = rest;
    if (!route || token === undefined) throw new UsageError('wait needs a source and a token');
    if (rest.length > 1) throw new UsageError(`unexpected argument ${JSON.stringify(rest[1])}`);
    if (!/^\d{1,18}$/.test(token)) throw new UsageError(`the token is a whole number (SELECT MAX(seq) FROM _tributary_outbox), not ${JSON.stringify(token)}`);
    only(['json', 'timeout', 'routes', 'target']);
    if ((values.routes === undefined) === (values.target === undefined)) throw new UsageError('wait takes --routes or --target (one of them)');
    const timeoutSeconds = seconds('--timeout', values.timeout, 10);
    if (timeoutSeconds > 60) throw new UsageError('--timeout is at most 60 seconds for wait');
    const routes = values.routes?.split(',').map((id) => id.trim()).filter((id) => id !== '');
    return { name: 'wait', source: route, token: Number(token), ...(routes ? { routes } : { target: values.target }), json: values.json === true, timeoutSeconds };
  }
  if (command === 'alter' || command === 'adopt') {
    const [table, clauses] = rest;
    if (!route || !table) throw new UsageError(`${command} needs a source and a table`);
    const flags = { dryRun: values['dry-run'] === true, resync: values.resync === true, json: values.json === true };
    if (command === 'adopt') {
      if (rest.length > 1) throw new UsageError(`unexpected argument ${JSON.stringify(rest[1])}`);
      only(['json', 'dry-run', 'resync', 'rename']);
      return { name: 'adopt', source: route, table, renames: renames(values.rename ?? []), ...flags };
    }
    only(['json', 'dry-run', 'resync']);
    if (clauses === undefined || clauses.trim() === '') throw new UsageError("alter needs what follows ALTER TABLE <table>, e.g. 'ADD COLUMN note TEXT NULL'");
    // Joining words would run whatever the shell left of an unquoted DEFAULT 'a  b' (quotes gone, spaces
    // collapsed) as an ALTER that cannot be taken back; one argument is exactly what was typed.
    if (rest.length > 2) throw new UsageError(`alter takes the ALTER clauses as one quoted argument (unexpected argument ${JSON.stringify(rest[2])})`);
    return { name: 'alter', source: route, table, alter: clauses.trim(), ...flags };
  }
  if (command !== 'verify' && command !== 'resync') throw new UsageError(command ? `unknown command ${JSON.stringify(command)}` : 'no command given');
  if (!route) throw new UsageError(`${command} needs a route id`);
  if (rest.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(rest[0])}`);
  if (values['max-lag'] !== undefined || values.timeout !== undefined) throw new UsageError(`${command} takes neither --max-lag nor --timeout`);
  if (values.routes !== undefined || values.target !== undefined) throw new UsageError(`${command} takes neither --routes nor --target`);
  only(['repair', 'no-wait', 'json']);
  if (command === 'resync') {
    if (parsed.values.repair || parsed.values.json) throw new UsageError('resync takes only --no-wait');
    return { name: 'resync', route, wait: parsed.values['no-wait'] !== true };
  }
  if (parsed.values['no-wait']) throw new UsageError('verify does not take --no-wait');
  return { name: 'verify', route, repair: parsed.values.repair === true, json: parsed.values.json === true };
}

/** `--rename old=new`, repeated, as adopt's renames: each old column once, each new name once. */
function renames(pairs: readonly string[]): Record<string, string> {
  const result: Record<string, string> = {};
  for (const pair of pairs) {
    const parts = pair.split('=').map((part) => part.trim());
    if (parts.length !== 2 || parts[0] === '' || parts[1] === '') throw new UsageError(`--rename takes OLD=NEW (two column names), not ${JSON.stringify(pair)}`);
    const [from, to] = parts;
    if (from === to) throw new UsageError(`--rename ${pair} renames nothing`);
    if (Object.hasOwn(result, from)) throw new UsageError(`--rename gives ${from} two new names`);
    const twice = Object.keys(result).find((old) => result[old] === to);
    if (twice !== undefined) throw new UsageError(`--rename makes both ${twice} and ${from} into ${to}`);
    result[from] = to;
  }
  return result;
}

/** A whole number of seconds from an option (or its default). */
function seconds(option: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^\d{1,6}$/.test(text)) throw new UsageError(`${option} takes a whole number of seconds, not ${JSON.stringify(text)}`);
  return Number(text);
}

/** Runs the command line; returns the exit status. Never prints a URL or a password. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let command: Command;
  try {
    command = parseCommand(argv);
  } catch (error) {
    const message = (error as Error).message;
    if (message) io.err(`tributary: ${message}`);
    io.err(USAGE);
    return EXIT_ERROR;
  }
  if (command.name !== 'verify' && command.name !== 'resync') return runAdminCommand(command, io);

  let control: Knex | null = null;
  try {
    const config = loadConfig(io.env);
    control = openMysql(config.controlDatabaseUrl, { min: 0, max: 3 });
    await migrateControl(control);
    const catalog = new CatalogRepository(control);
    if (command.name === 'resync') return await runResync(command, { catalog, snapshots: new SnapshotRepository(control) }, io);
    const deps = {
      catalog,
      progress: new ProgressRepository(control),
      runs: new VerifyRunRepository(control),
      locks: routeRunLocks(config.controlDatabaseUrl),
      registry: defaultTargetRegistry(config.targets),
    };
    const answer = await recordAndRun(deps, command.route, command.repair ? 'repair' : 'verify', `cli:${whoAmI()}`);
    const { run } = answer;
    io.out(command.json ? JSON.stringify(run, null, 2) : formatRun(run));
    if (run.status === 'failed') {
      if (command.json) io.err(`tributary: ${run.error ?? 'the run failed'}`);
      return EXIT_ERROR;
    }
    return run.status === 'matched' || run.status === 'repaired' ? EXIT_MATCHED : EXIT_DIFFERS;
  } catch (error) {
    io.err(`tributary: ${error instanceof UnknownRouteError ? error.message : failureMessage(error)}`);
    return EXIT_ERROR;
  } finally {
    await control?.destroy();
  }
}

/** status, routes, dead-letters, wait-caught-up, wait, alter, adopt: through the admin API, so they work against a remote deployment. */
async function runAdminCommand(command: AdminCommand, io: CliIo): Promise<number> {
  const api = AdminApi.fromEnv(io.env);
  const readIo = { out: io.out, err: io.err, sleep };
  try {
    switch (command.name) {
      case 'status':
        return await runStatus(api, readIo, command);
      case 'routes':
        return await runRoutes(api, readIo, command);
      case 'dead-letters':
        return await runDeadLetters(api, readIo, command.route, command);
      case 'wait-caught-up':
        return await runWaitCaughtUp(api, readIo, command.route, command);
      case 'wait':
        return await runWait(api, readIo, command);
      case 'alter':
        return await runAlter(api, readIo, command);
      case 'adopt':
        return await runAdopt(api, readIo, command);
    }
  } catch (error) {
    io.err(`tributary: ${error instanceof AdminApiError ? error.message : redactSecrets((error as Error).message ?? String(error))}`);
    return EXIT_ERROR;
  }
}

async function runResync(command: { route: string; wait: boolean }, control: { catalog: CatalogRepository; snapshots: SnapshotRepository }, io: CliIo): Promise<number> {
  const outcome = await resync(control, command.route, `cli:${whoAmI()}`, { progress: (line, final) => io.progress(line, final), sleep }, { wait: command.wait });
  switch (outcome.kind) {
    case 'unknown-route':
      io.err(`tributary: route ${command.route} does not exist`);
      return EXIT_ERROR;
    case 'busy':
      io.err(`tributary: route ${command.route} already has an initial copy or re-sync running`);
      return EXIT_ERROR;
    case 'stopped':
      return EXIT_DIFFERS;
    case 'done':
      return EXIT_MATCHED;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function whoAmI(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}
