// The phenotype and covariate tables as users write them: header-less PLINK
// files with numeric FID IID (matched by id, never by row order), PLINK's
// -9 missing code, case-control traits (analysed, with a warning) and
// column names that are also JavaScript's own property names.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { simulateGwas } from '../../src/sim/gwas.js';
import { assertRejected, fixturePaths, lmmkit, scratchDir, writeGenotypeFixture, writeSampleTable } from '../cli-support.js';

const dir = scratchDir('lmmkit-tables-');
const { prefix, kin, data } = fixturePaths(dir, 'sim');
const N = 150;
const base = simulateGwas({ samples: N, variants: 400, causal: 3, h2Causal: 0.3, seed: 5 });
// Numeric ids, FID unlike IID: a header-less file of them is all numbers.
const samples = { fid: Array.from({ length: N }, (_, i) => String(1000 + (i % 7))), iid: Array.from({ length: N }, (_, i) => String(i + 1)) };
const sim = { ...base, samples };
const ready = writeGenotypeFixture(sim, prefix, kin);

function ok(args: string[]): { stdout: string; stderr: string } {
  const r = lmmkit(...args);
  assert.equal(r.status, 0, r.stderr);
  return r;
}

/** Rows `FID IID values...` of every sample, in `order`; with a header FID IID V3 V4 ... when `header`. */
function plinkTable(path: string, cols: number, cell: (i: number, c: number) => string, order: readonly number[], header: boolean): void {
  const lines = order.map((i) => [samples.fid[i], samples.iid[i], ...Array.from({ length: cols }, (_, c) => cell(i, c))].join(' '));
  if (header) lines.unshift(['FID', 'IID', ...Array.from({ length: cols }, (_, c) => `V${c + 3}`)].join(' '));
  writeFileSync(path, `${lines.join('\n')}\n`);
}

const identity = Array.from({ length: N }, (_, i) => i);
// A fixed permutation (37 is prime to 150) and a file with extra samples the genotypes lack.
const shuffled = identity.map((i) => (i * 37 + 11) % N);
const trait = (i: number, c: number): string => (c === 1 && i % 9 === 0 ? 'NA' : String(base.phenotype[i]! * (c + 1) + (c === 1 ? Math.sin(i) : 0)));

describe('a header-less table with numeric FID IID is matched by id (--ids auto)', () => {
  const layouts = ['plain', 'shuffled', 'header'] as const;
  const files = (layout: (typeof layouts)[number]): Record<'pheno' | 'covar' | 'lowrank' | 'inter', string> => {
    const order = layout === 'shuffled' ? shuffled : identity;
    const header = layout === 'header';
    const f = (name: string): string => join(data, `${name}-${layout}.txt`);
    plinkTable(f('pheno'), 2, trait, order, header);
    plinkTable(f('covar'), 1, (i) => String((i * 7) % 13), order, header);
    plinkTable(f('lowrank'), 3, (i, c) => String(Math.cos(i * (c + 1))), order, header);
    plinkTable(f('inter'), 2, (i, c) => (c === 0 ? '1' : String(i % 3)), order, header);
    return { pheno: f('pheno'), covar: f('covar'), lowrank: f('lowrank'), inter: f('inter') };
  };
  const cases: { name: string; args: (t: ReturnType<typeof files>, out: string) => string[]; outputs: string[] }[] = [
    {
      name: 'gwas --covar --kinship',
      args: (t, out) => ['gwas', '--bfile', prefix, '--pheno', t.pheno, '--covar', t.covar, '--kinship-from-bfile', '--out', out],
      outputs: ['.V3.tsv', '.V4.tsv'],
    },
    { name: 'gwas --lowrank', args: (t, out) => ['gwas', '--bfile', prefix, '--pheno', t.pheno, '--lowrank', t.lowrank, '--out', out], outputs: ['.V3.tsv'] },
    {
      name: 'gwas --inter',
      args: (t, out) => ['gwas', '--bfile', prefix, '--pheno', t.pheno, '--pheno-col', 'V4', '--covar', t.covar, '--inter', t.inter, '--out', out],
      outputs: ['.V4.tsv'],
    },
    {
      name: 'mtgwas --covar',
      args: (t, out) => ['mtgwas', '--bfile', prefix, '--pheno', t.pheno, '--covar', t.covar, '--kinship-from-bfile', '--out', out],
      outputs: ['.tsv'],
    },
    {
      name: 'null fit --covar',
      args: (t, out) => ['null', 'fit', '--bfile', prefix, '--pheno', t.pheno, '--pheno-col', 'V4', '--covar', t.covar, '--kinship-from-bfile', '--out', out],
      outputs: [''],
    },
  ];
  for (const c of cases) {
    test(`${c.name}: shuffled rows and a FID IID header give byte-identical outputs`, async () => {
      await ready;
      const got = layouts.map((layout) => {
        const out = join(dir, `${c.name.replace(/[^a-z]+/g, '-')}-${layout}`);
        ok(c.args(files(layout), out));
        return c.outputs.map((suffix) => readFileSync(out + suffix));
      });
      for (let k = 0; k < c.outputs.length; k++) {
        assert.ok(got[0]![k]!.length > 500);
        assert.ok(got[1]![k]!.equals(got[0]![k]!), `${c.outputs[k]}: shuffled rows, the same bytes`);
        assert.ok(got[2]![k]!.equals(got[0]![k]!), `${c.outputs[k]}: with a header, the same bytes`);
      }
    });
  }

  test('rows that are ids for some samples and values for others are refused, naming --ids', async () => {
    await ready;
    const out = join(dir, 'ambiguous');
    mkdirSync(out);
    const path = join(data, 'ambiguous.txt');
    // A third of the rows start with a genotype sample's FID IID, the rest with other whole numbers.
    writeFileSync(path, identity.map((i) => (i % 3 === 0 ? `${samples.fid[i]} ${samples.iid[i]} 0.5` : `${i + 5} ${i + 7} 0.5`)).join('\n'));
    const r = lmmkit('gwas', '--bfile', prefix, '--pheno', path, '--out', join(out, 'x'));
    assertRejected(r, /ambiguous\.txt: cannot tell how the rows name their samples: .*50 of its 150 rows start with the FID and IID .*--ids fid-iid/, out);
  });
});

describe('-9 is a missing phenotype and covariate (PLINK), counted in the log and the report', () => {
  const minus9 = [4, 20, 33, 90, 141];
  const write = (name: string, code: string): string => {
    const path = join(data, `${name}.tsv`);
    writeSampleTable(path, samples, ['t1'], (i) => (minus9.includes(i) ? code : base.phenotype[i]!));
    return path;
  };
  const covar = join(data, 'covar-9.tsv');
  writeSampleTable(covar, samples, ['age', 'dose'], (i, c) => (c === 0 ? (i * 7) % 13 : i === 8 || i === 9 ? -9 : i % 5));

  for (const cmd of ['gwas', 'mtgwas'] as const) {
    test(`${cmd}: five -9s give the output of five NAs; --no-input-missing-phenotype keeps them as numbers`, async () => {
      await ready;
      const run = (pheno: string, tag: string, extra: string[] = []): { tsv: Buffer; json: Record<string, unknown>; stdout: string } => {
        const out = join(dir, `${cmd}-${tag}`);
        const r = ok([cmd, '--bfile', prefix, '--pheno', pheno, '--covar', covar, '--kinship-from-bfile', ...extra, '--out', out]);
        return {
          tsv: readFileSync(cmd === 'gwas' ? `${out}.t1.tsv` : `${out}.tsv`),
          json: JSON.parse(readFileSync(`${out}.json`, 'utf8')) as Record<string, unknown>,
          stdout: r.stdout,
        };
      };
      const na = run(write('pheno-na', 'NA'), 'na');
      const m9 = run(write('pheno-m9', '-9'), 'm9');
      const m9f = run(write('pheno-m9f', '-9.0'), 'm9f');
      const kept = run(write('pheno-m9', '-9'), 'kept', ['--no-input-missing-phenotype']);
      assert.ok(m9.tsv.equals(na.tsv), '-9 reads as NA');
      assert.ok(m9f.tsv.equals(na.tsv), '-9.0 reads as NA');
      assert.ok(!kept.tsv.equals(na.tsv), '--no-input-missing-phenotype: -9 is a value');
      const samplesOf = (j: Record<string, unknown>): number => (cmd === 'gwas' ? (j.traits as { samples: number }[])[0]!.samples : (j.samples as number));
      // Samples 8 and 9 have dose -9: missing covariates drop them too, unless -9 is a number.
      assert.equal(samplesOf(m9.json), N - 7);
      assert.equal(samplesOf(kept.json), N);
      assert.deepEqual(m9.json.inputMissingPhenotype, {
        code: -9,
        files: [
          { source: 'phenotype', file: join(data, 'pheno-m9.tsv'), values: 5, columns: [{ name: 't1', values: 5 }] },
          { source: 'covariates', file: covar, values: 2, columns: [{ name: 'dose', values: 2 }] },
        ],
      });
      assert.deepEqual(
        (na.json.inputMissingPhenotype as { files: { values: number }[] }).files.map((f) => f.values),
        [0, 2],
      );
      assert.deepEqual(kept.json.inputMissingPhenotype, {
        code: null,
        files: [
          { source: 'phenotype', file: join(data, 'pheno-m9.tsv'), values: 0, columns: [] },
          { source: 'covariates', file: covar, values: 0, columns: [] },
        ],
      });
      assert.match(m9.stdout, /pheno-m9\.tsv: 5 values equal to -9 read as missing/);
      assert.match(na.stdout, /pheno-na\.tsv: 0 values equal to -9 read as missing/);
      assert.match(m9.stdout, /covar-9\.tsv: 2 values equal to -9 read as missing/);
    });
  }

  test('null fit reports the counts; --input-missing-phenotype takes another code', async () => {
    await ready;
    const pheno = join(data, 'pheno-99.tsv');
    writeSampleTable(pheno, samples, ['t1'], (i) => (minus9.includes(i) ? -99 : base.phenotype[i]!));
    const out = join(dir, 'null-99');
    const { stdout } = ok(['null', 'fit', '--bfile', prefix, '--pheno', pheno, '--kinship-from-bfile', '--input-missing-phenotype', '-99', '--out', out]);
    assert.match(stdout, /pheno-99\.tsv: 5 values equal to -99 read as missing/);
    assert.match(stdout, /trait 't1': 145 samples/);
    const r = lmmkit('null', 'fit', '--bfile', prefix, '--pheno', pheno, '--kinship-from-bfile', '--input-missing-phenotype', 'abc', '--out', `${out}-x`);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--input-missing-phenotype: expected a number, found 'abc'/);
  });
});

describe('a case-control trait is analysed as quantitative, with a warning and a mark in the report', () => {
  test('gwas, mtgwas and null fit', async () => {
    await ready;
    const pheno = join(data, 'cc.tsv');
    writeSampleTable(pheno, samples, ['cc', 'q'], (i, c) => (c === 0 ? (base.phenotype[i]! > 0 ? 2 : 1) : base.phenotype[i]! + Math.cos(i)));
    const g = lmmkit('gwas', '--bfile', prefix, '--pheno', pheno, '--kinship-from-bfile', '--out', join(dir, 'cc'));
    assert.equal(g.status, 0, g.stderr);
    assert.match(g.stderr, /warning: trait 'cc' of .*cc\.tsv has two values only \(1 and 2 on 150 samples\): analysed as a quantitative trait/);
    assert.doesNotMatch(g.stderr, /trait 'q'/);
    const gj = JSON.parse(readFileSync(join(dir, 'cc.json'), 'utf8')) as { traits: { trait: string; binary: boolean }[] };
    assert.deepEqual(
      gj.traits.map((t) => [t.trait, t.binary]),
      [
        ['cc', true],
        ['q', false],
      ],
    );
    const m = lmmkit('mtgwas', '--bfile', prefix, '--pheno', pheno, '--kinship-from-bfile', '--out', join(dir, 'cc-mt'));
    assert.equal(m.status, 0, m.stderr);
    assert.match(m.stderr, /warning: trait 'cc' .*two values only/);
    assert.deepEqual((JSON.parse(readFileSync(join(dir, 'cc-mt.json'), 'utf8')) as { binaryTraits: string[] }).binaryTraits, ['cc']);
    const n = lmmkit('null', 'fit', '--bfile', prefix, '--pheno', pheno, '--pheno-col', 'cc', '--kinship-from-bfile', '--out', join(dir, 'cc.lmmnull'));
    assert.equal(n.status, 0, n.stderr);
    assert.match(n.stderr, /warning: trait 'cc' .*two values only/);
  });
});

describe('columns named __proto__ and constructor are kept in the reports', () => {
  test('gwas and mtgwas', async () => {
    await ready;
    const pheno = join(data, 'proto-pheno.tsv');
    const covar = join(data, 'proto-covar.tsv');
    const names = ['__proto__', 'constructor'];
    writeSampleTable(pheno, samples, names, (i, c) => base.phenotype[i]! * (c + 1) + (c === 1 ? Math.sin(i) : 0));
    writeSampleTable(covar, samples, names, (i, c) => (c === 0 ? (i * 7) % 13 : i % 5));
    ok(['gwas', '--bfile', prefix, '--pheno', pheno, '--covar', covar, '--kinship-from-bfile', '--out', join(dir, 'proto')]);
    const g = JSON.parse(readFileSync(join(dir, 'proto.json'), 'utf8')) as { traits: { trait: string; covariates: string[]; nullModel: { beta: object } }[] };
    assert.deepEqual(
      g.traits.map((t) => t.trait),
      names,
    );
    for (const t of g.traits) {
      assert.deepEqual(t.covariates, ['intercept', ...names]);
      assert.deepEqual(Object.keys(t.nullModel.beta), ['intercept', ...names]);
    }
    ok(['mtgwas', '--bfile', prefix, '--pheno', pheno, '--covar', covar, '--kinship-from-bfile', '--out', join(dir, 'proto-mt')]);
    const m = JSON.parse(readFileSync(join(dir, 'proto-mt.json'), 'utf8')) as {
      traits: string[];
      covariates: string[];
      nullModel: { beta: Record<string, object> };
    };
    assert.deepEqual(m.traits, names);
    assert.deepEqual(m.covariates, ['intercept', ...names]);
    assert.deepEqual(Object.keys(m.nullModel.beta), ['intercept', ...names]);
    for (const k of Object.keys(m.nullModel.beta)) assert.deepEqual(Object.keys(m.nullModel.beta[k]!), names, `beta of ${k}`);
  });
});
