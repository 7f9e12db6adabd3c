// What the apps and verify use; the rest of the worker is its own business.
export { WorkerModule } from './worker.module';
export { RouteConfigError, routePlan } from './route-plan';
export type { RoutePlan } from './route-plan';
