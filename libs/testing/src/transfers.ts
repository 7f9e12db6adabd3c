import { createConnection } from 'mysql2/promise';
import { runTransactionLoops } from './workload';
import { sleep } from './wait';

/**
 * A bank: money moves between accounts of two tables, and every transfer is
 * written down in a third, each transfer one source transaction. Two
 * invariants hold in every committed state, and so in every state a reader
 * of a target may see if whole source transactions reach it atomically:
 * the money is conserved (checking + savings = TRANSFERS_TOTAL) and the
 * ledger explains the savings (savings - seed = sum of the ledger).
 */
export const TRANSFERS_DDL = [
  `CREATE TABLE checking (id INT NOT NULL PRIMARY KEY, owner VARCHAR(32) NOT NULL, balance BIGINT NOT NULL, touched DATETIME(6) NULL) ENGINE=InnoDB`,
  `CREATE TABLE savings (id INT NOT NULL PRIMARY KEY, balance BIGINT NOT NULL) ENGINE=InnoDB`,
  `CREATE TABLE ledger (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, checking_id INT NOT NULL, savings_id INT NOT NULL, amount BIGINT NOT NULL, at DATETIME(6) NOT NULL) ENGINE=InnoDB`,
];

export const TRANSFERS_TABLES = ['checking', 'savings', 'ledger'] as const;

export const TRANSFER_ACCOUNTS = 200;
const SEED_BALANCE = 1000;
/** What checking and savings hold together, always. */
export const TRANSFERS_TOTAL = 2 * TRANSFER_ACCOUNTS * SEED_BALANCE;
/** What savings held when seeded. */
export const SAVINGS_SEED = TRANSFER_ACCOUNTS * SEED_BALANCE;

/** Seeds every account in ONE transaction: a target has either none of them or all. */
export async function seedTransfers(url: string): Promise<void> {
  const connection = await createConnection({ uri: url });
  try {
    await connection.query('BEGIN');
    const ids = Array.from({ length: TRANSFER_ACCOUNTS }, (_, i) => i + 1);
    await connection.query(`INSERT INTO checking (id, owner, balance) VALUES ${ids.map(() => '(?, ?, ?)').join(', ')}`, ids.flatMap((id) => [id, `owner ${id}`, SEED_BALANCE]));
    await connection.query(`INSERT INTO savings (id, balance) VALUES ${ids.map(() => '(?, ?)').join(', ')}`, ids.flatMap((id) => [id, SEED_BALANCE]));
    await connection.query('COMMIT');
  } finally {
    await connection.end();
  }
}

export interface TransferStats {
  committed: number;
  rolledBack: number;
  /** Sweeps written: one transaction larger than a worker's read. */
  large: number;
  failed: number;
}

/**
 * Transfers from several connections until `stop()` (or `transactions` committed): mostly one account to
 * another across the two tables with a ledger row; sometimes within
 * checking; sometimes rolled back; now and then a sweep that moves 1 from
 * every checking account (TRANSFER_ACCOUNTS rows and as many ledger rows in
 * one transaction, larger than a worker's read).
 */
export async function runTransfers(
  url: string,
  options: {
    connections: number;
    stop?: () => boolean;
    sweepEvery?: number;
    /** Stop once this many committed. */
    transactions?: number;
    /** A pause before each transaction of each connection (ms): a rate the relay's polls keep up with. */
    pauseMs?: number;
  },
): Promise<TransferStats> {
  const stats: TransferStats = { committed: 0, rolledBack: 0, large: 0, failed: 0 };
  const account = () => 1 + Math.floor(Math.random() * TRANSFER_ACCOUNTS);
  const more = () => options.stop?.() !== true && (options.transactions === undefined || stats.committed < options.transactions);
  return runTransactionLoops(
    url,
    options.connections,
    more,
    async (connection, lane, t) => {
      if (options.pauseMs) await sleep(options.pauseMs);
      if (options.sweepEvery !== undefined && lane === 0 && t > 0 && t % options.sweepEvery === 0) {
        const target = account();
        await connection.query('UPDATE checking SET balance = balance - 1, touched = NOW(6)');
        await connection.query('UPDATE savings SET balance = balance + ? WHERE id = ?', [TRANSFER_ACCOUNTS, target]);
        await connection.query(`INSERT INTO ledger (checking_id, savings_id, amount, at) SELECT id, ?, 1, NOW(6) FROM checking`, [target]);
        stats.large++;
        return 'commit';
      }
      if (Math.random() < 0.2) {
        // Within one table: nothing for the ledger, both rows in one transaction all the same.
        const [from, to, amount] = [account(), account(), 1 + Math.floor(Math.random() * 50)];
        await connection.query('UPDATE checking SET balance = balance - ?, touched = NOW(6) WHERE id = ?', [amount, from]);
        await connection.query('UPDATE checking SET balance = balance + ?, touched = NOW(6) WHERE id = ?', [amount, to]);
      } else {
        // Either way between the tables: RAND() decides at the source, the row images carry it.
        const [from, to] = [account(), account()];
        await connection.query('SET @amount = FLOOR(RAND() * 101) - 50');
        await connection.query('UPDATE checking SET balance = balance - @amount, touched = NOW(6) WHERE id = ?', [from]);
        await connection.query('UPDATE savings SET balance = balance + @amount WHERE id = ?', [to]);
        await connection.query('INSERT INTO ledger (checking_id, savings_id, amount, at) VALUES (?, ?, @amount, NOW(6))', [from, to]);
      }
      return Math.random() < 0.1 ? 'rollback' : 'commit';
    },
    stats,
  );
}

/** One consistent read of a copy of the bank. */
export interface BankState {
  checking: number;
  savings: number;
  ledger: number;
  accounts: number;
  transfers: number;
}

/** Whether a state is one the source could have been in: empty (before the seed) or both invariants hold. */
export function bankStateHolds(state: BankState): boolean {
  if (state.accounts === 0) return state.savings === 0 && state.ledger === 0 && state.transfers === 0;
  return state.checking + state.savings === TRANSFERS_TOTAL && state.savings - SAVINGS_SEED === state.ledger;
}

/** The statement that reads a BankState in one snapshot (one statement: one snapshot in PostgreSQL, InnoDB and SQLite). */
export const BANK_STATE_SQL =
  'SELECT (SELECT COALESCE(SUM(balance), 0) FROM checking) AS checking, (SELECT COALESCE(SUM(balance), 0) FROM savings) AS savings, ' +
  '(SELECT COALESCE(SUM(amount), 0) FROM ledger) AS ledger, (SELECT COUNT(*) FROM checking) AS accounts, (SELECT COUNT(*) FROM ledger) AS transfers';

export function bankStateOf(row: Record<string, unknown>): BankState {
  return {
    checking: Number(row.checking),
    savings: Number(row.savings),
    ledger: Number(row.ledger),
    accounts: Number(row.accounts),
    transfers: Number(row.transfers),
  };
}
