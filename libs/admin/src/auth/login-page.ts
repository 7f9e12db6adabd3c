/** Escapes text for HTML content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

/** Content-Security-Policy of the login page: no scripts, posts only to ourselves, never framed. */
export const LOGIN_PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'";

/** The sign-in form: one password field, posted to /login. */
export function loginPage(options: { next: string; error?: string }): string {
  const error = options.error ? `<p class="error">${escapeHtml(options.error)}</p>` : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Tributary admin — sign in</title>
<style>
body { font-family: system-ui, sans-serif; display: grid; place-items: center; min-height: 90vh; margin: 0; }
form { display: grid; gap: .75rem; min-width: 18rem; }
input, button { font: inherit; padding: .5rem; }
.error { color: #b00020; margin: 0; }
</style>
</head>
<body>
<form method="post" action="/login">
<h1>Tributary admin</h1>
${error}
<label for="token">Admin token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
<input type="hidden" name="next" value="${escapeHtml(options.next)}">
<button type="submit">Sign in</button>
</form>
</body>
</html>
`;
}

/** Where to go after signing in: a path on this server only (no open redirect), else the dashboard. */
export function safeNextPath(next: unknown): string {
  if (typeof next !== 'string' || !/^\/(?![/\\])[\x21-\x7e]*$/.test(next)) return '/status/';
  return next;
}
