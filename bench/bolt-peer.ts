// BOLT-LMM 2.4 (Debian's `bolt-lmm`, binary `bolt`) as the infinitesimal
// model's peer (issue 18): `bolt --lmmInfOnly` on a PLINK fileset, its wall
// and CPU time and peak memory (GNU time), and what its log and stats file
// say: h2, the calibration, and per SNP BETA and SE (chi2 = (BETA / SE)^2,
// which keeps the six digits that its two-digit P_BOLT_LMM_INF rounds away).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Options of `runBolt`. */
export interface BoltOptions {
  /** PREFIX of the .bed/.bim/.fam. */
  bfile: string;
  /** Phenotype table with FID and IID columns and a header. */
  pheno: string;
  phenoCol: string;
  /** Folder for the stats file and the log. */
  dir: string;
  /** --numThreads (default 2). */
  threads?: number;
  /** Also run BOLT-REML (`--reml`) for h2's standard error (slower). */
  reml?: boolean;
}

/** What one BOLT-LMM run gave. */
export interface BoltRun {
  seconds: number;
  /** User + system CPU seconds. */
  cpu: number;
  /** Peak resident memory, bytes. */
  maxRss: number;
  /** The --lmmInfOnly run's (pseudo-)heritability ("h2g = "). */
  h2: number;
  /** BOLT-REML's h2 and its standard error, with `reml`. */
  reml?: { h2: number; se: number; seconds: number };
  /** Seconds BOLT says it spent on the variance components and on the statistics. */
  varianceSeconds: number;
  statsSeconds: number;
  /** Prospective / retrospective calibration and its standard error. */
  calibration: number;
  calibrationSe: number;
  /** chi2 = (BETA / SE)^2 by SNP id. */
  chi2: Map<string, number>;
  beta: Map<string, number>;
}

/** Whether `bolt` runs here, or why not. */
export function boltMissing(): string | undefined {
  const r = spawnSync('sh', ['-c', 'command -v bolt && command -v /usr/bin/time']);
  return r.status === 0 ? undefined : 'bolt (Debian bolt-lmm) or /usr/bin/time is not installed';
}

function timed(args: string[], log: string): { seconds: number; cpu: number; maxRss: number; out: string } {
  const t0 = performance.now();
  const r = spawnSync('/usr/bin/time', ['-f', 'LMMKIT_TIME %U %S %M', 'bolt', ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });
  const seconds = (performance.now() - t0) / 1000;
  const out = `${r.stdout}\n${r.stderr}`;
  require0(r.status === 0, `bolt ${args.join(' ')} failed (exit ${r.status}); see ${log}:\n${out.slice(-2000)}`);
  const m = /LMMKIT_TIME (\S+) (\S+) (\d+)/.exec(r.stderr);
  require0(m !== null, 'bolt: no GNU time line');
  return { seconds, cpu: Number(m![1]) + Number(m![2]), maxRss: Number(m![3]) * 1024, out };
}

function require0(ok: boolean, msg: string): void {
  if (!ok) throw new Error(msg);
}

function num(out: string, re: RegExp, what: string): number {
  const m = re.exec(out);
  if (m === null) throw new Error(`bolt: cannot find ${what} in its log`);
  return Number(m[1]);
}

/**
 * Runs `bolt --lmmInfOnly --LDscoresUseChip` (LOCO over the 22 autosomes,
 * BOLT's default 30 calibration SNPs and MC trials) on `opts.bfile`, and with
 * `reml` a second `bolt --reml` for h2's standard error.
 */
export function runBolt(opts: BoltOptions): BoltRun {
  const threads = String(opts.threads ?? 2);
  const stats = join(opts.dir, 'bolt.stats');
  const base = ['--bfile', opts.bfile, '--phenoFile', opts.pheno, '--phenoCol', opts.phenoCol, '--numThreads', threads];
  const r = timed([...base, '--lmmInfOnly', '--LDscoresUseChip', '--statsFile', stats], join(opts.dir, 'bolt.log'));
  const out = r.out;
  const chi2 = new Map<string, number>();
  const beta = new Map<string, number>();
  const lines = readFileSync(stats, 'utf8').trimEnd().split('\n');
  const head = lines[0]!.split('\t');
  const [iSnp, iBeta, iSe] = ['SNP', 'BETA', 'SE'].map((c) => head.indexOf(c));
  for (const line of lines.slice(1)) {
    const f = line.split('\t');
    const b = Number(f[iBeta!]);
    const se = Number(f[iSe!]);
    beta.set(f[iSnp!]!, b);
    chi2.set(f[iSnp!]!, (b / se) ** 2);
  }
  const cal = /Calibration: ([\d.]+) \(([\d.]+)\)/.exec(out);
  const run: BoltRun = {
    seconds: r.seconds,
    cpu: r.cpu,
    maxRss: r.maxRss,
    h2: num(out, /h2g = ([\d.]+)/, 'h2g'),
    varianceSeconds: num(out, /Time for fitting variance components = ([\d.]+)/, 'the variance components time'),
    statsSeconds: num(out, /Time for computing infinitesimal model assoc stats = ([\d.]+)/, 'the assoc stats time'),
    calibration: cal === null ? Number.NaN : Number(cal[1]),
    calibrationSe: cal === null ? Number.NaN : Number(cal[2]),
    chi2,
    beta,
  };
  if (opts.reml === true) {
    const q = timed([...base, '--reml'], join(opts.dir, 'bolt-reml.log'));
    const m = /h2g \(1,1\): ([\d.]+) \(([\d.]+)\)/.exec(q.out);
    if (m === null) throw new Error(`bolt --reml: no "h2g (1,1): h2 (se)" line in its log:\n${q.out.slice(-1500)}`);
    run.reml = { h2: Number(m[1]), se: Number(m[2]), seconds: q.seconds };
  }
  return run;
}
