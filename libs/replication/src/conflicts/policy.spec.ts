import { ConflictPolicyError, parseConflictPolicy } from '../index';
import { column as col } from '@tributary/testing/fixtures';

const columns = [
  col('id', 'int'), col('big', 'bigint'), col('amount', 'decimal'), col('f', 'float'), col('d', 'double'), col('y', 'year'),
  col('day', 'date'), col('updated_at', 'datetime'), col('ts', 'timestamp'),
  col('name', 'string'), col('doc', 'json'), col('blob', 'binary'), col('t', 'time'), col('e', 'enum'), col('b', 'bit'), col('s', 'set'),
];

function refused(value: unknown, path: string | null, reason: RegExp): void {
  let error: unknown;
  try {
    parseConflictPolicy(value, columns);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(ConflictPolicyError);
  const e = error as ConflictPolicyError;
  expect(e.path).toBe(path);
  expect(e.reason).toMatch(reason);
  expect(e.message).toBe(path ? `${path}: ${e.reason}` : e.reason);
}

describe('parseConflictPolicy', () => {
  it('is null without a policy', () => {
    expect(parseConflictPolicy(null, columns)).toBeNull();
    expect(parseConflictPolicy(undefined, columns)).toBeNull();
  });

  it('fills the defaults', () => {
    expect(parseConflictPolicy({ resolution: 'source-wins' }, columns)).toEqual({ resolution: 'source-wins', detect: 'all', column: null, merge: false, resolver: null });
    expect(parseConflictPolicy({ resolution: 'target-wins', detect: 'changed' }, columns)).toEqual({ resolution: 'target-wins', detect: 'changed', column: null, merge: false, resolver: null });
    expect(parseConflictPolicy({ resolution: 'manual', detect: 'version', column: 'big' }, columns)).toEqual({ resolution: 'manual', detect: 'version', column: 'big', merge: false, resolver: null });
  });

  it('accepts newer-wins with every ordered column type, with and without merge', () => {
    for (const c of ['id', 'big', 'amount', 'f', 'd', 'y', 'day', 'updated_at', 'ts']) {
      expect(parseConflictPolicy({ resolution: 'newer-wins', column: c }, columns)).toEqual({ resolution: 'newer-wins', detect: 'all', column: c, merge: false, resolver: null });
    }
    expect(parseConflictPolicy({ resolution: 'newer-wins', column: 'ts', merge: true, detect: 'changed' }, columns)).toEqual({ resolution: 'newer-wins', detect: 'changed', column: 'ts', merge: true, resolver: null });
  });

  it('accepts custom with a resolver (and an optional column), explicit nulls and merge false', () => {
    expect(parseConflictPolicy({ resolution: 'custom', resolver: 'my_resolver-2' }, columns)).toEqual({ resolution: 'custom', detect: 'all', column: null, merge: false, resolver: 'my_resolver-2' });
    expect(parseConflictPolicy({ resolution: 'custom', resolver: 'r', column: 'ts' }, columns)?.column).toBe('ts');
    expect(parseConflictPolicy({ resolution: 'source-wins', column: null, merge: false, resolver: null, detect: null }, columns)).toEqual({ resolution: 'source-wins', detect: 'all', column: null, merge: false, resolver: null });
    expect(parseConflictPolicy({ resolution: 'custom', resolver: 'x'.repeat(64) }, columns)?.resolver).toHaveLength(64);
  });

  it('refuses what is not an object', () => {
    refused('newer-wins', null, /must be an object/);
    refused([], null, /must be an object/);
    refused(42, null, /must be an object/);
  });

  it('refuses unknown fields by name', () => {
    refused({ resolution: 'source-wins', colum: 'ts' }, 'colum', /unknown field/);
    refused({ resolution: 'source-wins', Resolution: 'x' }, 'Resolution', /unknown field \(expected resolution, detect, column, merge or resolver\)/);
  });

  it('refuses a missing or unknown resolution', () => {
    refused({}, 'resolution', /required/);
    refused({ resolution: 'last-wins' }, 'resolution', /must be one of source-wins, target-wins, newer-wins, manual or custom/);
    refused({ resolution: 1 }, 'resolution', /must be one of/);
  });

  it('refuses an unknown detect mode', () => {
    refused({ resolution: 'source-wins', detect: 'timestamp' }, 'detect', /must be one of all, changed or version/);
    refused({ resolution: 'source-wins', detect: true }, 'detect', /must be one of/);
  });

  it('refuses a bad, unknown or unordered column', () => {
    refused({ resolution: 'newer-wins', column: 3 }, 'column', /must be a column name/);
    refused({ resolution: 'newer-wins', column: 'nope' }, 'column', /unknown column "nope"/);
    for (const c of ['name', 'doc', 'blob', 't', 'e', 'b', 's']) refused({ resolution: 'newer-wins', column: c }, 'column', /has no order/);
    refused({ resolution: 'source-wins', detect: 'version', column: 'name' }, 'column', /has no order/);
  });

  it('requires the column for newer-wins and detect version', () => {
    refused({ resolution: 'newer-wins' }, 'column', /required with newer-wins/);
    refused({ resolution: 'newer-wins', column: null }, 'column', /required with newer-wins/);
    refused({ resolution: 'source-wins', detect: 'version' }, 'column', /required with detect "version"/);
  });

  it('refuses merge outside newer-wins or not a boolean', () => {
    refused({ resolution: 'source-wins', merge: true }, 'merge', /only with newer-wins/);
    refused({ resolution: 'newer-wins', column: 'ts', merge: 'yes' }, 'merge', /must be true or false/);
  });

  it('requires the resolver for custom and only there, with a valid name', () => {
    refused({ resolution: 'custom' }, 'resolver', /required with custom/);
    refused({ resolution: 'source-wins', resolver: 'r' }, 'resolver', /only with custom/);
    refused({ resolution: 'custom', resolver: '../etc/passwd' }, 'resolver', /invalid resolver name/);
    refused({ resolution: 'custom', resolver: '' }, 'resolver', /invalid resolver name/);
    refused({ resolution: 'custom', resolver: 'x'.repeat(65) }, 'resolver', /invalid resolver name/);
    refused({ resolution: 'custom', resolver: 'a.js' }, 'resolver', /invalid resolver name/);
    refused({ resolution: 'custom', resolver: 7 }, 'resolver', /invalid resolver name/);
  });
});
