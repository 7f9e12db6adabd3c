import { AddressInfo } from 'node:net';
import { DynamicModule, INestApplication, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { loadConfig, TributaryConfig } from '@tributary/config';
import { createLogger, NestPinoLogger } from '@tributary/logger';
import { configureObservabilityHttp } from '@tributary/observability';
import { withProcessWiring } from './process-wiring.module';

/** How long a graceful shutdown may take before the process gives up and exits 1. */
const SHUTDOWN_TIMEOUT_MS = 30_000;
/** How long a process stopped while it is still starting waits to finish starting (then closes gracefully). */
const STARTING_GRACE_MS = 10_000;

/**
 * The HTTP surface of a process: `admin` serves AdminModule (API, docs,
 * dashboard, health, metrics) on ADMIN_PORT behind the admin token; `relay`
 * and `worker` serve only the ObservabilityModule's /health and /metrics on
 * RELAY_HTTP_PORT / WORKER_HTTP_PORT. All bind ADMIN_HOST.
 */
export type HttpRole = 'admin' | 'relay' | 'worker';

export interface BootstrapOptions {
  http: HttpRole;
  /** Exit on SIGTERM/SIGINT after a graceful close (default). The demo handles signals itself. */
  handleSignals?: boolean;
}

/**
 * Starts a process from a root module. A process that cannot start (bad
 * environment, admin without a token off loopback, port taken) says why and
 * exits 1. On SIGTERM/SIGINT the app closes gracefully — each worker
 * finishes its current batch, relays release their leader lock — and the
 * process exits 0.
 */
export async function bootstrap(name: string, module: Type<unknown>, options: BootstrapOptions): Promise<INestApplication> {
  let logger: NestPinoLogger | undefined;
  let started!: (app: INestApplication) => void;
  const ready = new Promise<INestApplication>((resolve) => (started = resolve));
  // From the first moment: a deploy may stop a process that is still starting, and it must still close cleanly.
  const log = (message: string, failure = false) => (logger ? (failure ? logger.error(message) : logger.log(message)) : process.stderr.write(`${message}\n`));
  if (options.handleSignals ?? true) exitOnSignals(ready, log);
  try {
    const config = loadConfig();
    const pino = createLogger(config.logLevel, { app: name });
    logger = new NestPinoLogger(pino);
    const root = withProcessWiring(module, config, pino);
    const app =
      options.http === 'admin'
        ? await startAdmin(name, root, config, logger)
        : await startObservability(name, root, config, logger, config.httpPorts[options.http]);
    started(app);
    return app;
  } catch (error) {
    return failedToStart(name, error, logger);
  }
}

async function startAdmin(name: string, module: DynamicModule, config: TributaryConfig, logger: NestPinoLogger): Promise<INestApplication> {
  // Loaded here, not at the top: the relay and worker must not pay for the admin's API, docs and dashboard.
  const { configureAdminHttp, decideAdminToken, withAdminToken } = await import('@tributary/admin');
  // Decided before Nest starts: a refusal must not leave a half-migrated control schema behind.
  const token = decideAdminToken(config.admin);
  const app = await NestFactory.create<NestExpressApplication>(withAdminToken(module, token), { logger, bodyParser: false, abortOnError: false });
  configureAdminHttp(app);
  await app.listen(config.admin.port, config.admin.host);
  const url = listeningUrl(app, config.admin.host);
  logger.log(`${name} listening on ${url}`);
  if (token.generated) printGeneratedToken(token.token, url);
  return app;
}

/**
 * Relay and worker: replication is the job, /health and /metrics are extras.
 * A port already taken (a second relay on the same host) is logged loudly
 * and the process keeps replicating without them.
 */
async function startObservability(
  name: string,
  module: DynamicModule,
  config: TributaryConfig,
  logger: NestPinoLogger,
  port: number,
): Promise<INestApplication> {
  const app = await NestFactory.create<NestExpressApplication>(module, { logger, bodyParser: false, abortOnError: false });
  configureObservabilityHttp(app);
  await app.init();
  try {
    await app.listen(port, config.admin.host);
    logger.log(`${name} started; health and metrics on ${listeningUrl(app, config.admin.host)}`);
  } catch (error) {
    const variable = name === 'relay' ? 'RELAY_HTTP_PORT' : 'WORKER_HTTP_PORT';
    logger.error(
      `${name} started WITHOUT /health and /metrics: cannot listen on ${config.admin.host}:${port} (${(error as Error).message}); ` +
        `give each process on this host its own ${variable} (0 picks a free port)`,
    );
  }
  return app;
}

/**
 * On SIGTERM or SIGINT: a graceful close once the app has started (at once
 * if it has), then exit 0; exit 1 if the close fails or takes too long, or
 * if the app is still not started STARTING_GRACE_MS after the signal (it
 * may wait for a migration lock or a database that is down).
 */
function exitOnSignals(ready: Promise<INestApplication>, log: (message: string, failure?: boolean) => void): void {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      log(`${signal}: shutting down`);
      setTimeout(() => process.exit(1), SHUTDOWN_TIMEOUT_MS).unref();
      const starting = setTimeout(() => {
        log(`${signal}: still starting after ${STARTING_GRACE_MS} ms; exiting without a graceful close`, true);
        process.exit(1);
      }, STARTING_GRACE_MS);
      ready
        .then((app) => {
          clearTimeout(starting);
          return app.close();
        })
        .then(
          () => process.exit(0),
          (error: unknown) => {
            log(`shutdown failed: ${(error as Error).message}`, true);
            process.exit(1);
          },
        );
    });
  }
}

function failedToStart(name: string, error: unknown, logger: NestPinoLogger | undefined): never {
  const message = `${name} failed to start: ${error instanceof Error ? error.message : String(error)}`;
  // Without a logger the environment itself was bad: plain text for the person reading the terminal.
  if (logger) logger.error(message);
  else process.stderr.write(`${message}\n`);
  process.exit(1);
}

function listeningUrl(app: INestApplication, host: string): string {
  const address = (app.getHttpServer() as { address(): AddressInfo | string | null }).address();
  const port = address && typeof address === 'object' ? address.port : '?';
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** Once, to stdout and never to the logs, like Jupyter: the local user needs it to get in. */
function printGeneratedToken(token: string, url: string): void {
  process.stdout.write(
    `\nADMIN_TOKEN is not set: this process generated an admin token, valid until it exits:\n\n` +
      `    ${token}\n\n` +
      `Sign in at ${url}/login, or send "Authorization: Bearer <token>". Set ADMIN_TOKEN to choose your own.\n\n`,
  );
}
