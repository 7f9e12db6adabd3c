import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { AppName, appEntry } from './app-entry';

/** A compiled Tributary app (dist/apps/<name>) running as a real child process. */
export interface AppProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** The last 20,000 characters it logged, for a failure message. */
  output(): string;
  /** Whether anything it logged so far (stdout and stderr, up to 16 MB) contains `text`: a log scan for leaked secrets. */
  logged(text: string): boolean;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

const ROOT = join(__dirname, '..', '..', '..');
/** What a test process's log may grow to and still be scanned whole. */
const FULL_LOG_LIMIT = 16 * 1024 * 1024;

/** Starts an app as users run it (appEntry) with the given environment. `npm test` builds dist first. */
export function startApp(app: AppName, env: Record<string, string>): AppProcess {
  const child = spawn(process.execPath, [appEntry(ROOT, app)], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const chunks: string[] = [];
  let size = 0;
  let tail = '';
  const keep = (chunk: Buffer) => {
    const text = chunk.toString();
    tail = (tail + text).slice(-20_000);
    if (size > FULL_LOG_LIMIT) return;
    chunks.push(text);
    size += text.length;
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    name: app,
    child,
    output: () => tail,
    logged: (text) => {
      if (size > FULL_LOG_LIMIT) throw new Error(`${app} logged more than ${FULL_LOG_LIMIT} characters; a scan of them would be incomplete`);
      return chunks.join('').includes(text);
    },
    async kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node dist/apps/cli/src/main.js <args>` to its end with the given environment (e.g. a pipeline's). */
export function runCliCommand(env: Record<string, string>, ...args: string[]): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'dist', 'apps', 'cli', 'src', 'main.js'), ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}
