import { validateIdentifier } from '@tributary/model';
import { checkField, checkName, InvalidInputError, reasonOf } from './errors';

function caught(work: () => unknown): unknown {
  try {
    work();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe('setup errors', () => {
  it('reports a bad name in its field, saying what a name may be', () => {
    expect(checkName('id', 'shop-1')).toBe('shop-1');
    const error = caught(() => checkName('id', 'Bad Id'));
    expect(error).toBeInstanceOf(InvalidInputError);
    expect(error).toMatchObject({ field: 'id', message: 'id must start with a lowercase letter, then a-z, 0-9, _ or - (at most 63 characters); got "Bad Id"' });
  });

  it('turns an identifier refusal into invalid input in the field, and lets other errors through', () => {
    const error = caught(() => checkField('targetTable', () => validateIdentifier('a`b', 'targetTable')));
    expect(error).toBeInstanceOf(InvalidInputError);
    expect(error).toMatchObject({ field: 'targetTable', message: expect.stringContaining('targetTable must be 1-64 characters') });
    const other = new Error('boom');
    expect(caught(() => checkField('x', () => { throw other; }))).toBe(other);
  });

  it("prefers the server's own words", () => {
    expect(reasonOf(Object.assign(new Error('select 1 - Unknown database'), { sqlMessage: "Unknown database 'x'" }))).toBe("Unknown database 'x'");
    expect(reasonOf(new Error('connect ECONNREFUSED'))).toBe('connect ECONNREFUSED');
    expect(reasonOf('text')).toBe('text');
  });
});
