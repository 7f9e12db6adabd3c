import 'reflect-metadata';
import { runCli } from './cli';

/**
 * `npm run verify -- <route> [--repair] [--json]` (or `npm run tributary -- verify …`):
 * plain Node, no Nest application; configuration from the environment like the apps.
 */
void runCli(process.argv.slice(2), {
  out: (text) => process.stdout.write(text + '\n'),
  err: (text) => process.stderr.write(text + '\n'),
  env: process.env,
}).then(
  (status) => {
    process.exitCode = status;
  },
  (error: unknown) => {
    // runCli reports its own errors; this is a bug in it, still never with a stack full of URLs.
    process.stderr.write(`tributary: unexpected failure: ${(error as Error)?.name ?? 'error'}\n`);
    process.exitCode = 2;
  },
);
