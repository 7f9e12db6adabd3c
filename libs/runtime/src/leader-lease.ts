import { createConnection, Connection } from 'mysql2/promise';

/**
 * One relay leads a source at a time: a MySQL named lock held on a dedicated
 * connection. If the process or its connection dies, the server releases the
 * lock and a standby takes over. The lock alone cannot stop a deposed leader
 * that has not noticed yet; the fencing epoch on the checkpoint does
 * (ProgressRepository.saveRelayState), and idempotent apply makes the few
 * duplicate jobs it may send harmless.
 */
export class LeaderLease {
  private connection: Connection | null = null;

  constructor(
    private readonly url: string,
    readonly lockName: string,
  ) {
    if (lockName.length > 64) throw new Error(`lock name too long: ${lockName}`);
  }

  /** Tries once, without waiting. */
  async tryAcquire(): Promise<boolean> {
    if (this.connection) return this.isHeld();
    const connection = await createConnection({ uri: this.url });
    connection.on('error', () => {
      // A broken lock connection means the lock may be gone: isHeld() reports it.
      this.connection = null;
    });
    try {
      const [rows] = await connection.query('SELECT GET_LOCK(?, 0) AS got', [this.lockName]);
      if ((rows as Array<{ got: number | null }>)[0].got === 1) {
        this.connection = connection;
        return true;
      }
    } catch {
      // fall through: not acquired
    }
    await connection.end().catch(() => undefined);
    return false;
  }

  /** True only if our connection is alive and still owns the lock. */
  async isHeld(): Promise<boolean> {
    const connection = this.connection;
    if (!connection) return false;
    try {
      const [rows] = await connection.query('SELECT IS_USED_LOCK(?) = CONNECTION_ID() AS mine', [this.lockName]);
      return (rows as Array<{ mine: number | null }>)[0].mine === 1;
    } catch {
      this.connection = null;
      connection.destroy();
      return false;
    }
  }

  async release(): Promise<void> {
    const connection = this.connection;
    this.connection = null;
    if (!connection) return;
    try {
      await connection.query('SELECT RELEASE_LOCK(?)', [this.lockName]);
      await connection.end();
    } catch {
      connection.destroy();
    }
  }
}
