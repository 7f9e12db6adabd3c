import { canonicalRow, canonicalValue, differingColumns, jsonRow, rowComparison, rowsChecksum } from './normalise';
import { column as col } from '@tributary/testing/fixtures';

const columns = [col('id', 'int'), col('doc', 'json'), col('bytes', 'binary'), col('amount', 'decimal'), col('changed_at', 'datetime')];
const comparison = rowComparison(columns, ['id'], new Set(['changed_at']));

describe('normalised comparison', () => {
  it('compares JSON documents as data: key order and spacing do not matter, values do', () => {
    const mysql = { id: 1, doc: '{"b": 1, "a": {"y": [1, 2], "x": null}}', bytes: null, amount: '1.50', changed_at: null };
    const postgres = { ...mysql, doc: '{"a": {"x": null, "y": [1, 2]}, "b": 1}' };
    expect(canonicalRow(comparison, mysql)).toBe(canonicalRow(comparison, postgres));
    expect(canonicalRow(comparison, { ...mysql, doc: '{"a": {"x": null, "y": [2, 1]}, "b": 1}' })).not.toBe(canonicalRow(comparison, mysql));
  });

  it('compares bytes by content and keeps types apart (the string "1" is not the number 1)', () => {
    expect(canonicalValue(Buffer.from([0, 255]), false)).toEqual({ $b64: 'AP8=' });
    const row = { id: 1, doc: null, bytes: Buffer.from('ab'), amount: '1.50', changed_at: null };
    expect(canonicalRow(comparison, row)).toBe(canonicalRow(comparison, { ...row, bytes: Buffer.from('ab') }));
    expect(canonicalRow(comparison, row)).not.toBe(canonicalRow(comparison, { ...row, bytes: Buffer.from('ac') }));
    expect(canonicalRow(comparison, row)).not.toBe(canonicalRow(comparison, { ...row, id: '1' }));
    expect(canonicalRow(comparison, row)).not.toBe(canonicalRow(comparison, { ...row, amount: '1.5' }));
  });

  it('ignores columns computed from the change, and treats an absent column as NULL', () => {
    const row = { id: 1, doc: null, bytes: null, amount: null, changed_at: '2024-01-01 00:00:00.000000' };
    expect(canonicalRow(comparison, row)).toBe(canonicalRow(comparison, { id: 1, changed_at: '2030-12-31 00:00:00.000000' }));
    expect(differingColumns(comparison, row, { ...row, amount: '2.00', changed_at: 'x' })).toEqual(['amount']);
  });

  it('checksums a chunk independently of the order rows were read in', () => {
    const a = { id: 1, doc: null, bytes: null, amount: '1.00', changed_at: 'x' };
    const b = { id: 2, doc: '{"k": 1}', bytes: Buffer.from('z'), amount: null, changed_at: 'y' };
    expect(rowsChecksum(comparison, [a, b])).toBe(rowsChecksum(comparison, [b, { ...a, changed_at: 'other' }]));
    expect(rowsChecksum(comparison, [a, b])).not.toBe(rowsChecksum(comparison, [a]));
    expect(rowsChecksum(comparison, [a, b])).not.toBe(rowsChecksum(comparison, [a, { ...b, amount: '0' }]));
    expect(rowsChecksum(comparison, [])).toBe(rowsChecksum(comparison, []));
  });

  it('turns rows into JSON-safe data for reports', () => {
    expect(jsonRow({ id: 1, bytes: Buffer.from([1]), s: null })).toEqual({ id: 1, bytes: { $b64: 'AQ==' }, s: null });
  });
});
