import { RequestHandler } from 'express';

/**
 * Headers every admin response carries (the API, /docs, /queues, the login
 * page, which sets a stricter CSP of its own): never framed (clickjacking),
 * never MIME-sniffed, no referrer leaving the admin, no plugins, forms and
 * <base> only to ourselves. Scripts are not restricted here: Swagger UI and
 * bull-board ship inline ones, and without a browser test to prove a policy
 * keeps them working we do not guess one.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': "frame-ancestors 'none'; object-src 'none'; base-uri 'self'; form-action 'self'",
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
};

export const securityHeaders: RequestHandler = (_req, res, next) => {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
  next();
};

/**
 * bull-board is mounted read-only, but its "pause all" and "resume all"
 * answered 200 "All queues paused" and did nothing. Every dashboard request
 * that is not a read is refused with 405, saying where the real controls are.
 */
export const refuseDashboardWrites: RequestHandler = (req, res, next) => {
  if (req.method === 'GET' || req.method === 'HEAD') return next();
  res
    .status(405)
    .setHeader('Allow', 'GET, HEAD')
    .json({
      statusCode: 405,
      error: 'Method Not Allowed',
      message: 'the queue dashboard is read-only: pause or resume a route with POST /api/routes/{id}/pause or /resume; retry dead letters under /api/routes/{id}/dead-letters',
    });
};
