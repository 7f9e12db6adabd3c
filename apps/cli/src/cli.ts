import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { Knex } from 'knex';
import { loadConfig } from '@tributary/config';
import { CatalogRepository, openMysql, ProgressRepository, SnapshotRepository, VerifyRunRepository } from '@tributary/control';
import { migrateControl } from '@tributary/db';
import { defaultTargetRegistry } from '@tributary/targets';
import { failureMessage, recordAndRun, routeRunLocks, UnknownRouteError } from '@tributary/verify';
import { formatRun } from './report';
import { resync } from './resync';

/** Exit statuses: scripts branch on them. */
export const EXIT_MATCHED = 0;
export const EXIT_DIFFERS = 1;
export const EXIT_ERROR = 2;

export const USAGE = `usage: tributary verify <route> [--repair] [--json]
       tributary resync <route> [--no-wait]

  verify <route>           compare the route's target with its source (filtered, mapped)
    --repair               re-send the differing rows through the route, then verify again
    --json                 print the run as JSON instead of a report
  resync <route>           copy the route's source rows again (online), with a progress bar until done
    --no-wait              only ask for it (the relay's copier runs it either way)

exit status: verify: 0 the target matches (or was repaired and re-verified), 1 differences remain, 2 error;
             resync: 0 done (or asked for, with --no-wait), 1 failed or cancelled, 2 error
configuration: CONTROL_DATABASE_URL (and the other Tributary variables) from the environment`;

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** A progress line that replaces the previous one on a terminal; `final` ends it. */
  progress(line: string, final: boolean): void;
  env: Record<string, string | undefined>;
}

/** Bad command-line arguments (exit 2 with the usage). */
class UsageError extends Error {}

type Command = { name: 'verify'; route: string; repair: boolean; json: boolean } | { name: 'resync'; route: string; wait: boolean };

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
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (parsed.values.help) throw new UsageError('');
  const [command, route, ...rest] = parsed.positionals;
  if (command !== 'verify' && command !== 'resync') throw new UsageError(command ? `unknown command ${JSON.stringify(command)}` : 'no command given');
  if (!route) throw new UsageError(`${command} needs a route id`);
  if (rest.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(rest[0])}`);
  if (command === 'resync') {
    if (parsed.values.repair || parsed.values.json) throw new UsageError('resync takes only --no-wait');
    return { name: 'resync', route, wait: parsed.values['no-wait'] !== true };
  }
  if (parsed.values['no-wait']) throw new UsageError('verify does not take --no-wait');
  return { name: 'verify', route, repair: parsed.values.repair === true, json: parsed.values.json === true };
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
