import { classifyMysqlError, classifyPostgresError } from './error-classification';
import { RowRejectedError } from '../errors';

const pgError = (code: string) => Object.assign(new Error('x'), { code, severity: 'ERROR' });
const mysqlError = (errno: number, code = 'ER_X') => Object.assign(new Error('x'), { errno, code, sqlState: 'HY000' });
const nodeError = (code: string, errno = -111) => Object.assign(new Error('x'), { code, errno });

describe('classifyPostgresError', () => {
  it.each(['22001', '22P02', '23502', '23505', '23503', '42804', '21000'])('%s is a data error', (code) => {
    expect(classifyPostgresError(pgError(code))).toEqual({ kind: 'data', code });
  });

  it.each(['08006', '40001', '40P01', '53300', '57P01', '58030', '42P01', '42703', 'XX000', '55P03'])('%s is transient', (code) => {
    expect(classifyPostgresError(pgError(code))).toEqual({ kind: 'transient', code });
  });

  it('treats network, pool and unknown errors as transient, keeping their code', () => {
    expect(classifyPostgresError(nodeError('ECONNREFUSED'))).toEqual({ kind: 'transient', code: 'ECONNREFUSED' });
    expect(classifyPostgresError(Object.assign(new Error('t'), { name: 'KnexTimeoutError' }))).toEqual({ kind: 'transient', code: 'KnexTimeoutError' });
    expect(classifyPostgresError(new Error('who knows'))).toEqual({ kind: 'transient', code: null });
    expect(classifyPostgresError('not even an error')).toEqual({ kind: 'transient', code: null });
  });

  it('treats our own value checks as data errors', () => {
    expect(classifyPostgresError(new RowRejectedError('bad bits', null))).toEqual({ kind: 'data', code: null });
  });
});

describe('classifyMysqlError', () => {
  it.each([1048, 1062, 1264, 1265, 1292, 1366, 1406, 1451, 1452, 3140, 4025])('%d is a data error', (errno) => {
    expect(classifyMysqlError(mysqlError(errno))).toEqual({ kind: 'data', code: String(errno) });
  });

  it.each([1040, 1205, 1213, 1053, 1146, 1054, 1064, 1927])('%d is transient', (errno) => {
    expect(classifyMysqlError(mysqlError(errno))).toEqual({ kind: 'transient', code: String(errno) });
  });

  it('classifies client-side failures by their code, not their text', () => {
    expect(classifyMysqlError(nodeError('ECONNREFUSED'))).toEqual({ kind: 'transient', code: 'ECONNREFUSED' });
    expect(classifyMysqlError(nodeError('ETIMEDOUT', -110))).toEqual({ kind: 'transient', code: 'ETIMEDOUT' });
    expect(classifyMysqlError(Object.assign(new Error('Duplicate entry'), { code: 'PROTOCOL_CONNECTION_LOST', fatal: true }))).toEqual({
      kind: 'transient',
      code: 'PROTOCOL_CONNECTION_LOST',
    });
  });
});
