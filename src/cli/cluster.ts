// `lmmkit cluster`: submit a chunked scan to BullMQ on Redis, run
// workers, and follow a run (status, wait). The work is in
// workflow/cluster*.ts; this file parses the options.
import { Command, CommanderError } from 'commander';
import {
  type ClusterScan,
  type ClusterWorker,
  formatStatus,
  type GwasRunOptions,
  type MtgwasRunOptions,
  runStatus,
  runWorker,
  submitRun,
  type VarcompFitOptions,
  waitRun,
} from '../workflow/index.js';
import { DEFAULT_REDIS_TIMEOUT_S, REDIS_TIMEOUT_ENV, redisTimeoutMs } from '../workflow/cluster-redis.js';
import { bad, positiveInteger, printError, printLine, takeSignals, warnOnce } from './common.js';
import { gwasCommand } from './gwas.js';
import { mtgwasCommand } from './mtgwas.js';
import { varcompCommand } from './varcomp.js';

const HELP_AFTER = `
A run: 'submit' checks the scan given after --: 'gwas OPTIONS' (or gwas's
OPTIONS alone), 'mtgwas OPTIONS', or 'varcomp fit OPTIONS' in GWAS mode
(--markers FILE or a genotype file), each as its command takes them. For
gwas it fits the null model once (or copies --null) into STORE/runs/RUN/
(mtgwas and varcomp chunks fit their own: the same, deterministic); it
queues N chunk jobs and a merge job and prints the run id as its last line.
'worker' (any number, on any machine that sees the store and Redis) scans
chunks into STORE/runs/RUN/attempts/ and merges into the submitted --out.
'status RUN' and 'wait RUN' follow the run. See README "Running on a cluster".
The Redis URL takes a password and TLS: rediss://:PASSWORD@host:6380.
A Redis that does not answer: 'submit', 'status' and 'wait' give up after
--redis-timeout seconds (default ${DEFAULT_REDIS_TIMEOUT_S}, or ${REDIS_TIMEOUT_ENV}) with one line
naming the URL, exit 2; 'worker' keeps retrying (at most 5 s apart) and
says so on stderr once per outage.
Environment: LMMKIT_CLUSTER_LOCK_MS sets the workers' lock and stalled-check
interval (default 30000): a worker silent that long is presumed dead and
its chunk is given to another.`;

/**
 * Parses `args` with `cmd`'s own option definitions, its action replaced by
 * `take` (nothing runs); a usage error is a BAD_ARGUMENT naming `what`.
 */
async function parseWith<T>(cmd: Command, args: readonly string[], what: string, take: (o: Record<string, unknown>) => T): Promise<T> {
  let parsed: T | undefined;
  cmd.exitOverride();
  cmd.configureOutput({ writeErr: () => {}, writeOut: () => {} });
  cmd.action((o: Record<string, unknown>) => {
    parsed = take(o);
  });
  try {
    await cmd.parseAsync([...args], { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) throw bad(`cluster submit: ${what} options: ${e.message.replace(/^error: /, '')}`);
    throw e;
  }
  if (parsed === undefined) throw bad(`cluster submit: expected ${what} options after --, found none`);
  return parsed;
}

/** Parses the gwas options given after -- with `lmmkit gwas`'s own definitions, without running the scan. */
export async function parseGwasOptions(args: readonly string[]): Promise<GwasRunOptions> {
  return parseWith(gwasCommand(), args, 'gwas', (o) => {
    const {
      kinshipFromBfile,
      null: nullModel,
      ...rest
    } = o as Omit<GwasRunOptions, 'kinshipFromGenotypes' | 'nullModel'> & {
      kinshipFromBfile?: boolean;
      null?: string;
    };
    return { ...rest, kinshipFromGenotypes: kinshipFromBfile === true, nullModel };
  });
}

/**
 * The scan after --: `gwas OPTIONS`, `mtgwas OPTIONS` or `varcomp fit
 * OPTIONS`, each parsed with its command's own definitions; OPTIONS alone
 * are gwas's.
 */
export async function parseClusterScan(args: readonly string[]): Promise<ClusterScan> {
  const [first, second] = args;
  if (first === 'mtgwas') {
    const options = await parseWith(mtgwasCommand(), args.slice(1), 'mtgwas', (o) => {
      const { kinshipFromBfile, ...rest } = o as Omit<MtgwasRunOptions, 'kinshipFromGenotypes'> & { kinshipFromBfile?: boolean };
      return { ...rest, kinshipFromGenotypes: kinshipFromBfile === true } as MtgwasRunOptions;
    });
    return { command: 'mtgwas', options };
  }
  if (first === 'varcomp') {
    if (second !== 'fit') throw bad(`cluster submit: expected 'varcomp fit' and its options after --, found 'varcomp ${second ?? ''}'`);
    const fit = varcompCommand().commands.find((c) => c.name() === 'fit')!;
    return { command: 'varcomp', options: await parseWith(fit, args.slice(2), 'varcomp fit', (o) => o as unknown as VarcompFitOptions) };
  }
  return { command: 'gwas', options: await parseGwasOptions(first === 'gwas' ? args.slice(1) : args) };
}

/** `lmmkit cluster`: submit, worker, status, wait. */
export function clusterCommand(): Command {
  const cmd = new Command('cluster')
    .description('run a chunked scan (gwas, mtgwas, varcomp fit) on BullMQ + Redis workers (submit, worker, status, wait)')
    .addHelpText('after', HELP_AFTER);
  const redis = '--redis <url>';
  const timeout = '--redis-timeout <s>';
  const timeoutHelp = `seconds to wait for Redis to answer before giving up (default ${DEFAULT_REDIS_TIMEOUT_S}, or ${REDIS_TIMEOUT_ENV})`;
  const redisHelp = 'Redis URL: redis://[user:password@]host:port[/db], rediss:// for TLS (required)';
  const needRedis = (o: { redis?: string }, what: string): string => {
    if (o.redis === undefined) throw bad(`cluster ${what}: expected --redis URL, found none`);
    return o.redis;
  };
  cmd
    .command('submit')
    .description('fit the null model once and queue the chunk jobs and their merge; prints the run id last')
    .argument('<scan...>', "the scan after --: 'gwas OPTIONS' (or the gwas OPTIONS alone), 'mtgwas OPTIONS' or 'varcomp fit OPTIONS' (GWAS mode)")
    .option(redis, redisHelp)
    .requiredOption('--chunks <n>', 'chunks (jobs) to cut the scan into', positiveInteger('--chunks'))
    .option('--store <dir>', 'the store folder shared by the machines (default: lmmkit-store beside --out)')
    .option(timeout, timeoutHelp)
    .action(async (args: string[], o: { redis?: string; chunks: number; store?: string; redisTimeout?: string }) => {
      const url = needRedis(o, 'submit');
      const redisTimeout = redisTimeoutMs(o.redisTimeout);
      const scan = await parseClusterScan(args);
      const { dirname, resolve } = await import('node:path');
      const store = o.store ?? resolve(dirname(scan.options.out ?? '.'), 'lmmkit-store');
      const r = await submitRun({ redis: url, chunks: o.chunks, store, scan, redisTimeoutMs: redisTimeout, log: printLine, warn: warnOnce });
      printLine(r.run);
    });
  cmd
    .command('worker')
    .description('take chunk and merge jobs until stopped (SIGTERM or SIGINT: finish the jobs running, then exit)')
    .option(redis, redisHelp)
    .option('--concurrency <k>', 'jobs run at once', positiveInteger('--concurrency'), 1)
    .option('--store <dir>', "this machine's path of the store (default: the path the run was submitted with)")
    .action(async (o: { redis?: string; concurrency: number; store?: string }) => {
      const ms = process.env.LMMKIT_CLUSTER_LOCK_MS;
      const lock = ms === undefined ? undefined : positiveInteger('LMMKIT_CLUSTER_LOCK_MS')(ms);
      const w: ClusterWorker = runWorker({
        redis: needRedis(o, 'worker'),
        concurrency: o.concurrency,
        store: o.store,
        lockDuration: lock,
        stalledInterval: lock,
        log: printLine,
        warn: warnOnce,
        notice: (line) => printError(`lmmkit: ${line}`),
      });
      let stopping = false;
      takeSignals((signal) => {
        if (stopping) {
          printError(`lmmkit: ${signal} again: stopping now; the running jobs go back to the queue when their lock expires`);
          void w.close(true).finally(() => process.exit(143));
          return;
        }
        stopping = true;
        printError(`lmmkit: ${signal}: finishing the running jobs, then stopping (send it again to stop now)`);
        void w.close();
      });
      await w.closed;
    });
  cmd
    .command('status')
    .description("a run's chunks (waiting, active with worker and progress, done, failed with the error), merge and ETA")
    .argument('<run>', 'the run id submit printed')
    .option(redis, redisHelp)
    .option('--json', 'print JSON')
    .option(timeout, timeoutHelp)
    .action(async (run: string, o: { redis?: string; json?: boolean; redisTimeout?: string }) => {
      const s = await runStatus({ redis: needRedis(o, 'status'), run, timeoutMs: redisTimeoutMs(o.redisTimeout) });
      printLine(o.json === true ? JSON.stringify(s, null, 1) : formatStatus(s).join('\n'));
    });
  cmd
    .command('wait')
    .description("wait until the run is merged (exit 0) or has failed (exit 1, the failed chunk's error on stderr)")
    .argument('<run>', 'the run id submit printed')
    .option(redis, redisHelp)
    .option(timeout, timeoutHelp)
    .action(async (run: string, o: { redis?: string; redisTimeout?: string }) => {
      const r = await waitRun({ redis: needRedis(o, 'wait'), run, timeoutMs: redisTimeoutMs(o.redisTimeout) });
      if (r.ok) printLine(`run ${run}: merged${r.report === undefined ? '' : `: ${r.report}`}`);
      else {
        printError(`lmmkit: ${r.error}`);
        process.exitCode = 1;
      }
    });
  return cmd;
}
