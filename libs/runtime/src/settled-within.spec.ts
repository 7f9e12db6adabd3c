import { settledWithin } from './settled-within';

describe('settledWithin', () => {
  it('is true for work that resolves or rejects in time, false for work that takes longer', async () => {
    expect(await settledWithin(Promise.resolve('done'), 50)).toBe(true);
    expect(await settledWithin(Promise.reject(new Error('refused')), 50)).toBe(true);
    expect(await settledWithin(new Promise(() => undefined), 20)).toBe(false);
  });
});
