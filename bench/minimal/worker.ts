import { Worker } from 'bullmq';
import IORedis from 'ioredis';
import { createConnection, RowDataPacket } from 'mysql2/promise';
import { Client } from 'pg';
import { OUTBOX_TABLE } from '@tributary/db';
import { MINIMAL_QUEUE, MINIMAL_TABLE, RangeJob, readMinimalEnv } from './contract';

/**
 * The minimal pipeline's worker (issue #10's baseline): one BullMQ worker,
 * concurrency 1, reads its job's seq range from the outbox and writes it to
 * PostgreSQL in ONE statement: a multi-row upsert guarded per row by seq,
 * deletes as tombstones. Knows only the bench's items table; no filters, no
 * mapping, no conflicts, no checkpoint, no retries.
 */

interface OutboxRow extends RowDataPacket {
  seq: number;
  op: 'insert' | 'update' | 'delete';
  pk: string;
  after_image: string | null;
}

/**
 * The whole job as one JSON parameter, unpacked by PostgreSQL. Images carry
 * DECIMAL and DATETIME as strings and JSON as text, which the record types
 * here parse. A row older than the one stored (`_seq`) changes nothing.
 */
const UPSERT = `
  INSERT INTO ${MINIMAL_TABLE} AS t (id, grp, name, amount, noted, payload, _seq, _deleted)
  SELECT r.id, r.grp, r.name, r.amount, r.noted, r.payload::jsonb, r._seq, r._deleted
    FROM jsonb_to_recordset($1::jsonb)
      AS r(id integer, grp integer, name text, amount numeric, noted timestamp, payload text, _seq bigint, _deleted boolean)
  ON CONFLICT (id) DO UPDATE SET grp = EXCLUDED.grp, name = EXCLUDED.name, amount = EXCLUDED.amount, noted = EXCLUDED.noted,
    payload = EXCLUDED.payload, _seq = EXCLUDED._seq, _deleted = EXCLUDED._deleted
  WHERE t._seq < EXCLUDED._seq`;

async function main(): Promise<void> {
  const env = readMinimalEnv(process.env);
  const mysql = await createConnection(env.MINIMAL_MYSQL_URL);
  const pg = new Client({ connectionString: env.MINIMAL_POSTGRES_URL });
  await pg.connect();

  const apply = async ({ from, to }: RangeJob): Promise<number> => {
    const [rows] = await mysql.query<OutboxRow[]>(
      `SELECT seq, op, pk, after_image FROM \`${OUTBOX_TABLE}\` WHERE seq BETWEEN ? AND ? ORDER BY seq`,
      [from, to],
    );
    // One row per key (ON CONFLICT may not touch a row twice in a statement): the newest change wins.
    const latest = new Map<number, Record<string, unknown>>();
    for (const row of rows) {
      const { id } = JSON.parse(row.pk) as { id: number };
      const image = row.after_image === null ? { id } : (JSON.parse(row.after_image) as Record<string, unknown>);
      latest.set(id, { ...image, _seq: Number(row.seq), _deleted: row.op === 'delete' });
    }
    if (latest.size > 0) await pg.query(UPSERT, [JSON.stringify([...latest.values()])]);
    return to;
  };

  const worker = new Worker<RangeJob, number>(MINIMAL_QUEUE, (job) => apply(job.data), {
    connection: new IORedis(env.REDIS_URL, { maxRetriesPerRequest: null }),
    prefix: env.MINIMAL_PREFIX,
    concurrency: 1,
  });
  // No retries in a baseline: a failed job would leave a hole, so stop loudly and let the bench report it.
  worker.on('failed', (job, error) => {
    process.stderr.write(`minimal worker: job ${job?.data.from}-${job?.data.to} failed: ${error.stack ?? error.message}\n`);
    process.exit(1);
  });
  worker.on('error', (error) => process.stderr.write(`minimal worker: ${error.message}\n`));
}

main().catch((error: unknown) => {
  process.stderr.write(`minimal worker failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
