// Selection the PLINK way (--keep, --remove, --extract, --exclude, --chr,
// --from-bp, --to-bp), chromosome codes as plink2 reads them, and --threads:
// each run is compared with the same run on the fileset plink2 writes with
// the same options (--make-bed), and with the report's counts.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { simulateGwas } from '../../src/sim/gwas.js';
import { assertRejected, column, fixturePaths, lmmkit, readTsv, scratchDir, writeGenotypeFixture, writeSampleTable } from '../cli-support.js';
import { requireTool, toolTest } from '../support.js';

const dir = scratchDir('lmmkit-select-');

describe('lmmkit selection options', () => {
  const { data, prefix, pheno, kin } = fixturePaths(dir, 'sim');
  const sim = simulateGwas({ samples: 90, variants: 400, chromosomes: 5, seed: 11 });
  const keep = join(data, 'keep.txt');
  const remove = join(data, 'remove.txt');
  const extract = join(data, 'extract.txt');
  const exclude = join(data, 'exclude.txt');
  const ready = (async () => {
    writeSampleTable(pheno, sim.samples, ['t1'], (i) => sim.phenotype[i]!);
    await writeGenotypeFixture(sim, prefix, kin);
    const s = sim.samples;
    // --keep with plink2's #FID header; --remove as FID IID without a header.
    writeFileSync(keep, `#FID\tIID\n${s.iid.flatMap((id, i) => (i % 3 !== 0 ? [`${s.fid[i]}\t${id}`] : [])).join('\n')}\n`);
    writeFileSync(remove, `${[1, 5, 8].map((i) => `${s.fid[i]} ${s.iid[i]}`).join('\n')}\n`);
    // Ids separated by newlines and spaces, one not in the file.
    const ids = sim.variants.id;
    writeFileSync(extract, `${ids.filter((_, j) => j % 2 === 0).join('\n')} nosuchvariant\n`);
    writeFileSync(exclude, `${ids.slice(0, 30).join(' ')}\n`);
  })();
  const chroms = (): string[] => [...new Set(sim.variants.chrom)];

  /** Runs gwas and kinship with `opts`, and the same on plink2's subset written with `plinkOpts`; compares outputs. */
  async function sameAsPlink2(t: import('node:test').TestContext, name: string, opts: string[], plinkOpts: string[]): Promise<unknown> {
    await ready;
    if (!requireTool(t, 'plink2')) return undefined;
    const sub = join(data, `sub-${name}`);
    const p = spawnSync('plink2', ['--bfile', prefix, ...plinkOpts, '--make-bed', '--out', sub], { encoding: 'utf8' });
    assert.equal(p.status, 0, p.stdout + p.stderr);
    const outA = join(data, `a-${name}`);
    const outB = join(data, `b-${name}`);
    const common = ['--pheno', pheno, '--kinship-from-bfile', '--maf', '0'];
    const a = lmmkit('gwas', '--bfile', prefix, ...common, ...opts, '--out', outA);
    assert.equal(a.status, 0, a.stderr);
    const b = lmmkit('gwas', '--bfile', sub, ...common, '--out', outB);
    assert.equal(b.status, 0, b.stderr);
    const ta = readTsv(`${outA}.t1.tsv`);
    const tb = readTsv(`${outB}.t1.tsv`);
    assert.deepEqual(column(ta, 'id'), column(tb, 'id'));
    for (const col of ['beta', 'pvalue']) {
      const x = column(ta, col).map(Number);
      const y = column(tb, col).map(Number);
      for (const [i, v] of x.entries()) assert.ok(Math.abs(v - y[i]!) <= 1e-9 * Math.max(1, Math.abs(y[i]!)), `${col} row ${i}: ${v} vs ${y[i]}`);
    }
    const ka = lmmkit('kinship', '--bfile', prefix, ...opts, '--out', `${outA}.kin`);
    assert.equal(ka.status, 0, ka.stderr);
    const kb = lmmkit('kinship', '--bfile', sub, '--out', `${outB}.kin`);
    assert.equal(kb.status, 0, kb.stderr);
    const ra = readFileSync(`${outA}.kin`, 'utf8').trim().split('\n');
    const rb = readFileSync(`${outB}.kin`, 'utf8').trim().split('\n');
    assert.equal(ra[0], rb[0], 'the same samples, in order');
    const va = ra.slice(1).flatMap((l) => l.split('\t').slice(1).map(Number));
    const vb = rb.slice(1).flatMap((l) => l.split('\t').slice(1).map(Number));
    assert.equal(va.length, vb.length);
    for (const [i, v] of va.entries()) assert.ok(Math.abs(v - vb[i]!) <= 1e-12, `kinship entry ${i}: ${v} vs ${vb[i]}`);
    return JSON.parse(readFileSync(`${outA}.json`, 'utf8'));
  }

  toolTest('--keep and --remove equal plink2 --keep/--remove --make-bed, and the report counts them', 'plink2', async (t) => {
    const report = (await sameAsPlink2(t, 'samples', ['--keep', keep, '--remove', remove], ['--keep', keep, '--remove', remove])) as {
      selection: unknown;
      traits: { samples: number; match: { dropped: { iid: string; reason: string }[] } }[];
    };
    // 30 samples not in --keep (i % 3 == 0); of the removed, sample 1, 5 and 8 are kept by --keep.
    assert.deepEqual(report.selection, {
      samples: {
        before: 90,
        after: 57,
        filters: [
          { option: '--keep', value: keep, removed: 30 },
          { option: '--remove', value: remove, removed: 3 },
        ],
      },
    });
    assert.equal(report.traits[0]!.samples, 57);
    const dropped = report.traits[0]!.match.dropped;
    assert.equal(dropped.filter((d) => d.reason === `removed by --remove ${remove}`).length, 3);
    assert.equal(dropped.filter((d) => d.reason === `not in --keep ${keep}`).length, 30);
  });

  toolTest('--extract and --exclude equal plink2 --extract/--exclude --make-bed, and the report counts them', 'plink2', async (t) => {
    const report = (await sameAsPlink2(t, 'variants', ['--extract', extract, '--exclude', exclude], ['--extract', extract, '--exclude', exclude])) as {
      selection: unknown;
    };
    assert.deepEqual(report.selection, {
      variants: {
        before: 400,
        after: 185,
        filters: [
          { option: '--extract', value: extract, removed: 200 },
          { option: '--exclude', value: exclude, removed: 15 },
        ],
      },
    });
  });

  toolTest('--chr ranges, and --from-bp/--to-bp, equal plink2 --chr --make-bed', 'plink2', async (t) => {
    const [c1, c2, , c4] = chroms();
    const report = (await sameAsPlink2(t, 'chr', ['--chr', `chr${c1}-${c2},${c4}`], ['--chr', `${c1}-${c2},${c4}`])) as {
      selection: { variants: { after: number } };
    };
    const want = sim.variants.chrom.filter((c) => c === c1 || c === c2 || c === c4).length;
    assert.equal(report.selection.variants.after, want);
    const pos = sim.variants.pos.filter((_, j) => sim.variants.chrom[j] === c2);
    const from = String(pos[10]);
    const to = String(pos[40]);
    await sameAsPlink2(t, 'bp', ['--chr', c2!, '--from-bp', from, '--to-bp', to], ['--chr', c2!, '--from-bp', from, '--to-bp', to]);
  });

  test('--region with a chr prefix selects the variants of a .bim without one', async () => {
    await ready;
    const c = chroms()[1]!;
    const out = join(data, 'region');
    const r = lmmkit('gwas', '--bfile', prefix, '--pheno', pheno, '--maf', '0', '--region', `chr${c}:0-1000000000`, '--out', out);
    assert.equal(r.status, 0, r.stderr);
    const ids = column(readTsv(`${out}.t1.tsv`), 'chrom');
    assert.equal(ids.length, sim.variants.chrom.filter((x) => x === c).length);
    assert.ok(
      ids.every((x) => x === c),
      'the output keeps the file spelling',
    );
  });

  test('--threads 1 and 2 give the same scan, and the report records the threads', async () => {
    await ready;
    const tsv: string[][] = [];
    for (const n of ['1', '2']) {
      const out = join(data, `threads${n}`);
      const r = lmmkit('gwas', '--bfile', prefix, '--pheno', pheno, '--kinship', kin, '--threads', n, '--out', out);
      assert.equal(r.status, 0, r.stderr);
      tsv.push(column(readTsv(`${out}.t1.tsv`), 'pvalue'));
      const rep = JSON.parse(readFileSync(`${out}.json`, 'utf8')) as { backend: string; threads: { requested: number; blas: number; workers: number } };
      assert.equal(rep.threads.requested, Number(n));
      // OpenBLAS uses at most one thread per core.
      if (rep.backend === 'native') assert.ok(rep.threads.blas >= 1 && rep.threads.blas <= Number(n));
    }
    for (const [i, p] of tsv[0]!.entries()) assert.ok(Math.abs(Number(p) - Number(tsv[1]![i])) <= 1e-10 * Math.max(1e-300, Number(p)) + 1e-300, `row ${i}`);
    const info = lmmkit('info', '--json', '--threads', '1');
    assert.equal(info.status, 0, info.stderr);
    const rep = JSON.parse(info.stdout) as { backend: string; threads: number };
    if (rep.backend === 'native') assert.equal(rep.threads, 1);
  });

  describe('bad input: exit 2, one line', () => {
    const cases: [string, () => string[], RegExp][] = [
      [
        '--extract naming no variant',
        () => ['--extract', join(data, 'none.txt')],
        /--extract .*none\.txt: expected ids of variants of .*g\.bed, found none of its 2 ids/,
      ],
      [
        '--keep naming no sample',
        () => ['--keep', join(data, 'nobody.txt')],
        /--keep .*nobody\.txt: expected samples of the genotype file, found none of its 1 rows/,
      ],
      ['unknown --chr code', () => ['--chr', '1,Q'], /--chr: unknown chromosome code 'Q'/],
      ['--chr range backwards', () => ['--chr', '5-2'], /--chr: expected a range from a lower to a higher code, found '5-2'/],
      ['--from-bp without --chr', () => ['--from-bp', '100'], /--from-bp: needs exactly one chromosome given with --chr, found no --chr/],
      ['--to-bp with two --chr', () => ['--chr', '1,2', '--to-bp', '100'], /--from-bp\/--to-bp: need exactly one chromosome in --chr, found '1,2'/],
      ['--threads 0', () => ['--threads', '0'], /--threads: expected a positive integer, found '0'/],
      ['empty --keep file', () => ['--keep', join(data, 'empty.txt')], /empty\.txt: expected at least one sample/],
    ];
    for (const [name, extra, message] of cases) {
      test(name, async () => {
        await ready;
        writeFileSync(join(data, 'none.txt'), 'x1 x2\n');
        writeFileSync(join(data, 'nobody.txt'), 'nobody\n');
        writeFileSync(join(data, 'empty.txt'), '\n');
        const out = scratchDir('lmmkit-select-out-');
        assertRejected(lmmkit('gwas', '--bfile', prefix, '--pheno', pheno, ...extra(), '--out', join(out, 'r')), message, out);
        const outK = scratchDir('lmmkit-select-out-');
        assertRejected(lmmkit('kinship', '--bfile', prefix, ...extra(), '--out', join(outK, 'k.tsv')), message, outK);
      });
    }
  });
});
