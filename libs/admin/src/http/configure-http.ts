import { INestApplication } from '@nestjs/common';
import { NextFunction, Request, Response } from 'express';
import { NestExpressApplication } from '@nestjs/platform-express';
import { CONFIG, TributaryConfig } from '@tributary/config';
import { configureObservabilityHttp } from '@tributary/observability';
import { AuthMiddleware } from '../auth/auth.middleware';
import { DASHBOARD_PATH, QueueDashboard } from '../dashboard/queue-dashboard.service';
import { bodyParsers } from './body-parsers';
import { setupDocs } from './docs';
import { STATUS_PAGE_PATH, statusPageDir, statusPageRouter } from './status-page';
import { refuseDashboardWrites, securityHeaders } from './security-headers';

/**
 * Express-level setup of an app with AdminModule. Order is the point:
 * request id and log, security headers on every answer, then the token check for every path (Swagger UI and
 * bull-board are plain express handlers no Nest guard sees), then body
 * parsing, then /docs, /queues and the status page (/status, where / leads). Call before listen; create the app with
 * `bodyParser: false`.
 */
export function configureAdminHttp(app: INestApplication): void {
  // Before anything reads req.ip or req.secure (the request log, the wrong-token limiter, the cookie's Secure flag).
  const { trustProxy } = app.get<TributaryConfig>(CONFIG).admin;
  if (trustProxy !== null) (app as NestExpressApplication).set('trust proxy', trustProxy);
  configureObservabilityHttp(app);
  app.use(securityHeaders);
  const auth = app.get(AuthMiddleware);
  app.use(auth.use.bind(auth));
  for (const parser of bodyParsers()) app.use(parser);
  setupDocs(app);
  app.use(DASHBOARD_PATH, refuseDashboardWrites, app.get(QueueDashboard).router);
  // The status page; the admin's root leads to it.
  app.use(STATUS_PAGE_PATH, statusPageRouter(statusPageDir()));
  app.use((req: Request, res: Response, next: NextFunction) => (req.method === 'GET' && req.path === '/' ? res.redirect(302, `${STATUS_PAGE_PATH}/`) : next()));
}
