import { INestApplication } from '@nestjs/common';
import { NestExpressApplication } from '@nestjs/platform-express';
import { LOGGER, Logger } from '@tributary/logger';
import { requestContext } from './request-context';

/**
 * Express-level setup of an app serving only health and metrics (relay,
 * worker), and the first step of the admin's. Call before listen; create
 * the app with `bodyParser: false`.
 */
export function configureObservabilityHttp(app: INestApplication): void {
  const express = app as NestExpressApplication;
  express.disable('x-powered-by');
  express.use(requestContext(app.get<Logger>(LOGGER)));
}
