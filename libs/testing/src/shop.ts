import { createConnection } from 'mysql2/promise';

/**
 * A shop whose foreign keys act (issue #17): customers with orders (ON
 * DELETE CASCADE, ON UPDATE CASCADE), their lines (ON DELETE CASCADE, two
 * levels down), notes (ON DELETE / UPDATE SET NULL), and a self-referencing
 * tree of employees (ON DELETE CASCADE).
 */
export const SHOP_TABLES = ['customers', 'orders', 'order_lines', 'notes', 'employees'] as const;

export const SHOP_DDL = [
  'CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(20) NOT NULL)',
  `CREATE TABLE orders (id INT PRIMARY KEY, customer_id INT NOT NULL, total DECIMAL(10,2) NOT NULL,
     CONSTRAINT fk_orders_customer FOREIGN KEY (customer_id) REFERENCES customers (id) ON DELETE CASCADE ON UPDATE CASCADE)`,
  `CREATE TABLE order_lines (order_id INT NOT NULL, line INT NOT NULL, sku VARCHAR(20) NOT NULL, PRIMARY KEY (order_id, line),
     CONSTRAINT fk_lines_order FOREIGN KEY (order_id) REFERENCES orders (id) ON DELETE CASCADE)`,
  `CREATE TABLE notes (id INT PRIMARY KEY, customer_id INT NULL, body VARCHAR(40) NOT NULL,
     CONSTRAINT fk_notes_customer FOREIGN KEY (customer_id) REFERENCES customers (id) ON DELETE SET NULL ON UPDATE SET NULL)`,
  `CREATE TABLE employees (id INT PRIMARY KEY, manager_id INT NULL, name VARCHAR(20) NOT NULL,
     CONSTRAINT fk_manager FOREIGN KEY (manager_id) REFERENCES employees (id) ON DELETE CASCADE)`,
];

/** What a shop writer did. */
export interface ShopStats {
  cascades: number;
  renumbered: number;
  trees: number;
  failed: number;
}

/**
 * One writer of the shop: new customers with orders, lines and notes;
 * deletes of customers (cascading to orders and lines, notes set NULL);
 * customers renumbered (orders follow, notes set NULL); small trees of
 * employees, and deletes of their tops. Ids are the writer's own, so
 * writers meet only in locks.
 */
export async function writeShop(url: string, writer: number, stop: () => boolean, stats: ShopStats): Promise<void> {
  const connection = await createConnection({ uri: url });
  const base = (writer + 1) * 1_000_000;
  let next = 0;
  const id = () => base + ++next;
  const customers: number[] = [];
  try {
    while (!stop()) {
      try {
        const dice = Math.random();
        if (dice < 0.45 || customers.length < 3) {
          const customer = id();
          await connection.query('BEGIN');
          await connection.query('INSERT INTO customers VALUES (?, ?)', [customer, `c${customer % 1000}`]);
          for (let o = 0; o < 2; o++) {
            const order = id();
            await connection.query('INSERT INTO orders VALUES (?, ?, ROUND(RAND() * 100, 2))', [order, customer]);
            await connection.query('INSERT INTO order_lines VALUES (?, 1, ?), (?, 2, ?)', [order, 'a', order, 'b']);
          }
          await connection.query('INSERT INTO notes VALUES (?, ?, ?)', [id(), customer, 'hello']);
          await connection.query('COMMIT');
          customers.push(customer);
        } else if (dice < 0.65) {
          const customer = customers.splice(Math.floor(Math.random() * customers.length), 1)[0];
          await connection.query('DELETE FROM customers WHERE id = ?', [customer]);
          stats.cascades++;
        } else if (dice < 0.8) {
          const at = Math.floor(Math.random() * customers.length);
          const renumbered = id();
          await connection.query('UPDATE customers SET id = ? WHERE id = ?', [renumbered, customers[at]]);
          customers[at] = renumbered;
          stats.renumbered++;
        } else {
          // A top, two under it, one under each of those; then the top goes, and the whole tree with it.
          const top = id();
          const [a, b] = [id(), id()];
          await connection.query('INSERT INTO employees VALUES (?, NULL, ?), (?, ?, ?), (?, ?, ?), (?, ?, ?), (?, ?, ?)', [top, 'top', a, top, 'a', b, top, 'b', id(), a, 'a1', id(), b, 'b1']);
          stats.trees++;
          if (Math.random() < 0.7) await connection.query('DELETE FROM employees WHERE id = ?', [top]);
        }
      } catch {
        await connection.query('ROLLBACK').catch(() => undefined);
        stats.failed++;
      }
    }
  } finally {
    await connection.end();
  }
}
