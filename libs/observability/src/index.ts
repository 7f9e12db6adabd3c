/**
 * The HTTP surface every process has: /health, /metrics and the request
 * log. Its own lib so that the relay and worker start without loading the
 * admin's API, dashboard and docs (a second of start-up each).
 */
export * from './observability.module';
export { configureObservabilityHttp } from './configure-http';
export { requestIdOf } from './request-context';
