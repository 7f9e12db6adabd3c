import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { TargetConfigError } from '../errors';
import { defaultTargetRegistry } from '../registry';
import { sqlitePath, SqliteTarget } from './sqlite.target';
import { describeTargetContract } from '../test-kit/target.contract';

describeTargetContract('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'trib-sqlite-'));
  const target = new SqliteTarget({ kind: 'sqlite', url: `sqlite://${join(dir, 'target.db')}` });
  return {
    target,
    async teardown() {
      await target.close();
      rmSync(dir, { recursive: true, force: true });
    },
    // No server to be down: a file that cannot be opened (its directory does not exist) is the same failure.
    unreachable: () => new SqliteTarget({ kind: 'sqlite', url: 'sqlite:///nonexistent-tributary-dir/target.db' }),
    async insertDirectly(table, row) {
      // An application's own connection to the file, beside the target's.
      const db = new Database(join(dir, 'target.db'));
      try {
        db.pragma('busy_timeout = 5000');
        const names = Object.keys(row);
        db.prepare(`INSERT INTO "${table}" (${names.map((name) => `"${name}"`).join(', ')}) VALUES (${names.map(() => '?').join(', ')})`).run(...Object.values(row));
      } finally {
        db.close();
      }
    },
  };
}, { prepares: true });

describe('SqliteTarget specifics', () => {
  it('takes sqlite:/// and file:/// URLs with absolute paths only', () => {
    expect(sqlitePath('sqlite:///var/data/edge.db')).toBe('/var/data/edge.db');
    expect(sqlitePath('file:///var/data/my%20edge.db')).toBe('/var/data/my edge.db');
    for (const bad of ['sqlite://host/x.db', 'sqlite:relative.db', 'postgres:///x', 'sqlite:///dir/', 'sqlite:///x.db?mode=ro', 'nope']) {
      expect(() => sqlitePath(bad)).toThrow(TargetConfigError);
    }
    expect(() => defaultTargetRegistry().create({ kind: 'sqlite', url: 'sqlite:///tmp/x.db', options: { poolMax: 2 } })).toThrow(/unknown option poolMax/);
    expect(defaultTargetRegistry().kinds()).toContain('sqlite');
  });

  it('keeps files inside SQLITE_DIR: .. and symbolic links resolved, the rest refused', () => {
    const root = mkdtempSync(join(tmpdir(), 'trib-sqlite-dir-'));
    const outside = mkdtempSync(join(tmpdir(), 'trib-sqlite-out-'));
    try {
      mkdirSync(join(root, 'edge'));
      symlinkSync(outside, join(root, 'escape'));
      expect(sqlitePath(`sqlite://${root}/edge/a.db`, root)).toBe(`${root}/edge/a.db`);
      expect(sqlitePath(`sqlite://${root}/b.db`, root)).toBe(`${root}/b.db`);
      for (const bad of [`sqlite://${root}/%2E%2E/%2E%2E/etc/passwd`, 'sqlite:///etc/passwd', `sqlite://${root}/escape/c.db`, `sqlite://${root}-other/d.db`]) {
        expect(() => sqlitePath(bad, root)).toThrow(/the file must be inside .* \(SQLITE_DIR\)/);
      }
      expect(() => defaultTargetRegistry({ sqliteDir: root }).create({ kind: 'sqlite', url: 'sqlite:///etc/passwd' })).toThrow(TargetConfigError);
      // Without a directory (tests, embedding) any absolute path, .. resolved.
      expect(sqlitePath('sqlite:///var/x/%2E%2E/y.db')).toBe('/var/y.db');
    } finally {
      rmSync(root, { recursive: true, force: true });
      rmSync(outside, { recursive: true, force: true });
    }
  });
});
