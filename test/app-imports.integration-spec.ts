import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The relay and worker apps import CoreModule and bootstrap, their own lib
 * and ObservabilityModule. None of these may pull in the admin lib: its API,
 * Swagger DTOs and dashboard cost each process a second of start-up, which
 * is a second of lag after every restart. Checked on the build (`npm test`
 * builds dist first) in a fresh node, as the apps load it.
 */
const DIST = join(__dirname, '..', 'dist');

/** The dist paths of every module a fresh node loads for `libs` (names under dist/libs). */
function modulesLoadedBy(libs: string[]): string[] {
  const requires = libs.map((lib) => `require(${JSON.stringify(join(DIST, 'libs', lib, 'src', 'index.js'))});`).join('');
  const output = execFileSync(process.execPath, ['-e', `${requires} process.stdout.write(JSON.stringify(Object.keys(require.cache)))`], {
    env: { PATH: process.env.PATH ?? '' },
    encoding: 'utf8',
  });
  return (JSON.parse(output) as string[]).filter((path) => path.startsWith(DIST));
}

const fromAdmin = (paths: string[]) => paths.filter((path) => path.includes(`${join('libs', 'admin')}/`));

describe('what the relay and worker apps load', () => {
  it.each(['relay', 'worker'])('the %s app loads no module of the admin lib', (app) => {
    const loaded = modulesLoadedBy(['platform', 'observability', app]);
    expect(loaded.some((path) => path.includes(join('libs', app, 'src')))).toBe(true);
    expect(fromAdmin(loaded)).toEqual([]);
  });

  it('sees the admin lib when it is loaded (the check above can fail)', () => {
    expect(fromAdmin(modulesLoadedBy(['admin'])).length).toBeGreaterThan(10);
  });

  it.each(['relay', 'worker'])('the %s bundle (what users run) holds no module of the admin lib, and can still load it lazily', (app) => {
    const bundle = readFileSync(join(DIST, 'apps', app, 'main.js'), 'utf8');
    // esbuild heads every bundled module with a comment naming its file.
    expect(bundle).toContain(`// dist/libs/${app}/src/`);
    expect(bundle).not.toContain('// dist/libs/admin/src/');
    const lazy = /require\("(\.\/[^"]*\/admin\/src\/index\.js)"\)/.exec(bundle);
    expect(lazy).not.toBeNull();
    expect(existsSync(join(DIST, 'apps', app, lazy![1]))).toBe(true);
  });
});
