import { Connection, createConnection } from 'mysql2/promise';

/**
 * A concurrent random workload on one table shaped like
 * `items(id INT PRIMARY KEY, grp INT, name VARCHAR(64), amount DECIMAL(12,2),
 * noted DATETIME(6), payload JSON)`: multi-row transactions, updates of the
 * same keys from several connections, deletes and re-inserts, key changes,
 * NOW(6) and RAND(), and rollbacks.
 */
export const ITEMS_DDL = `CREATE TABLE items (
  id INT NOT NULL PRIMARY KEY,
  grp INT NOT NULL,
  name VARCHAR(64) NOT NULL,
  amount DECIMAL(12,2) NULL,
  noted DATETIME(6) NULL,
  payload JSON NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`;

export interface WorkloadOptions {
  connections: number;
  transactionsPerConnection: number;
  keySpace: number;
  /** Checked between transactions: stop early when it returns true. */
  stop?: () => boolean;
}

export interface WorkloadStats {
  committed: number;
  rolledBack: number;
  failed: number;
}

export async function runItemsWorkload(url: string, options: WorkloadOptions): Promise<WorkloadStats> {
  const key = () => 1 + Math.floor(Math.random() * options.keySpace);
  return runTransactionLoops(
    url,
    options.connections,
    (_, t) => t < options.transactionsPerConnection && !options.stop?.(),
    async (connection) => {
      const statements = 1 + Math.floor(Math.random() * 4);
      for (let s = 0; s < statements; s++) await randomStatement(connection, key);
      return Math.random() < 0.15 ? 'rollback' : 'commit';
    },
  );
}

/** How a transaction of a loop ends, as its body decides (an application that changes its mind rolls back). */
export type TransactionEnd = 'commit' | 'rollback';

/**
 * `connections` connections, each running transactions while `more(lane,
 * t)` says so: `body` between BEGIN and the COMMIT or ROLLBACK it asks for.
 * A failing body (a deadlock, a duplicate key: part of a real workload) is
 * rolled back and counted.
 */
export async function runTransactionLoops<S extends WorkloadStats = WorkloadStats>(
  url: string,
  connections: number,
  more: (lane: number, t: number) => boolean,
  body: (connection: Connection, lane: number, t: number) => Promise<TransactionEnd>,
  stats: S = { committed: 0, rolledBack: 0, failed: 0 } as S,
): Promise<S> {
  await Promise.all(
    Array.from({ length: connections }, async (_, lane) => {
      const connection = await createConnection({ uri: url });
      try {
        for (let t = 0; more(lane, t); t++) {
          await connection.query('BEGIN');
          try {
            const end = await body(connection, lane, t);
            await connection.query(end === 'commit' ? 'COMMIT' : 'ROLLBACK');
            if (end === 'commit') stats.committed++;
            else stats.rolledBack++;
          } catch {
            await connection.query('ROLLBACK').catch(() => undefined);
            stats.failed++;
          }
        }
      } finally {
        await connection.end();
      }
    }),
  );
  return stats;
}

type Query = { query(sql: string, values?: unknown[]): Promise<unknown> };

async function randomStatement(connection: Query, key: () => number): Promise<void> {
  const dice = Math.random();
  if (dice < 0.35) {
    await connection.query(
      `INSERT INTO items (id, grp, name, amount, noted, payload) VALUES (?, ?, ?, ROUND(RAND() * 1000, 2), NOW(6), JSON_OBJECT('r', RAND(), 'n', ?))
       ON DUPLICATE KEY UPDATE name = VALUES(name), amount = VALUES(amount), noted = VALUES(noted), payload = VALUES(payload)`,
      [key(), Math.floor(Math.random() * 5), `n${Math.random().toString(36).slice(2, 8)} ✓`, Math.floor(Math.random() * 1e6)],
    );
  } else if (dice < 0.6) {
    await connection.query('UPDATE items SET amount = amount + ROUND(RAND() * 10, 2), noted = NOW(6) WHERE id = ?', [key()]);
  } else if (dice < 0.7) {
    await connection.query('UPDATE items SET grp = grp + 1, name = CONCAT(name, "+") WHERE grp = ? AND id < ?', [Math.floor(Math.random() * 5), key()]);
  } else if (dice < 0.85) {
    await connection.query('DELETE FROM items WHERE id = ?', [key()]);
  } else {
    // Key change: moves the row at the target (old key gone, new key present).
    await connection.query('UPDATE items SET id = ? WHERE id = ?', [key() + 100_000, key()]);
  }
}

/** Keys the multi-leader workloads write (kvWorkload): every side writes all of them. */
const KV_KEYS = 60;

/** A table every node of a multi-leader test has, with the version column newer-wins reads. */
export const KV_DDL = `CREATE TABLE kv (
  id INT NOT NULL PRIMARY KEY,
  v INT NOT NULL,
  note VARCHAR(32) NULL,
  updated_at DATETIME(6) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`;

/** The rows every node starts with, before capture. */
export const KV_SEED = `INSERT INTO kv (id, v, note, updated_at) SELECT seq, 0, 'seed', '2024-01-01 00:00:00' FROM seq_1_to_40`;

/**
 * Writes on one node, on keys every node writes: updates (the version column
 * set to NOW(6)), inserts of new and existing keys, and (unless `deletes` is
 * false) deletes. Returns how many statements committed.
 */
export async function kvWorkload(url: string, side: string, stop: () => boolean, options: { deletes?: boolean } = {}): Promise<number> {
  const connection = await createConnection({ uri: url });
  const deletes = options.deletes ?? true;
  let committed = 0;
  try {
    while (!stop()) {
      const id = 1 + Math.floor(Math.random() * KV_KEYS);
      const dice = Math.random();
      try {
        if (dice < 0.6) {
          await connection.query('UPDATE kv SET v = v + 1, note = ?, updated_at = NOW(6) WHERE id = ?', [`${side}${committed}`, id]);
        } else if (dice < 0.85 || !deletes) {
          await connection.query(
            'INSERT INTO kv (id, v, note, updated_at) VALUES (?, 1, ?, NOW(6)) ON DUPLICATE KEY UPDATE v = v + 10, note = VALUES(note), updated_at = NOW(6)',
            [id, `${side}-new${committed}`],
          );
        } else {
          await connection.query('DELETE FROM kv WHERE id = ?', [id]);
        }
        committed++;
      } catch {
        // A lock wait with the worker applying another node's change: part of a real workload.
      }
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  } finally {
    await connection.end();
  }
  return committed;
}
