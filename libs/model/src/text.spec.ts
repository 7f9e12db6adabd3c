import { orList } from './text';

describe('orList', () => {
  it('names the choices as a sentence would', () => {
    expect([[], ['postgres'], ['postgres', 'mysql'], ['postgres', 'mysql', 'sqlite']].map(orList)).toEqual([
      'other',
      'postgres',
      'postgres or mysql',
      'postgres, mysql or sqlite',
    ]);
  });
});
