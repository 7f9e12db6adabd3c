import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { CONFIG, TributaryConfig } from '@tributary/config';
import { AdminTokenDecision, decideAdminToken } from './admin-token';
import { AuthGuard } from './auth.guard';
import { AuthMiddleware } from './auth.middleware';
import { ADMIN_TOKEN_DECISION, Authenticator } from './authenticator';
import { DECIDED_ADMIN_TOKEN } from './decided-token.module';
import { LoginController } from './login.controller';
import { SessionStore } from './session-store';

/**
 * Token authentication for everything but health, metrics and the login
 * page: AuthMiddleware in front of every request (installed by
 * configureAdminHttp), AuthGuard behind it on every Nest route.
 */
@Module({
  controllers: [LoginController],
  providers: [
    {
      provide: ADMIN_TOKEN_DECISION,
      inject: [CONFIG, { token: DECIDED_ADMIN_TOKEN, optional: true }],
      useFactory: (config: TributaryConfig, decided?: AdminTokenDecision): AdminTokenDecision => decided ?? decideAdminToken(config.admin),
    },
    SessionStore,
    Authenticator,
    AuthMiddleware,
    { provide: APP_GUARD, useClass: AuthGuard },
  ],
  exports: [Authenticator, AuthMiddleware, ADMIN_TOKEN_DECISION],
})
export class AuthModule {}
