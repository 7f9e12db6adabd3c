import { bodyShapeProblem, MAX_BODY_DEPTH } from './body-parsers';

describe('bodyShapeProblem', () => {
  it('lets ordinary bodies through: objects, arrays, scalars, nothing', () => {
    expect(bodyShapeProblem({ id: 'r', mapping: { rename: { a: 'b' }, computed: [{ name: 'c', value: { constant: 1 } }] } })).toBeNull();
    expect(bodyShapeProblem([1, 'two', null, [3]])).toBeNull();
    expect(bodyShapeProblem(undefined)).toBeNull();
    expect(bodyShapeProblem('text')).toBeNull();
  });

  it.each(['__proto__', 'constructor', 'hasOwnProperty', 'toString', 'valueOf'])('refuses the key %s anywhere, naming where', (key) => {
    const body = JSON.parse(`{"mapping": {"rename": {"${key}": "x"}}}`);
    expect(bodyShapeProblem(body)).toBe(`request body: the key "${key}" is not allowed (at body.mapping.rename)`);
  });

  it('allows such words as values and as array positions', () => {
    expect(bodyShapeProblem({ mapping: { exclude: ['constructor', '__proto__'] } })).toBeNull();
  });

  it(`refuses nesting deeper than ${MAX_BODY_DEPTH} levels, and a 100,000-deep body in milliseconds without overflowing the stack`, () => {
    const fits = JSON.parse('['.repeat(MAX_BODY_DEPTH) + ']'.repeat(MAX_BODY_DEPTH));
    expect(bodyShapeProblem(fits)).toBeNull();
    const deep = JSON.parse('['.repeat(MAX_BODY_DEPTH + 1) + ']'.repeat(MAX_BODY_DEPTH + 1));
    expect(bodyShapeProblem(deep)).toMatch(/^request body is nested deeper than 32 levels \(at body(\[0\]){32}\)$/);
    let hostile: unknown = 1;
    for (let i = 0; i < 100_000; i++) hostile = { a: hostile };
    expect(bodyShapeProblem(hostile)).toMatch(/nested deeper than 32 levels/);
  });
});
