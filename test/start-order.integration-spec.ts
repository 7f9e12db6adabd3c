import { randomBytes } from 'node:crypto';
import { createConnection, RowDataPacket } from 'mysql2/promise';
import {
  AppProcess,
  createMysqlDatabase,
  createPostgresDatabase,
  deleteRedisPrefix,
  freePort,
  ITEMS_DDL,
  startApp,
  TEST_REDIS_URL,
  TestDatabase,
  uniqueName,
  waitFor,
} from '@tributary/testing';

/**
 * Deployments start every app at once (`docker compose up`, Kubernetes), in
 * no particular order, against a control database nobody migrated yet. Each
 * app must wait for whichever one migrates, not die on knex's migration lock
 * (before: in 4 of 5 tries one or two of the three died at once).
 */
const TOKEN = `start-${randomBytes(12).toString('hex')}`;

interface Deployment {
  control: TestDatabase;
  prefix: string;
  base: string;
  env: Record<string, string>;
  apps: AppProcess[];
}

async function startAllAtOnce(): Promise<Deployment> {
  const control = await createMysqlDatabase('trib_start');
  const prefix = uniqueName('trib_start');
  const port = await freePort();
  const env = {
    CONTROL_DATABASE_URL: control.url,
    REDIS_URL: TEST_REDIS_URL,
    REDIS_PREFIX: prefix,
    ADMIN_TOKEN: TOKEN,
    ADMIN_PORT: String(port),
    RELAY_HTTP_PORT: '0',
    WORKER_HTTP_PORT: '0',
    CONFIG_REFRESH_MS: '300',
    LOG_LEVEL: 'warn',
  };
  const apps = (['relay', 'worker', 'admin'] as const).map((app) => startApp(app, env));
  return { control, prefix, base: `http://127.0.0.1:${port}`, env, apps };
}

async function stop(deployment: Deployment): Promise<void> {
  await Promise.all(deployment.apps.map((app) => app.kill('SIGKILL')));
  await deleteRedisPrefix(TEST_REDIS_URL, deployment.prefix).catch(() => undefined);
  await deployment.control.drop();
}

/** Admin answers /health, and none of the three has exited (a migration-lock failure exits at once). */
async function allRunning(deployment: Deployment): Promise<void> {
  const dead = () => deployment.apps.find((app) => app.child.exitCode !== null);
  await waitFor(
    async () => {
      const exited = dead();
      if (exited) throw new Error(`${exited.name} exited ${exited.child.exitCode}:\n${exited.output()}`);
      return (await fetch(`${deployment.base}/health`).catch(() => null))?.status === 200;
    },
    { timeoutMs: 30_000, what: 'the admin to answer /health' },
  );
  // The relay and the worker finished starting too: they migrate (or wait) before they serve anything.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const exited = dead();
  if (exited) throw new Error(`${exited.name} exited ${exited.child.exitCode}:\n${exited.output()}`);
}

async function api(deployment: Deployment, method: string, path: string, body?: unknown): Promise<number> {
  const response = await fetch(`${deployment.base}/api${path}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status >= 300) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  return response.status;
}

describe('relay, worker and admin started at the same moment on a fresh control database', () => {
  it('all start, whoever migrates first, round after round', async () => {
    for (let round = 0; round < 3; round += 1) {
      const deployment = await startAllAtOnce();
      try {
        await allRunning(deployment);
      } finally {
        await stop(deployment);
      }
    }
  }, 120_000);

  it('then replicate', async () => {
    const source = await createMysqlDatabase('trib_start_src');
    const target = await createPostgresDatabase('trib_start_pg');
    const deployment = await startAllAtOnce();
    try {
      await allRunning(deployment);
      await source.knex.raw(ITEMS_DDL);
      await api(deployment, 'POST', '/sources', { id: 'src', url: source.url });
      await api(deployment, 'PUT', '/sources/src/tables/items');
      await api(deployment, 'POST', '/targets', { id: 'pg', kind: 'postgres', url: target.url });
      await api(deployment, 'POST', '/routes', { id: 'items-pg', sourceId: 'src', table: 'items', targetId: 'pg' });
      await source.knex.raw("INSERT INTO items (id, grp, name) VALUES (1, 1, 'started together')");
      await waitFor(async () => (await target.knex.raw("SELECT 1 FROM items WHERE name = 'started together'").catch(() => ({ rows: [] }))).rows.length === 1, {
        timeoutMs: 30_000,
        what: 'the row at PostgreSQL',
      });
    } finally {
      await stop(deployment);
      await source.drop();
      await target.drop();
    }
  }, 60_000);

  it('a process stopped while it still starts (waiting for the migration) finishes starting, closes cleanly and exits 0', async () => {
    const control = await createMysqlDatabase('trib_start_stop');
    const prefix = uniqueName('trib_start_stop');
    // Another process "is migrating": this connection holds the migration lock the relay will wait for.
    const holder = await createConnection({ uri: control.url });
    let relay: AppProcess | null = null;
    try {
      const [held] = await holder.query<RowDataPacket[]>(
        "SELECT GET_LOCK(CONCAT('tributary_migrate_', SHA1(CONCAT(DATABASE(), '/', 'tributary_migrations'))), 10) AS got",
      );
      expect(Number(held[0].got)).toBe(1);
      relay = startApp('relay', { CONTROL_DATABASE_URL: control.url, REDIS_URL: TEST_REDIS_URL, REDIS_PREFIX: prefix, RELAY_HTTP_PORT: '0', LOG_LEVEL: 'info' });
      const waiting = async () => {
        const [rows] = await holder.query<RowDataPacket[]>(
          "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE DB = DATABASE() AND INFO LIKE 'SELECT GET_LOCK(CONCAT(''tributary_migrate_''%' AND ID <> CONNECTION_ID()",
        );
        return Number(rows[0].n) > 0;
      };
      await waitFor(waiting, { timeoutMs: 30_000, what: 'the relay to wait for the migration lock' });
      const started = relay;
      const exited = new Promise<number | null>((resolve) => started.child.once('exit', (code) => resolve(code)));
      relay.child.kill('SIGTERM');
      await new Promise((resolve) => setTimeout(resolve, 500));
      // Not killed by the signal: it waits to finish starting.
      expect({ code: relay.child.exitCode, signal: relay.child.signalCode }).toEqual({ code: null, signal: null });
      await holder.query("SELECT RELEASE_LOCK(CONCAT('tributary_migrate_', SHA1(CONCAT(DATABASE(), '/', 'tributary_migrations'))))");
      expect(await exited).toBe(0); // one SIGTERM: a second one kills at once, as the operator asks
      expect(relay.output()).toContain('SIGTERM: shutting down');
    } finally {
      await relay?.kill('SIGKILL');
      await holder.end();
      await deleteRedisPrefix(TEST_REDIS_URL, prefix).catch(() => undefined);
      await control.drop();
    }
  }, 60_000);

  it('refuses to start against a control schema a newer version migrated, saying so', async () => {
    const deployment = await startAllAtOnce();
    try {
      await allRunning(deployment);
      await deployment.control.knex.raw("INSERT INTO tributary_migrations (name, batch, migration_time) VALUES ('999_from_the_future', 99, NOW())");
      const relay = startApp('relay', deployment.env);
      deployment.apps.push(relay);
      await waitFor(async () => relay.child.exitCode !== null, { timeoutMs: 30_000, what: 'the relay to refuse to start' });
      expect(relay.child.exitCode).toBe(1);
      expect(relay.output()).toContain('was migrated by a newer Tributary (999_from_the_future unknown to this version)');
    } finally {
      await stop(deployment);
    }
  }, 60_000);
});
