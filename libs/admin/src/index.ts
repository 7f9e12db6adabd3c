export * from './admin.module';
export { AdminTokenRequiredError, decideAdminToken, isLoopbackHost } from './auth/admin-token';
export type { AdminTokenDecision } from './auth/admin-token';
export { ADMIN_TOKEN_DECISION } from './auth/authenticator';
export { withAdminToken } from './auth/decided-token.module';
export { configureAdminHttp } from './http/configure-http';
export type { ErrorBody } from './http/error-response';
export type { FieldProblem } from './http/validation';
