import { TargetConfigError } from './errors';
import { defaultTargetRegistry, TargetRegistry } from './registry';
import { Target } from './target';

describe('TargetRegistry', () => {
  it('knows postgres and mysql by default and builds them', async () => {
    const registry = defaultTargetRegistry();
    expect(registry.kinds()).toEqual(['http', 'mysql', 'nats', 'postgres', 'rabbitmq', 'redis', 'sqlite']);
    const target = registry.create({ kind: 'mysql', url: 'mariadb://root@127.0.0.1:3306/x' });
    expect(target.kind).toBe('mysql');
    await target.close();
  });

  it('knows which kinds can detect conflicts from their factories', () => {
    expect(defaultTargetRegistry().conflictKinds()).toEqual(['mysql', 'postgres', 'sqlite']);
  });

  it('names the known kinds when asked for an unknown one', () => {
    expect(() => defaultTargetRegistry().create({ kind: 'oracle', url: 'x' })).toThrow(/unknown target kind "oracle"; known kinds: http, mysql, nats, postgres, rabbitmq, redis, sqlite/);
  });

  it('refuses a kind registered twice', () => {
    const fake = { kind: 'fake', detectsConflicts: false, versionsPerSource: false, create: () => ({}) as Target };
    expect(() => new TargetRegistry().register(fake).register(fake)).toThrow(TargetConfigError);
  });

  it('refuses a bad URL or option without echoing the password', () => {
    const registry = defaultTargetRegistry();
    const error = catchError(() => registry.create({ kind: 'postgres', url: 'mysql://u:hunter22@h/db' }));
    expect(error).toBeInstanceOf(TargetConfigError);
    expect(String(error)).toContain('mysql://u:***@h/db');
    expect(String(error)).not.toContain('hunter22');
    expect(() => registry.create({ kind: 'postgres', url: 'postgres://h/db', options: { poolMax: 0 } })).toThrow(/poolMax/);
    expect(() => registry.create({ kind: 'postgres', url: 'postgres://h/db', options: { nope: 1 } })).toThrow(/unknown option nope/);
    expect(() => registry.create({ kind: 'postgres', url: 'postgres://h' })).toThrow(/names no database/);
  });
});

function catchError(work: () => unknown): unknown {
  try {
    work();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}
