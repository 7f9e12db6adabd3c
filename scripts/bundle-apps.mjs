// Bundles the compiled relay and worker (dist/apps/<app>/src/main.js, tsc's
// output with Nest's decorator metadata already in it) into one file each,
// dist/apps/<app>/main.js. Why: a process loading ~1,500 modules spends
// most of its start-up resolving and reading them (about 0.5 s of the 0.8 s
// before a fresh worker applies its first batch); a bundle halves that.
// Start-up is when replication waits: a failover, a rolling restart, a
// worker added under load. Admin, CLI and demo stay unbundled: their
// start-up delays no change, and admin serves assets from its packages'
// directories.
import { build } from 'esbuild';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const APPS = ['relay', 'worker'];
// Native addons find their .node file from their own directory: they stay in node_modules.
const NATIVE = ['better-sqlite3', 'msgpackr-extract'];

/**
 * A package that is not installed (knex's drivers for other databases, Nest's
 * optional integrations) stays a plain require: it fails at run time only if
 * used, exactly as it does unbundled.
 */
const missingPackagesStayExternal = {
  name: 'missing-packages-stay-external',
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith('node:')) return undefined;
      try {
        createRequire(join(args.resolveDir, 'index.js')).resolve(args.path);
        return undefined;
      } catch {
        return { path: args.path, external: true };
      }
    });
  },
};

/**
 * The admin lib is loaded only by an admin process (bootstrap imports it
 * lazily): a relay or worker bundle leaves it, its API, docs and dashboard
 * out, and requires the compiled lib from dist if it is ever asked for.
 */
const adminLibStaysOut = {
  name: 'admin-lib-stays-out',
  setup(pluginBuild) {
    const outDir = dirname(pluginBuild.initialOptions.outfile);
    pluginBuild.onResolve({ filter: /\/admin\/src\/index\.js$/ }, (args) => ({ path: `./${relative(outDir, join(args.resolveDir, args.path))}`, external: true }));
  },
};

for (const app of APPS) {
  const result = await build({
    entryPoints: [join(ROOT, 'dist', 'apps', app, 'src', 'main.js')],
    outfile: join(ROOT, 'dist', 'apps', app, 'main.js'),
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    // Class and function names stay: Nest and the logs name things by them.
    keepNames: true,
    external: NATIVE,
    plugins: [adminLibStaysOut, missingPackagesStayExternal],
    logLevel: 'error',
  });
  if (result.errors.length > 0) process.exit(1);
}
