import { Knex } from 'knex';
import { Connection } from 'mysql2/promise';

/**
 * The benchmark's table: shaped like the end-to-end tests' `items` (an INT
 * key and a DECIMAL, a VARCHAR, a DATETIME(6) and a JSON column), so the
 * triggers build images with every kind of conversion a typical table needs.
 */
export function itemsDdl(table: string): string {
  return `CREATE TABLE \`${table}\` (
    id INT NOT NULL PRIMARY KEY,
    grp INT NOT NULL,
    name VARCHAR(64) NOT NULL,
    amount DECIMAL(12,2) NULL,
    noted DATETIME(6) NULL,
    payload JSON NULL
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`;
}

/** One row of an items-shaped table, as an application writes it: a single autocommitted INSERT. */
export async function insertItem(writer: Connection, table: string, id: number): Promise<void> {
  await writer.execute(`INSERT INTO \`${table}\` (id, grp, name, amount, noted, payload) VALUES (?, ?, ?, ?, NOW(6), JSON_OBJECT('n', ?))`, [
    id,
    id % 7,
    `item ${id}`,
    (id * 0.37).toFixed(2),
    id,
  ]);
}

/**
 * Rows `from`..`to` of an items-shaped table in one set-based statement
 * (MariaDB's SEQUENCE engine): how the drain's backlog and the snapshot's
 * table are filled, with the same values either way.
 */
export async function insertItemRange(knex: Knex, table: string, from: number, to: number): Promise<void> {
  await knex.raw(
    `INSERT INTO \`${table}\` (id, grp, name, amount, noted, payload)
     SELECT seq, seq % 7, CONCAT('item ', seq, ' ✓'), ROUND(seq * 0.37, 2), NOW(6), JSON_OBJECT('n', seq, 'tag', CONCAT('t', seq % 13))
       FROM seq_${from}_to_${to}`,
  );
}

/** Deterministic PRNG (mulberry32): both sides of a pair replay exactly the same operations. */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
