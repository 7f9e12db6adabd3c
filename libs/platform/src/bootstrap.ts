import { INestApplicationContext, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { loadConfig } from '@tributary/config';
import { createLogger, NestPinoLogger } from '@tributary/logger';

/**
 * Starts a process from a root module. `http` adds an HTTP server (admin);
 * otherwise an application context. SIGTERM/SIGINT close workers gracefully.
 */
export async function bootstrap(name: string, module: Type<unknown>, options: { http: boolean }): Promise<INestApplicationContext> {
  const config = loadConfig();
  const logger = new NestPinoLogger(createLogger(config.logLevel, { app: name }));
  if (options.http) {
    const app = await NestFactory.create(module, { logger, bufferLogs: false });
    app.enableShutdownHooks();
    await app.listen(config.admin.port, config.admin.host);
    logger.log(`${name} listening on http://${config.admin.host}:${config.admin.port}`);
    return app;
  }
  const app = await NestFactory.createApplicationContext(module, { logger });
  app.enableShutdownHooks();
  logger.log(`${name} started`);
  return app;
}
