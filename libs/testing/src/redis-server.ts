import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import IORedis from 'ioredis';
import { waitFor } from './wait';

/**
 * A private redis-server on a free port, without persistence: tests that
 * FLUSHALL or restart Redis must not touch the shared one other suites use.
 */
export interface PrivateRedis {
  url: string;
  stop(): Promise<void>;
}

export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction'], {
    stdio: 'ignore',
  });
  const url = `redis://127.0.0.1:${port}`;
  await waitFor(
    async () => {
      const client = new IORedis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      try {
        await client.connect();
        return (await client.ping()) === 'PONG';
      } finally {
        client.disconnect();
      }
    },
    { timeoutMs: 10_000, what: 'private redis-server' },
  );
  return {
    url,
    async stop() {
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** A private Redis Cluster of three masters on free ports, without persistence. */
export interface PrivateRedisCluster {
  /** REDIS_URL for Tributary: redis-cluster://127.0.0.1:<port>,… */
  url: string;
  ports: number[];
  /** FLUSHALL on every node: the cluster loses all its data. */
  flushAll(): Promise<void>;
  stop(): Promise<void>;
}

export async function startRedisCluster(): Promise<PrivateRedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'trib-cluster-'));
  const ports = await clusterPorts(3);
  const children = ports.map((port) =>
    spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--cluster-node-timeout', '2000'],
      { cwd: dir, stdio: 'ignore' },
    ).on('error', () => undefined),
  );
  const stop = async () => {
    await Promise.all(children.map((child) => (child.exitCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', resolve).kill('SIGKILL')))));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const port of ports) await waitFor(async () => ping(port), { timeoutMs: 10_000, what: `cluster node ${port}` });
    await run('redis-cli', ['--cluster', 'create', ...ports.map((port) => `127.0.0.1:${port}`), '--cluster-replicas', '0', '--cluster-yes']);
    for (const port of ports) await waitFor(async () => (await clusterState(port)) === 'ok', { timeoutMs: 20_000, what: `cluster state ok at ${port}` });
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    url: `redis-cluster://${ports.map((port) => `127.0.0.1:${port}`).join(',')}`,
    ports,
    async flushAll() {
      for (const port of ports) await withNode(port, (node) => node.flushall());
    },
    stop,
  };
}

/** Free ports whose cluster bus port (+10000) is free too. */
async function clusterPorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < count) {
    const port = 20_000 + Math.floor(Math.random() * 30_000);
    if (!ports.includes(port) && (await isFree(port)) && (await isFree(port + 10_000))) ports.push(port);
  }
  return ports;
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

async function withNode<T>(port: number, work: (node: IORedis) => Promise<T>): Promise<T> {
  const node = new IORedis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  try {
    await node.connect();
    return await work(node);
  } finally {
    node.disconnect();
  }
}

async function ping(port: number): Promise<boolean> {
  return (await withNode(port, (node) => node.ping())) === 'PONG';
}

async function clusterState(port: number): Promise<string | null> {
  const info = await withNode(port, (node) => node.cluster('INFO') as Promise<string>);
  return /cluster_state:(\w+)/.exec(info)?.[1] ?? null;
}

function run(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let errors = '';
    child.stderr?.on('data', (chunk: Buffer) => (errors += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${errors}`))));
  });
}
