import { Queue } from 'bullmq';
import IORedis from 'ioredis';
import { createConnection, RowDataPacket } from 'mysql2/promise';
import { OUTBOX_TABLE } from '@tributary/db';
import { MINIMAL_QUEUE, RangeJob, readMinimalEnv } from './contract';

/**
 * The minimal pipeline's relay (issue #10's baseline): reads the outbox's
 * committed seqs in order and adds one BullMQ job `{from, to}` per run of at
 * most MINIMAL_JOB_ROWS of them. No leader lock, no checkpoint, no flow
 * control: what is left is the least any outbox → BullMQ relay must do.
 */

/** Seqs looked at per read (Tributary's RELAY_BATCH_ROWS default). */
const READ_ROWS = 5000;
/** Pause when nothing new was committed (Tributary's RELAY_POLL_MIN_MS default). */
const POLL_MS = 5;
/** A missing seq is a transaction still open: wait for it, but a rollback must not stop the pipeline for ever. */
const GAP_MS = 1000;

interface SeqRow extends RowDataPacket {
  seq: number;
}

async function main(): Promise<void> {
  const env = readMinimalEnv(process.env);
  const jobRows = Number(env.MINIMAL_JOB_ROWS);
  const mysql = await createConnection(env.MINIMAL_MYSQL_URL);
  const queue = new Queue<RangeJob>(MINIMAL_QUEUE, {
    connection: new IORedis(env.REDIS_URL, { maxRetriesPerRequest: null }),
    prefix: env.MINIMAL_PREFIX,
    defaultJobOptions: { removeOnComplete: true, removeOnFail: false },
  });
  let last = 0;
  let gapSince: number | null = null;
  for (;;) {
    // Autocommit: every SELECT reads what is committed when it starts.
    const [rows] = await mysql.query<SeqRow[]>(`SELECT seq FROM \`${OUTBOX_TABLE}\` WHERE seq > ? ORDER BY seq LIMIT ?`, [last, READ_ROWS]);
    // Only the unbroken run after `last`: a row behind a hole may be followed by the hole's row once it commits.
    let end = last;
    for (const row of rows) {
      const seq = Number(row.seq);
      if (seq !== end + 1) {
        gapSince ??= performance.now();
        if (performance.now() - gapSince < GAP_MS) break;
      }
      gapSince = null;
      end = seq;
    }
    if (end === last) {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      continue;
    }
    const jobs: Array<{ name: string; data: RangeJob }> = [];
    for (let from = last + 1; from <= end; from += jobRows) jobs.push({ name: 'range', data: { from, to: Math.min(end, from + jobRows - 1) } });
    await queue.addBulk(jobs);
    last = end;
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`minimal relay failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
