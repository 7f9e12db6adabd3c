import { migrateOutbox, OUTBOX_TABLE } from '@tributary/db';
import { decodeImage, decodeKey, Row } from '@tributary/model';
import { createMysqlDatabase, SHOP_DDL, TestDatabase } from '@tributary/testing';
import { alterCapturedTable, captureStatus, cascadeTriggerNames, installCapture, introspectTable, uninstallCapture } from '@tributary/capture';

/**
 * Foreign-key actions fire no triggers (issue #17): the cascade triggers
 * write, in the writer's statement, the changes InnoDB's actions make to
 * captured child rows — every kind, through levels and self-references —
 * and follow the tables' shapes as they are captured, altered and released.
 */
describe('cascade triggers (real MariaDB)', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createMysqlDatabase('trb_cascade');
    await migrateOutbox(db.knex);
    for (const statement of SHOP_DDL) await db.knex.raw(statement);
    // Children before and after their parents: both orders must end with the same triggers.
    for (const table of ['order_lines', 'customers', 'orders', 'notes', 'employees']) await installCapture(db.knex, table);
  });

  afterAll(async () => {
    await db?.drop();
  });

  interface Change {
    seq: number;
    table: string;
    op: string;
    key: Row;
    before: Row | null;
    after: Row | null;
  }

  async function changesAfter(seq: number): Promise<Change[]> {
    const [rows] = (await db.knex.raw(`SELECT * FROM \`${OUTBOX_TABLE}\` WHERE seq > ? ORDER BY seq`, [seq])) as [Array<Record<string, string>>, unknown];
    const schemas = new Map<string, Awaited<ReturnType<typeof introspectTable>>>();
    const changes: Change[] = [];
    for (const row of rows) {
      const schema = schemas.get(row.table_name) ?? (await introspectTable(db.knex, row.table_name));
      schemas.set(row.table_name, schema);
      changes.push({
        seq: Number(row.seq),
        table: row.table_name,
        op: row.op,
        key: decodeKey(schema, row.pk),
        before: decodeImage(schema, row.before_image),
        after: decodeImage(schema, row.after_image),
      });
    }
    return changes;
  }

  async function lastSeq(): Promise<number> {
    const [rows] = (await db.knex.raw(`SELECT COALESCE(MAX(seq), 0) AS m FROM \`${OUTBOX_TABLE}\``)) as [Array<{ m: number }>, unknown];
    return Number(rows[0].m);
  }

  it('installs a cascade trigger only where captured rows hang off, and none is drifted', async () => {
    for (const table of ['customers', 'orders', 'order_lines', 'notes', 'employees']) {
      const status = await captureStatus(db.knex, table);
      expect({ table, drifted: status.drifted }).toEqual({ table, drifted: false });
    }
    expect((await captureStatus(db.knex, 'customers')).triggers).toContain(cascadeTriggerNames('customers').delete);
    expect((await captureStatus(db.knex, 'customers')).triggers).toContain(cascadeTriggerNames('customers').update);
    expect((await captureStatus(db.knex, 'orders')).triggers).toContain(cascadeTriggerNames('orders').delete);
    expect((await captureStatus(db.knex, 'order_lines')).triggers).not.toContain(cascadeTriggerNames('order_lines').delete);
  });

  it('writes the rows a delete cascades to, two levels down, and the rows it sets NULL, before the delete itself', async () => {
    await db.knex.raw("INSERT INTO customers VALUES (1, 'ann'), (2, 'bob')");
    await db.knex.raw('INSERT INTO orders VALUES (10, 1, 5.00), (11, 1, 7.50), (20, 2, 1.00)');
    await db.knex.raw("INSERT INTO order_lines VALUES (10, 1, 'a'), (10, 2, 'b'), (11, 1, 'c'), (20, 1, 'd')");
    await db.knex.raw("INSERT INTO notes VALUES (100, 1, 'vip'), (101, 2, 'new')");
    const from = await lastSeq();
    await db.knex.raw('DELETE FROM customers WHERE id = 1');

    const changes = await changesAfter(from);
    const summary = changes.map((c) => `${c.op} ${c.table} ${JSON.stringify(c.key)}`);
    expect([...summary].sort()).toEqual([
      'delete customers {"id":1}',
      'delete order_lines {"order_id":10,"line":1}',
      'delete order_lines {"order_id":10,"line":2}',
      'delete order_lines {"order_id":11,"line":1}',
      'delete orders {"id":10}',
      'delete orders {"id":11}',
      'update notes {"id":100}',
    ]);
    // Deepest first: the lines before their orders, everything before the customer.
    const at = (text: string) => summary.indexOf(text);
    expect(at('delete order_lines {"order_id":11,"line":1}')).toBeLessThan(at('delete orders {"id":10}'));
    expect(summary[summary.length - 1]).toBe('delete customers {"id":1}');
    expect(changes.find((c) => c.table === 'orders')?.before).toEqual({ id: 10, customer_id: 1, total: '5.00' });
    const note = changes.find((c) => c.table === 'notes')!;
    expect([note.before, note.after]).toEqual([
      { id: 100, customer_id: 1, body: 'vip' },
      { id: 100, customer_id: null, body: 'vip' },
    ]);
    // What the outbox says is what the tables did.
    const [left] = (await db.knex.raw('SELECT COUNT(*) AS n FROM order_lines')) as [Array<{ n: number }>, unknown];
    expect(Number(left[0].n)).toBe(1);
  });

  it('writes the key an update cascades to its children, and the NULL it sets, as updates with their new keys', async () => {
    const from = await lastSeq();
    await db.knex.raw('UPDATE customers SET id = 3 WHERE id = 2');
    const changes = await changesAfter(from);
    expect(changes.map((c) => `${c.op} ${c.table}`).sort()).toEqual(['update customers', 'update notes', 'update orders']);
    expect(changes[changes.length - 1].table).toBe('customers');
    const order = changes.find((c) => c.table === 'orders')!;
    expect([order.before?.customer_id, order.after?.customer_id, order.key]).toEqual([2, 3, { id: 20 }]);
    const note = changes.find((c) => c.table === 'notes')!;
    expect([note.before?.customer_id, note.after?.customer_id]).toEqual([2, null]);
    // A change of another column cascades nothing.
    const later = await lastSeq();
    await db.knex.raw("UPDATE customers SET name = 'bo' WHERE id = 3");
    expect((await changesAfter(later)).map((c) => c.table)).toEqual(['customers']);
  });

  it('follows a self-reference down every level InnoDB cascades through', async () => {
    // A chain of five and a branch: deleting the top removes all six below it.
    await db.knex.raw("INSERT INTO employees VALUES (1, NULL, 'ceo'), (2, 1, 'vp'), (3, 2, 'dir'), (4, 3, 'mgr'), (5, 4, 'dev'), (6, 2, 'dir2'), (7, NULL, 'other')");
    const from = await lastSeq();
    await db.knex.raw('DELETE FROM employees WHERE id = 1');
    const changes = await changesAfter(from);
    const deleted = changes.filter((c) => c.op === 'delete').map((c) => Number(c.key.id));
    expect([...deleted].sort()).toEqual([1, 2, 3, 4, 5, 6]);
    expect(deleted[deleted.length - 1]).toBe(1);
    const [rows] = (await db.knex.raw('SELECT id FROM employees')) as [Array<{ id: number }>, unknown];
    expect(rows.map((row) => row.id)).toEqual([7]);
  });

  it('regenerates the parent when a child changes shape through the ALTER path, and when a child stops being captured', async () => {
    await alterCapturedTable(db.knex, 'orders', 'ADD COLUMN note VARCHAR(20) NULL');
    expect((await captureStatus(db.knex, 'customers')).drifted).toBe(false);
    await db.knex.raw("INSERT INTO customers VALUES (5, 'eve')");
    await db.knex.raw("INSERT INTO orders VALUES (50, 5, 2.00, 'gift')");
    const from = await lastSeq();
    await db.knex.raw('DELETE FROM customers WHERE id = 5');
    const order = (await changesAfter(from)).find((c) => c.table === 'orders');
    expect(order?.before).toEqual({ id: 50, customer_id: 5, total: '2.00', note: 'gift' });

    // A change made behind Tributary's back shows on the parent too (its cascade trigger reads the child).
    await db.knex.raw('ALTER TABLE notes ADD COLUMN extra INT NULL');
    expect((await captureStatus(db.knex, 'customers')).drifted).toBe(true);
    await installCapture(db.knex, 'notes');
    expect((await captureStatus(db.knex, 'customers')).drifted).toBe(false);

    await uninstallCapture(db.knex, 'order_lines');
    expect((await captureStatus(db.knex, 'orders')).triggers).not.toContain(cascadeTriggerNames('orders').delete);
    expect((await captureStatus(db.knex, 'orders')).drifted).toBe(false);
  });
});
