/**
 * Where Redis is, from REDIS_URL: one server (`redis://` or `rediss://`, as
 * ioredis reads it) or a Redis Cluster named by some of its nodes
 * (`redis-cluster://[user:password@]host:port[,host:port…]`; the client
 * finds the others).
 */
export type RedisLocation =
  | { kind: 'server'; url: string }
  | { kind: 'cluster'; nodes: Array<{ host: string; port: number }>; username: string | undefined; password: string | undefined };

const CLUSTER_SCHEME = 'redis-cluster://';

/** @throws Error saying what is wrong with the URL (never echoing a password). */
export function parseRedisLocation(url: string): RedisLocation {
  if (!url.startsWith(CLUSTER_SCHEME)) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new Error('not a URL (redis://host:port, rediss://… or redis-cluster://host:port,host:port)');
    }
    if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') throw new Error(`scheme ${parsed.protocol} is not redis:, rediss: or redis-cluster:`);
    return { kind: 'server', url };
  }
  const rest = url.slice(CLUSTER_SCHEME.length);
  const at = rest.lastIndexOf('@');
  const credentials = at >= 0 ? rest.slice(0, at) : null;
  const hosts = at >= 0 ? rest.slice(at + 1) : rest;
  const nodes = hosts.replace(/\/$/, '').split(',').map(clusterNode);
  if (credentials === null) return { kind: 'cluster', nodes, username: undefined, password: undefined };
  const colon = credentials.indexOf(':');
  const username = decodeURIComponent(colon >= 0 ? credentials.slice(0, colon) : credentials) || undefined;
  const password = colon >= 0 ? decodeURIComponent(credentials.slice(colon + 1)) || undefined : undefined;
  return { kind: 'cluster', nodes, username, password };
}

function clusterNode(text: string): { host: string; port: number } {
  const match = /^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):(\d{1,5})$/.exec(text);
  const port = match ? Number(match[2]) : NaN;
  if (!match || port < 1 || port > 65535) throw new Error(`cluster node "${text}" is not host:port`);
  return { host: match[1].replace(/^\[|\]$/g, ''), port };
}
