import { Body, Controller, Get, Post, Query, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { CookieOptions, Request, Response } from 'express';
import { authFailureBody } from './auth-failure';
import { Authenticator, tooManyWrongTokensMessage } from './authenticator';
import { LoginDto } from './login.dto';
import { LOGIN_PAGE_CSP, loginPage, safeNextPath } from './login-page';
import { SESSION_COOKIE, SESSION_TTL_MS } from './session-cookie';

/**
 * Browser sign-in: `GET /login` shows a form, `POST /login` trades the token
 * for an HttpOnly session cookie (an HMAC of the token, never the token),
 * `POST /logout` clears it. Public paths: they are how one gets a session.
 */
@ApiExcludeController()
@Controller()
export class LoginController {
  constructor(private readonly authenticator: Authenticator) {}

  @Get('login')
  form(@Query('next') next: unknown, @Res() res: Response): void {
    sendPage(res, 200, loginPage({ next: safeNextPath(next) }));
  }

  @Post('login')
  async login(@Body() body: LoginDto, @Req() req: Request, @Res() res: Response): Promise<void> {
    const next = safeNextPath(body.next);
    const fromForm = typeof req.is('application/x-www-form-urlencoded') === 'string';
    const tried = this.authenticator.tryToken(body.token, req.ip);
    if (!tried.ok) {
      const [status, message] = tried.waitSeconds === null ? ([403, 'wrong token'] as const) : ([429, tooManyWrongTokensMessage(tried.waitSeconds)] as const);
      if (tried.waitSeconds !== null) res.setHeader('Retry-After', String(tried.waitSeconds));
      if (fromForm) sendPage(res, status, loginPage({ next, error: status === 403 ? 'Wrong token.' : `Too many wrong tokens: try again in ${tried.waitSeconds} s.` }));
      else res.status(status).json(authFailureBody(status, message));
      return;
    }
    res.cookie(SESSION_COOKIE, await this.authenticator.openSession(), { ...cookieOptions(req), maxAge: SESSION_TTL_MS });
    if (fromForm) res.redirect(303, next);
    else res.status(204).end();
  }

  /** Ends the session for every admin process (SessionStore), not only in this browser. */
  @Post('logout')
  async logout(@Req() req: Request, @Res() res: Response): Promise<void> {
    await this.authenticator.signOut(req.headers.cookie);
    res.clearCookie(SESSION_COOKIE, cookieOptions(req));
    res.redirect(303, '/login');
  }
}

function cookieOptions(req: Request): CookieOptions {
  // Secure only when the request came over TLS: the admin usually runs on plain http://127.0.0.1.
  return { httpOnly: true, sameSite: 'strict', path: '/', secure: req.secure };
}

function sendPage(res: Response, status: number, html: string): void {
  res.status(status).setHeader('Content-Security-Policy', LOGIN_PAGE_CSP).setHeader('Cache-Control', 'no-store').type('html').send(html);
}
