import { BenchDeployment } from './deployment';

/**
 * The environment every app of a deployment gets: its control database and
 * Redis prefix, quiet logs, and any free port for the relay's and worker's
 * /health (a fixed one may be taken by another session's apps on this
 * shared machine); `appEnv` (the bench's pass-through settings) wins.
 */
export function appEnvironment(deployment: Pick<BenchDeployment, 'control' | 'prefix'>, redisUrl: string, appEnv: Record<string, string>): Record<string, string> {
  return {
    CONTROL_DATABASE_URL: deployment.control.url,
    REDIS_URL: redisUrl,
    REDIS_PREFIX: deployment.prefix,
    LOG_LEVEL: 'warn',
    RELAY_HTTP_PORT: '0',
    WORKER_HTTP_PORT: '0',
    ...appEnv,
  };
}
