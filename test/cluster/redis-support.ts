// A Redis server for the cluster tests: redis-server on 127.0.0.1 at a free
// port, its own folder, no RDB snapshots, the append-only file on (so that
// a restart keeps the queue), stopped after the tests.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { connect, createServer } from 'node:net';

/** A free TCP port on 127.0.0.1 (the kernel's pick, released at once). */
export async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a !== null ? done(a.port) : fail(new Error('no port'))));
    });
  });
}

/** Resolves once the server at `port` answers PING (gives up after 10 s). */
async function ready(port: number): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    const ok = await new Promise<boolean>((done) => {
      const c = connect(port, '127.0.0.1');
      c.once('error', () => done(false));
      c.once('connect', () => c.write('PING\r\n'));
      c.once('data', (d) => {
        c.destroy();
        done(d.toString().startsWith('+PONG'));
      });
    });
    if (ok) return;
    if (Date.now() - t0 > 10_000) throw new Error(`redis-server on port ${port} did not answer PING within 10 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A test Redis: its URL, and stop/start (same port and folder: the AOF brings the data back). */
export interface TestRedis {
  url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
}

/** Starts redis-server in `dir` on `port` (default a free one; the caller stops it, in an `after` of its suite). */
export async function startRedis(dir: string, port?: number): Promise<TestRedis> {
  mkdirSync(dir, { recursive: true });
  port ??= await freePort();
  let proc: ChildProcess | undefined;
  const start = async (): Promise<void> => {
    proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--dir', dir], { stdio: 'ignore' });
    await ready(port);
  };
  const stop = async (): Promise<void> => {
    const p = proc;
    proc = undefined;
    if (p === undefined || p.exitCode !== null) return;
    await new Promise<void>((done) => {
      p.once('exit', () => done());
      p.kill('SIGTERM');
    });
  };
  await start();
  return { url: `redis://127.0.0.1:${port}`, stop, start };
}
