/**
 * Paths that answer without a token: probes, the Prometheus scrape and the
 * login page. Everything else — /api, /docs, /queues, unknown paths — needs
 * one (closed by default, invariant 10).
 */
const PUBLIC_PATHS = new Set(['/health', '/health/live', '/metrics', '/login', '/logout']);

/** Express routes case-insensitively and ignores a trailing slash; so does this check. */
export function isPublicPath(path: string): boolean {
  return PUBLIC_PATHS.has(normalisePath(path));
}

/** /api is for programs; every other protected surface is opened by browsers and gets a Basic challenge. */
export function isApiPath(path: string): boolean {
  const normalised = normalisePath(path);
  return normalised === '/api' || normalised.startsWith('/api/');
}

function normalisePath(path: string): string {
  const lower = path.toLowerCase();
  const trimmed = lower.replace(/\/+$/, '');
  return trimmed === '' ? '/' : trimmed;
}
