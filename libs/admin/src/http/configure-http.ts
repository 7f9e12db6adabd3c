import { INestApplication } from '@nestjs/common';
import { NestExpressApplication } from '@nestjs/platform-express';
import { LOGGER, Logger } from '@tributary/logger';
import { AuthMiddleware } from '../auth/auth.middleware';
import { DASHBOARD_PATH, QueueDashboard } from '../dashboard/queue-dashboard.service';
import { bodyParsers } from './body-parsers';
import { setupDocs } from './docs';
import { requestContext } from './request-context';

/**
 * Express-level setup of an app serving only health and metrics (relay,
 * worker). Call before listen; create the app with `bodyParser: false`.
 */
export function configureObservabilityHttp(app: INestApplication): void {
  const express = app as NestExpressApplication;
  express.disable('x-powered-by');
  express.use(requestContext(app.get<Logger>(LOGGER)));
}

/**
 * Express-level setup of an app with AdminModule. Order is the point:
 * request id and log, then the token check for every path (Swagger UI and
 * bull-board are plain express handlers no Nest guard sees), then body
 * parsing, then /docs and /queues. Call before listen; create the app with
 * `bodyParser: false`.
 */
export function configureAdminHttp(app: INestApplication): void {
  configureObservabilityHttp(app);
  const auth = app.get(AuthMiddleware);
  app.use(auth.use.bind(auth));
  for (const parser of bodyParsers()) app.use(parser);
  setupDocs(app);
  app.use(DASHBOARD_PATH, app.get(QueueDashboard).router);
}
