import { join } from 'node:path';

export type AppName = 'relay' | 'worker' | 'admin' | 'tributary';

/** Apps shipped as one bundled file (scripts/bundle-apps.mjs): the ones whose start-up holds replication up. */
const BUNDLED: ReadonlySet<AppName> = new Set(['relay', 'worker']);

/**
 * The script users run for an app, under `root` (the repository): the
 * bundle for relay and worker, tsc's output for the others. Tests and the
 * bench start exactly what package.json, the Dockerfile and
 * docker-compose.yml start.
 */
export function appEntry(root: string, app: AppName): string {
  return BUNDLED.has(app) ? join(root, 'dist', 'apps', app, 'main.js') : join(root, 'dist', 'apps', app, 'src', 'main.js');
}
