import 'reflect-metadata';
import { runCli } from './cli';

/**
 * `npm run verify -- <route> [--repair] [--json]`, `npm run tributary -- resync <route>`:
 * plain Node, no Nest application; configuration from the environment like the apps.
 */
void runCli(process.argv.slice(2), {
  out: (text) => process.stdout.write(text + '\n'),
  err: (text) => process.stderr.write(text + '\n'),
  // On a terminal the bar is redrawn in place; piped into a log, each update is a line of its own.
  progress: (line, final) => process.stderr.write(process.stderr.isTTY ? `\r\x1b[2K${line}${final ? '\n' : ''}` : `${line}\n`),
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
