import { parseRedisLocation } from './redis-location';

describe('parseRedisLocation (REDIS_URL)', () => {
  it('takes one server as ioredis reads it', () => {
    expect(parseRedisLocation('redis://127.0.0.1:6379')).toEqual({ kind: 'server', url: 'redis://127.0.0.1:6379' });
    expect(parseRedisLocation('rediss://user:pw@cache.example:6380/2')).toEqual({ kind: 'server', url: 'rediss://user:pw@cache.example:6380/2' });
  });

  it('takes a cluster as its seed nodes, with credentials for every node', () => {
    expect(parseRedisLocation('redis-cluster://10.0.0.1:7000,10.0.0.2:7001,[::1]:7002')).toEqual({
      kind: 'cluster',
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: '10.0.0.2', port: 7001 },
        { host: '::1', port: 7002 },
      ],
      username: undefined,
      password: undefined,
    });
    expect(parseRedisLocation('redis-cluster://app:p%40ss@node-a:7000')).toMatchObject({ username: 'app', password: 'p@ss', nodes: [{ host: 'node-a', port: 7000 }] });
    expect(parseRedisLocation('redis-cluster://:secret@node-a:7000')).toMatchObject({ username: undefined, password: 'secret' });
  });

  it('refuses what is not one, without echoing a password', () => {
    expect(() => parseRedisLocation('http://127.0.0.1:6379')).toThrow('scheme http: is not redis:, rediss: or redis-cluster:');
    expect(() => parseRedisLocation('not a url')).toThrow(/not a URL/);
    expect(() => parseRedisLocation('redis-cluster://node-a')).toThrow('cluster node "node-a" is not host:port');
    expect(() => parseRedisLocation('redis-cluster://node-a:99999')).toThrow(/is not host:port/);
    expect(() => parseRedisLocation('redis-cluster://u:hunter2@node-a:7000,')).toThrow(/cluster node "" is not host:port/);
    expect(() => parseRedisLocation('redis-cluster://u:hunter2@bad')).not.toThrow(/hunter2/);
  });
});
