import { DynamicModule, Module, Type } from '@nestjs/common';
import { AdminTokenDecision } from './admin-token';

/** Injection token of a decision made before the app was built (see withAdminToken). */
export const DECIDED_ADMIN_TOKEN = Symbol('DECIDED_ADMIN_TOKEN');

@Module({})
class DecidedAdminTokenModule {}

/**
 * Wraps an app's root module so the admin uses a token decided before Nest
 * starts: bootstrap refuses a tokenless non-loopback admin before any
 * database is opened or migrated, and prints the same token it hands in here.
 */
export function withAdminToken(root: Type<unknown> | DynamicModule, decision: AdminTokenDecision): DynamicModule {
  return {
    module: DecidedAdminTokenModule,
    global: true,
    imports: [root],
    providers: [{ provide: DECIDED_ADMIN_TOKEN, useValue: decision }],
    exports: [DECIDED_ADMIN_TOKEN],
  };
}
