// `lmmkit null fit` and `lmmkit gwas --null`: a null model fitted once,
// saved, and scanned under later gives the output of the scan that fits it
// itself, byte for byte; every mismatch between the model and the scan
// (samples, trait values, covariates, test, other inputs) and every bad
// file is refused with one line naming it, and nothing is written.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { simulateGwas } from '../../src/sim/gwas.js';
import { assertRejected, fixturePaths, lmmkit, scratchDir, writeGenotypeFixture, writeSampleTable } from '../cli-support.js';

const dir = scratchDir('lmmkit-null-');
const { data, prefix, pheno, covar, kin } = fixturePaths(dir, 'sim');
const sim = simulateGwas({ samples: 150, variants: 400, causal: 3, h2Causal: 0.3, seed: 11 });
const ready = (async () => {
  writeSampleTable(pheno, sim.samples, ['t1', 't2'], (i, c) => (c === 1 && i % 10 === 0 ? 'NA' : sim.phenotype[i]! * (c + 1)));
  writeSampleTable(covar, sim.samples, ['age'], (i) => (i * 7) % 13);
  await writeGenotypeFixture(sim, prefix, kin);
})();

function ok(args: string[]): string {
  const r = lmmkit(...args);
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

describe('null fit, then gwas --null', () => {
  for (const testKind of ['fixed', 'exact'] as const) {
    for (const [label, kinArgs] of [
      ['kinship file', ['--kinship', kin]],
      ['kinship from the genotypes', ['--kinship-from-bfile']],
    ] as const) {
      test(`${testKind} test, ${label}: the same TSV as the scan that fits the model`, async () => {
        await ready;
        const tag = `${testKind}-${label.replaceAll(' ', '-')}`;
        const model = join(dir, `${tag}.lmmnull`);
        const common = ['--bfile', prefix, '--pheno', pheno, '--pheno-col', 't2', '--covar', covar, '--test', testKind];
        ok(['null', 'fit', ...common, ...kinArgs, '--out', model]);
        ok(['gwas', ...common, ...kinArgs, '--out', join(dir, `${tag}-direct`)]);
        ok(['gwas', ...common, '--null', model, '--out', join(dir, `${tag}-saved`)]);
        const direct = readFileSync(join(dir, `${tag}-direct.t2.tsv`));
        const saved = readFileSync(join(dir, `${tag}-saved.t2.tsv`));
        assert.ok(direct.length > 1000);
        assert.ok(direct.equals(saved), 'byte-identical TSV');
        const a = JSON.parse(readFileSync(join(dir, `${tag}-direct.json`), 'utf8'));
        const b = JSON.parse(readFileSync(join(dir, `${tag}-saved.json`), 'utf8'));
        assert.deepEqual(b.traits[0].nullModel, a.traits[0].nullModel);
        assert.deepEqual(b.traits[0].top, a.traits[0].top);
        assert.deepEqual(b.covariance, { model: 'kinship', source: 'null-model', file: model });
      });
    }
  }
});

describe("gwas --null refuses a model that is not the scan's", () => {
  const model = join(dir, 'base.lmmnull');
  const fitted = (async () => {
    await ready;
    ok(['null', 'fit', '--bfile', prefix, '--pheno', pheno, '--pheno-col', 't2', '--covar', covar, '--kinship', kin, '--out', model]);
  })();
  const scan = (...extra: string[]): string[] => [
    'gwas',
    '--bfile',
    prefix,
    '--pheno',
    pheno,
    '--pheno-col',
    't2',
    '--covar',
    covar,
    '--null',
    model,
    ...extra,
  ];
  const variant = (name: string, cell: (i: number, c: number) => string | number): string => {
    const p = join(data, name);
    writeSampleTable(p, sim.samples, ['t1', 't2'], cell);
    return p;
  };
  const cases: [string, () => string[], RegExp][] = [
    [
      'other samples (one more sample has the trait missing)',
      () => [
        'gwas',
        '--bfile',
        prefix,
        '--pheno',
        variant('p-missing.tsv', (i, c) => (c === 1 && (i % 10 === 0 || i === 25) ? 'NA' : sim.phenotype[i]! * (c + 1))),
        '--pheno-col',
        't2',
        '--covar',
        covar,
        '--null',
        model,
      ],
      /other samples than the scan's: at position 23 expected '\S+ \S+' \(null model\), found '\S+ \S+' \(scan\); the null model has 135 samples, the scan 134/,
    ],
    [
      'other trait values',
      () => [
        'gwas',
        '--bfile',
        prefix,
        '--pheno',
        variant('p-values.tsv', (i, c) => (c === 1 && i % 10 === 0 ? 'NA' : sim.phenotype[i]! * (c + 1) + (i === 7 ? 1 : 0))),
        '--pheno-col',
        't2',
        '--covar',
        covar,
        '--null',
        model,
      ],
      /trait 't2' of sample \S+ \S+: the null model was fitted to .*, this run has/,
    ],
    [
      'other covariates',
      () => ['gwas', '--bfile', prefix, '--pheno', pheno, '--pheno-col', 't2', '--null', model],
      /the null model's covariates are intercept, age; this run's are intercept/,
    ],
    [
      'another trait',
      () => ['gwas', '--bfile', prefix, '--pheno', pheno, '--pheno-col', 't1', '--covar', covar, '--null', model],
      /holds the null model of trait 't2'; select that trait alone with --pheno-col t2/,
    ],
    ['another test', () => scan('--test', 'exact'), /was fitted for --test fixed .* found --test exact/],
    ['a kinship beside it', () => scan('--kinship', kin), /the null covariance comes from the null model, found --kinship/],
    [
      'a missing file',
      () => ['gwas', '--bfile', prefix, '--pheno', pheno, '--pheno-col', 't2', '--covar', covar, '--null', join(data, 'absent.lmmnull')],
      /absent\.lmmnull: cannot read the null model/,
    ],
    [
      'a file that is not a null model',
      () => ['gwas', '--bfile', prefix, '--pheno', pheno, '--pheno-col', 't2', '--covar', covar, '--null', pheno],
      /not a null model|LMMKNULL/,
    ],
    [
      'a truncated file',
      () => {
        const p = join(data, 'truncated.lmmnull');
        const b = readFileSync(model);
        writeFileSync(p, b.subarray(0, b.length - 100));
        return ['gwas', '--bfile', prefix, '--pheno', pheno, '--pheno-col', 't2', '--covar', covar, '--null', p];
      },
      /truncated/,
    ],
    [
      'a tampered file',
      () => {
        const p = join(data, 'tampered.lmmnull');
        const b = Buffer.from(readFileSync(model));
        b.writeUInt8(b.readUInt8(b.length - 5000) ^ 1, b.length - 5000);
        writeFileSync(p, b);
        return ['gwas', '--bfile', prefix, '--pheno', pheno, '--pheno-col', 't2', '--covar', covar, '--null', p];
      },
      /the CRC-32 does not match .*: the file is damaged or was altered/,
    ],
    [
      'another format version',
      () => {
        const p = join(data, 'version.lmmnull');
        const b = Buffer.from(readFileSync(model));
        b.writeUInt32LE(99, 8);
        writeFileSync(p, b);
        return ['gwas', '--bfile', prefix, '--pheno', pheno, '--pheno-col', 't2', '--covar', covar, '--null', p];
      },
      /version/,
    ],
  ];
  for (const [name, args, message] of cases) {
    test(name, async () => {
      await fitted;
      const out = scratchDir('lmmkit-null-out-');
      assertRejected(lmmkit(...args(), '--out', join(out, 'res')), message, out);
    });
  }

  test('null fit needs a kinship and one trait', async () => {
    await ready;
    const out = scratchDir('lmmkit-null-out-');
    assertRejected(lmmkit('null', 'fit', '--bfile', prefix, '--pheno', pheno, '--pheno-col', 't2', '--out', join(out, 'm')), /needs a kinship/, out);
    assertRejected(
      lmmkit('null', 'fit', '--bfile', prefix, '--pheno', pheno, '--kinship', kin, '--out', join(out, 'm')),
      /fits one trait, found 2 .*choose one with --pheno-col/,
      out,
    );
  });
});
