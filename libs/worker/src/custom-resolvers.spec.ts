import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Row } from '@tributary/model';
import { CustomConflict, CustomResolverLoader } from './custom-resolvers';
import { RouteConfigError } from '@tributary/replication';

const conflict: CustomConflict = {
  route: 'r',
  source: 'a',
  table: 'items',
  seq: 7,
  kind: 'mismatch',
  op: 'update',
  key: { id: 1 },
  incoming: { before: { id: 1, qty: 1 }, after: { id: 1, qty: 3 } },
  target: { id: 1, qty: 5 },
};

describe('CustomResolverLoader', () => {
  let dir: string;
  let outside: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'trib-resolvers-'));
    outside = mkdtempSync(join(tmpdir(), 'trib-outside-'));
    const file = (name: string, text: string) => writeFileSync(join(dir, name), text);
    file('sum.js', `module.exports = (c) => ({ action: 'write', row: { ...c.target, qty: c.target.qty + c.incoming.after.qty }, reason: 'sum' });\n`);
    file('named.cjs', `exports.resolve = async (c) => ({ action: c.kind === 'mismatch' ? 'keep' : 'apply' });\n`);
    file('esm.mjs', `export default function (c) { return { action: 'park', reason: 'ask ' + c.route }; }\n`);
    file('explode.js', `module.exports = () => { throw new Error('resolver exploded'); };\n`);
    file('garbage.js', `module.exports = () => ({ verdict: 'yes' });\n`);
    file('nothing.js', `module.exports = () => undefined;\n`);
    file('rowless.js', `module.exports = () => ({ action: 'write' });\n`);
    file('notfn.js', `module.exports = { answer: 42 };\n`);
    file('long.js', `module.exports = () => ({ action: 'apply', reason: 'x'.repeat(2000) });\n`);
    writeFileSync(join(outside, 'evil.js'), `module.exports = () => ({ action: 'apply' });\n`);
    symlinkSync(join(outside, 'evil.js'), join(dir, 'escape.js'));
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'sub', 'inner.js'), `module.exports = () => ({ action: 'apply' });\n`);
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  });

  async function refusal(promise: Promise<unknown>): Promise<RouteConfigError> {
    const error = await promise.then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RouteConfigError);
    return error as RouteConfigError;
  }

  it('loads module.exports (.js) and a named resolve (.cjs)', async () => {
    const loader = new CustomResolverLoader(dir);
    const sum = await loader.load('sum');
    expect(sum.name).toBe('sum');
    expect(await sum.decide(conflict)).toEqual({ decision: { action: 'write', row: { id: 1, qty: 8 } }, reason: 'custom resolver sum: write (sum)' });
    expect(await (await loader.load('named')).decide(conflict)).toEqual({ decision: { action: 'keep' }, reason: 'custom resolver named: keep' });
  });

  it('refuses an ES module (.mjs): resolvers are CommonJS, loaded alike in tests and in the build', async () => {
    await expect(new CustomResolverLoader(dir).load('esm')).rejects.toThrow(/no esm\.js or esm\.cjs \(CommonJS\)/);
  });

  it('loads a module once', async () => {
    const loader = new CustomResolverLoader(dir);
    expect(loader.load('sum')).toBe(loader.load('sum'));
  });

  it('passes the whole conflict to the resolver', async () => {
    writeFileSync(join(dir, 'echo.js'), `module.exports = (c) => ({ action: 'write', row: { seen: JSON.stringify(c) } });\n`);
    const answer = await (await new CustomResolverLoader(dir).load('echo')).decide(conflict);
    expect(answer.decision.action).toBe('write');
    expect(JSON.parse(String((answer.decision as { action: 'write'; row: Row }).row.seen))).toEqual(conflict);
  });

  it('cuts a long reason to 500 characters', async () => {
    const { reason } = await (await new CustomResolverLoader(dir).load('long')).decide(conflict);
    expect(reason).toBe(`custom resolver long: apply (${'x'.repeat(500)})`);
  });

  it("rethrows the resolver's error, naming the resolver", async () => {
    const resolver = await new CustomResolverLoader(dir).load('explode');
    await expect(resolver.decide(conflict)).rejects.toThrow('custom resolver explode failed: resolver exploded');
  });

  it.each([
    ['garbage', /custom resolver garbage failed: returned \{"verdict":"yes"\}, not a decision/],
    ['nothing', /custom resolver nothing failed: returned undefined, not a decision/],
    ['rowless', /custom resolver rowless failed: resolver rowless answered write without a row/],
  ])('refuses an answer that is not a decision (%s)', async (name, message) => {
    const resolver = await new CustomResolverLoader(dir).load(name);
    await expect(resolver.decide(conflict)).rejects.toThrow(message);
  });

  it('refuses to load without a directory', async () => {
    const error = await refusal(new CustomResolverLoader(null).load('sum'));
    expect(error.message).toMatch(/custom conflict resolver "sum": this worker has no CONFLICT_RESOLVERS_DIR/);
  });

  it.each(['../sum', 'sub/inner', '/etc/passwd', 'sum.js', '', 'x'.repeat(65)])('refuses a name that is not a module name: %j', async (name) => {
    const error = await refusal(new CustomResolverLoader(dir).load(name));
    expect(error.message).toMatch(/not a module name/);
  });

  it('refuses a missing module', async () => {
    const error = await refusal(new CustomResolverLoader(dir).load('absent'));
    expect(error.message).toMatch(/custom conflict resolver "absent": no absent\.js or absent\.cjs \(CommonJS\) in CONFLICT_RESOLVERS_DIR/);
  });

  it('refuses a symlink that leads out of the directory', async () => {
    const error = await refusal(new CustomResolverLoader(dir).load('escape'));
    expect(error.message).toMatch(/no escape\.js/);
  });

  it('refuses a module that exports no function', async () => {
    const error = await refusal(new CustomResolverLoader(dir).load('notfn'));
    expect(error.message).toMatch(/the module exports no function/);
  });

  it('tries a failed load again (the operator may be deploying the module)', async () => {
    const loader = new CustomResolverLoader(dir);
    await refusal(loader.load('late'));
    writeFileSync(join(dir, 'late.js'), `module.exports = () => ({ action: 'delete' });\n`);
    expect(await (await loader.load('late')).decide(conflict)).toEqual({ decision: { action: 'delete' }, reason: 'custom resolver late: delete' });
  });
});
