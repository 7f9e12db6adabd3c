import { Row } from '@tributary/model';

/** Orders rows by their key columns, as the SQL targets' ORDER BY does for these types. */
export function compareByKey(key: readonly string[]): (a: Row, b: Row) => number {
  return (a, b) => {
    for (const name of key) {
      const x = a[name];
      const y = b[name];
      if (x === y) continue;
      if (x === null || x === undefined) return -1;
      if (y === null || y === undefined) return 1;
      if (typeof x === 'number' && typeof y === 'number') return x - y;
      if (Buffer.isBuffer(x) && Buffer.isBuffer(y)) {
        // Equal bytes are distinct Buffers (x !== y): the next key column decides then.
        const order = Buffer.compare(x, y);
        if (order !== 0) return order;
        continue;
      }
      const sx = String(x);
      const sy = String(y);
      if (sx !== sy) return sx < sy ? -1 : 1;
    }
    return 0;
  };
}
