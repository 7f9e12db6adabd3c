import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import express, { RequestHandler, Router } from 'express';

/** Where the admin serves the status page (issue #16): behind the same login as everything else. */
export const STATUS_PAGE_PATH = '/status';

/**
 * The page's own policy, stricter than the admin's: its scripts and styles
 * come only from the admin (a Vite build with no inline code, no CDN), it
 * talks only to the admin's API, and it is never framed.
 */
export const STATUS_PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/**
 * The built page (`npm run build:ui` → dist/status-ui): next to the compiled
 * admin (dist/libs/admin/src/http → dist/status-ui), or under the working
 * directory's dist when run from source; null if it was never built.
 */
export function statusPageDir(): string | null {
  const candidates = [resolve(__dirname, '../../../../status-ui'), resolve(process.cwd(), 'dist/status-ui')];
  return candidates.find((dir) => existsSync(join(dir, 'index.html'))) ?? null;
}

/** Serves the built page, its assets cached for good (their names carry a content hash), the page itself never. */
export function statusPageRouter(dir: string | null): Router {
  const router = Router();
  const policy: RequestHandler = (_req, res, next) => {
    res.setHeader('Content-Security-Policy', STATUS_PAGE_CSP);
    next();
  };
  if (dir === null) {
    router.use((_req, res) => {
      res.status(503).type('text').send('The status page is not built: run `npm run build` (it builds dist/status-ui).');
    });
    return router;
  }
  router.use(policy);
  router.use(
    '/assets',
    express.static(join(dir, 'assets'), { immutable: true, maxAge: '365d', fallthrough: false, index: false }),
  );
  router.get('/', (_req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.sendFile(join(dir, 'index.html'));
  });
  return router;
}
