import { INestApplicationContext, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { loadConfig } from '@tributary/config';
import { createLogger, NestPinoLogger } from '@tributary/logger';

/** How long a graceful shutdown may take before the process gives up and exits 1. */
const SHUTDOWN_TIMEOUT_MS = 30_000;

export interface BootstrapOptions {
  /** Add an HTTP server (admin, all-in-one); otherwise an application context. */
  http: boolean;
  /** Exit on SIGTERM/SIGINT after a graceful close (default). The demo handles signals itself. */
  handleSignals?: boolean;
}

/**
 * Starts a process from a root module. On SIGTERM/SIGINT the app closes
 * gracefully — each worker finishes its current batch, relays release their
 * leader lock — and the process exits 0.
 */
export async function bootstrap(name: string, module: Type<unknown>, options: BootstrapOptions): Promise<INestApplicationContext> {
  const config = loadConfig();
  const logger = new NestPinoLogger(createLogger(config.logLevel, { app: name }));
  let app: INestApplicationContext;
  if (options.http) {
    const http = await NestFactory.create(module, { logger });
    await http.listen(config.admin.port, config.admin.host);
    logger.log(`${name} listening on http://${config.admin.host}:${config.admin.port}`);
    app = http;
  } else {
    app = await NestFactory.createApplicationContext(module, { logger });
    logger.log(`${name} started`);
  }
  if (options.handleSignals ?? true) {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      process.once(signal, () => {
        logger.log(`${signal}: shutting down`);
        setTimeout(() => process.exit(1), SHUTDOWN_TIMEOUT_MS).unref();
        app.close().then(
          () => process.exit(0),
          (error: unknown) => {
            logger.error(`shutdown failed: ${(error as Error).message}`);
            process.exit(1);
          },
        );
      });
    }
  }
  return app;
}
