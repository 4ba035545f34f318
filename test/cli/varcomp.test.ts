// lmmkit varcomp fit: MM4LMM's examples from files, GWAS mode, bad input.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parseFrame } from '../../src/data/frame.js';
import { MM_DATA, readCsv, readRef } from '../mm4lmm-data.js';
import { SHARED, sharedTest } from '../support.js';

const BIN = new URL('../../../bin/lmmkit.js', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'lmmkit-varcomp-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const D = SHARED + MM_DATA;

function lmmkit(...args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
}
const ex1 = [
  '--data',
  `${D}vc_data.csv`,
  '--y',
  'Trait',
  '--cofactor',
  'Trial',
  '--kinship',
  `Flint=${D}vc_kinship_flint.csv`,
  '--incidence',
  'Flint=CodeFlint',
  '--kinship',
  `Dent=${D}vc_kinship_dent.csv`,
  '--incidence',
  'Dent=CodeDent',
];

sharedTest('varcomp fit: MM4LMM example 1 from files (REML and ML)', [`${MM_DATA}vc_data.csv`, 'refs/mm4lmm/ex1_vc_reml.json'], () => {
  for (const [method, ref] of [
    ['reml', 'ex1_vc_reml'],
    ['ml', 'ex1_vc_ml'],
  ] as const) {
    const out = join(dir, `ex1-${method}.json`);
    const r = lmmkit('varcomp', 'fit', ...ex1, '--method', method, '--out', out);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /variance components:/);
    const fit = JSON.parse(readFileSync(out, 'utf8'));
    const want = readRef(ref).result.models[0]!;
    assert.deepEqual(fit.model.sigma2Names, want.Sigma2Names);
    // A table cofactor gives R's data-frame name TrialTrial2 (MM4LMM's matrix cofactor says V1Trial2).
    assert.deepEqual(fit.model.betaNames, ['(Intercept)', 'TrialTrial2']);
    fit.model.sigma2.forEach((v: number, k: number) => {
      assert.ok(Math.abs(v - want.Sigma2[k]!) < 1e-9 * want.Sigma2[k]!);
    });
    fit.model.beta.forEach((v: number, k: number) => {
      assert.ok(Math.abs(v - want.Beta[k]!) < 1e-9 * Math.abs(want.Beta[k]!));
    });
    assert.ok(Math.abs(fit.model.logLik - want.LogLik) < 1e-8);
    assert.equal(fit.path, method === 'reml' ? 'henderson' : 'dense');
  }
});

sharedTest('varcomp fit --markers: example 2 in GWAS mode, one TSV row per marker', [`${MM_DATA}vc_markers.csv`], () => {
  const m = readCsv(`${MM_DATA}vc_markers.csv`);
  const markers = join(dir, 'markers.tsv');
  writeFileSync(markers, `${[m.header.slice(1).join('\t'), ...m.rows.map((r) => r.slice(1).join('\t'))].join('\n')}\n`);
  const out = join(dir, 'ex2.tsv');
  const r = lmmkit('varcomp', 'fit', ...ex1, '--markers', markers, '--markers-as', 'factor', '--formula', '~ Trial+Xeffect+Xeffect:Trial', '--out', out);
  assert.equal(r.status, 0, r.stderr);
  const lines = readFileSync(out, 'utf8')
    .trimEnd()
    .split('\n')
    .map((l) => l.split('\t'));
  assert.deepEqual(lines[0], ['marker', 'nbit', 'converged', 'loglik', 'sigma2_Flint', 'sigma2_Dent', 'sigma2_Error', 'beta_names', 'beta', 'se']);
  assert.equal(lines.length, 21);
  const ref = readRef('ex2_vc_markers_interaction_reml').result;
  lines.slice(1).forEach((row, i) => {
    assert.equal(row[0], `M${i + 1}`);
    assert.equal(Number(row[1]), ref.models[i]!.NbIt);
    assert.ok(Math.abs(Number(row[3]) - ref.models[i]!.LogLik) < 1e-6);
    assert.deepEqual(row[7]!.split(';'), ref.models[i]!.BetaNames);
    row[8]!
      .split(';')
      .map(Number)
      .forEach((b, k) => {
        // 6 significant digits.
        assert.ok(Math.abs(b - ref.models[i]!.Beta[k]!) < 5e-6 * Math.max(1, Math.abs(ref.models[i]!.Beta[k]!)));
      });
  });
  const json = JSON.parse(readFileSync(join(dir, 'ex2.json'), 'utf8'));
  assert.equal(json.models, 20);
  assert.ok(json.nullModel.sigma2.length === 3);
});

sharedTest('varcomp fit: bad input gives exit 2, one line naming the culprit, and no output', [`${MM_DATA}vc_data.csv`], () => {
  const noY = join(dir, 'missing-y.csv');
  const text = readFileSync(`${D}vc_data.csv`, 'utf8').split('\n');
  text[3] = text[3]!.replace(/,[^,]*$/, ',NA');
  writeFileSync(noY, text.join('\n'));
  const cases: [string, string[], RegExp][] = [
    ['unknown response column', ['--data', `${D}vc_data.csv`, '--y', 'Yield'], /--y: .*vc_data.csv has no column 'Yield'/],
    ['missing response', ['--data', noY, '--y', 'Trait'], /missing on 1 row \(line 4\)/],
    ['unknown cofactor', [...ex1.slice(0, 4), '--cofactor', 'Trail'], /--cofactor: .* has no column 'Trail'/],
    ['incidence for no component', [...ex1, '--incidence', 'Other=CodeDent'], /'Other' names no --kinship component/],
    [
      'kinship by order of the wrong size',
      ['--data', `${D}vc_data.csv`, '--y', 'Trait', '--kinship', `Flint=${D}vc_kinship_flint.csv`, '--match-by-order'],
      /122 x 122 but .* has 432 rows: give --incidence Flint=COLUMN/,
    ],
    [
      'kinship without incidence, --ids not holding its ids',
      ['--data', `${D}vc_data.csv`, '--y', 'Trait', '--kinship', `Flint=${D}vc_kinship_flint.csv`, '--ids', 'CodeDent'],
      /vc_data\.csv:2: id 'PSMD\d+' of column 'CodeDent' is not an id of the kinship .*vc_kinship_flint\.csv/,
    ],
    [
      'codes not in the kinship',
      ['--data', `${D}vc_data.csv`, '--y', 'Trait', '--kinship', `Flint=${D}vc_kinship_flint.csv`, '--incidence', 'Flint=CodeDent'],
      /code 'PSMD\d+' of column 'CodeDent' is not an id of the kinship/,
    ],
    ['init of the wrong length', [...ex1, '--init', '1,1'], /The length of Init and the number of variance are not compatible/],
    [
      'init with a zero variance',
      [...ex1, '--init', '0,1,1'],
      /^lmmkit: --init: expected starting variances > 0 .*found 0 for component 'Flint' \(value 1\)$/m,
    ],
    ['bad number', [...ex1, '--crit-var', 'x'], /--crit-var: expected a number, found 'x'/],
    ['missing data file', ['--data', join(dir, 'nope.csv'), '--y', 'Trait'], /nope.csv/],
    ['formula with an unknown column', [...ex1, '--formula', '~ Trial + Site'], /Site/],
  ];
  for (const [what, args, re] of cases) {
    const out = join(dir, `bad-${what.replace(/\W+/g, '-')}.json`);
    const r = lmmkit('varcomp', 'fit', ...args, '--out', out);
    assert.equal(r.status, 2, `${what}: exit ${r.status}\n${r.stderr}`);
    assert.match(r.stderr, re, what);
    assert.equal(r.stderr.trim().split('\n').length, 1, `${what}: one line`);
    assert.ok(!existsSync(out), `${what}: nothing written`);
  }
  assert.ok(readdirSync(dir).every((f) => !f.endsWith('.tmp')));
});

test('parseFrame: numeric and text columns, and its errors name file and line', () => {
  const f = parseFrame('y,site,code\n1.5,A,10\nNA,B,11\n', 'd.csv');
  assert.deepEqual(f.names, ['y', 'site', 'code']);
  assert.ok(f.columns[0] instanceof Float64Array && Number.isNaN(f.columns[0][1]!));
  assert.deepEqual(f.columns[1], ['A', 'B']);
  assert.ok(f.columns[2] instanceof Float64Array);
  assert.deepEqual(parseFrame('code\n10\n11\n', 'm.csv', { allText: true }).columns[0], ['10', '11']);
  assert.throws(() => parseFrame('y,y\n1,2\n', 'd.csv'), /d.csv:1.*column name 'y' appears twice/);
  assert.throws(() => parseFrame('y,x\n1,2\n3\n', 'd.csv'), /d.csv:3.*expected 2 fields as in the header, found 1/);
  assert.throws(() => parseFrame('y,x\n', 'd.csv'), /d.csv.*at least one row after the header/);
  assert.throws(() => parseFrame('y,\n1,2\n', 'd.csv'), /d.csv:1.*empty field/);
});

sharedTest('varcomp fit --blup --vcov: MMBlup and MMVcov in the JSON', ['refs/mm4lmm/blup_ex1_reml.json', 'refs/mm4lmm/vcov_ex1_AI.json'], () => {
  const out = join(dir, 'ex1-blup.json');
  const r = lmmkit('varcomp', 'fit', ...ex1, '--blup', '--vcov', 'ai', '--out', out);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /standard errors of the variances \(average information\): Flint/);
  const fit = JSON.parse(readFileSync(out, 'utf8'));
  const blup = readRef<{ result: Record<string, { names: string[] | null; values: number[] }> }>('blup_ex1_reml').result;
  for (const comp of ['Flint', 'Dent', 'Error']) {
    if (blup[comp]!.names !== null && blup[comp]!.names!.length > 0) assert.deepEqual(fit.blup[comp].names, blup[comp]!.names);
    fit.blup[comp].values.forEach((v: number, i: number) => {
      assert.ok(Math.abs(v - blup[comp]!.values[i]!) < 1e-6, `${comp} ${i}`);
    });
  }
  const ai = readRef<{ result: { vcov: number[][] } }>('vcov_ex1_AI').result;
  fit.vcov.vcov.forEach((row: number[], a: number) => {
    row.forEach((v, b) => {
      assert.ok(Math.abs(v - ai.vcov[a]![b]!) < 1e-6);
    });
  });
  const bad = lmmkit('varcomp', 'fit', ...ex1, '--vcov', 'observed', '--out', join(dir, 'x.json'));
  assert.equal(bad.status, 2, 'a usage error is bad input: exit 2');
  assert.match(bad.stderr, /observed/);
});

sharedTest(
  'varcomp fit --anova: Type III in the JSON (ex1) and per marker in GWAS mode (qtl example)',
  ['refs/mm4lmm/anova_ex1_typeIII.json', 'refs/mm4lmm/anova_typeIII.json'],
  () => {
    const out = join(dir, 'ex1-anova.json');
    const r = lmmkit('varcomp', 'fit', ...ex1, '--anova', 'III', '--out', out);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /Wald \(Type III\):/);
    const fit = JSON.parse(readFileSync(out, 'utf8'));
    const ref1 = readRef<{ result: { tables: { data: number[][] }[] } }>('anova_ex1_typeIII').result.tables[0]!;
    assert.deepEqual(
      fit.anova.rows.map((row: { name: string }) => row.name),
      ['(Intercept)', 'Trial'],
    );
    fit.anova.rows.forEach((row: { statistic: number; df: number; log10PValue: number }, i: number) => {
      assert.ok(Math.abs(row.statistic - ref1.data[i]![0]!) < 1e-6 * ref1.data[i]![0]!);
      assert.equal(row.df, ref1.data[i]![2]);
    });
    // MM4LMM's p-value of the intercept is 0; ours is finite on the log scale.
    assert.ok(fit.anova.rows[0].log10PValue < -300 && Number.isFinite(fit.anova.rows[0].log10PValue));

    // GWAS mode on the QTL example: y, ten markers, the kinship in data order.
    const p = readCsv(`${MM_DATA}qtl_phenotype.csv`);
    const g = readCsv(`${MM_DATA}qtl_genotype.csv`);
    const data = join(dir, 'qtl-data.tsv');
    writeFileSync(data, `${['id\ty', ...p.rows.map((row) => `${row[0]}\t${row[1]}`)].join('\n')}\n`);
    const markers = join(dir, 'qtl-markers.tsv');
    writeFileSync(markers, `${[g.header.slice(1).join('\t'), ...g.rows.map((row) => row.slice(1).join('\t'))].join('\n')}\n`);
    const tsv = join(dir, 'qtl.tsv');
    const q = lmmkit(
      'varcomp',
      'fit',
      '--data',
      data,
      '--y',
      'y',
      '--kinship',
      `Additive=${D}qtl_kinship.csv`,
      '--markers',
      markers,
      '--anova',
      'III',
      '--out',
      tsv,
    );
    assert.equal(q.status, 0, q.stderr);
    const rows = readFileSync(join(dir, 'qtl.anova.tsv'), 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => l.split('\t'));
    assert.deepEqual(rows[0], ['marker', 'test', 'term', 'statistic', 'df', 'ddf', 'pvalue', 'neg_log10_p']);
    const ref = readRef<{ result: { tables: { rownames: string[]; data: number[][] }[] } }>('anova_typeIII').result.tables;
    assert.equal(rows.length, 1 + 2 * ref.length);
    ref.forEach((t, m) => {
      t.data.forEach((want, k) => {
        const row = rows[1 + 2 * m + k]!;
        assert.equal(row[0], `SNP${m + 1}`);
        assert.equal(row[2], t.rownames[k]);
        // 6 significant digits; neg_log10_p positive.
        assert.ok(Math.abs(Number(row[3]) - want[0]!) < 5e-6 * want[0]!, `SNP${m + 1} ${t.rownames[k]}: ${row[3]} vs ${want[0]}`);
        assert.ok(Math.abs(Number(row[6]) - want[1]!) < 5e-6 * want[1]!);
        assert.ok(Math.abs(Number(row[7]) + Math.log10(want[1]!)) <= 5e-5 + 1e-12, `neg_log10_p ${row[7]} for p ${want[1]}`);
      });
    });
  },
);

test('varcomp fit --bfile --ids: one row per variant streamed from a PLINK fileset; bad sample ids', async () => {
  const { simulateGwas, writeBed, openBed, kinship, writeMatrixTsv, Matrix } = await import('../../src/node.js');
  const { mmEstStream } = await import('../../src/varcomp/mmest-stream.js');
  const sim = simulateGwas({ samples: 120, variants: 40, causal: 2, h2Causal: 0.3, seed: 9 });
  const prefix = join(dir, 'sim');
  await writeBed(prefix, sim.dosages, sim.samples, sim.variants);
  const bed = await openBed(prefix);
  const { k } = await kinship(bed, { method: 'standardized' });
  for (let i = 0; i < 120; i++) k.data[i + i * 120]! += 1e-3;
  await writeMatrixTsv(join(dir, 'sim.kin'), k, sim.samples.iid);
  // Rows in reverse sample order: --ids does the matching.
  const order = sim.samples.iid.map((_, i) => 119 - i);
  writeFileSync(join(dir, 'sim-data.tsv'), `${['iid\ty', ...order.map((i) => `${sim.samples.iid[i]}\t${sim.phenotype[i]}`)].join('\n')}\n`);
  const out = join(dir, 'sim-gwas.tsv');
  const r = lmmkit(
    'varcomp',
    'fit',
    '--data',
    join(dir, 'sim-data.tsv'),
    '--y',
    'y',
    '--kinship',
    `Additive=${join(dir, 'sim.kin')}`,
    '--incidence',
    'Additive=iid',
    '--bfile',
    prefix,
    '--ids',
    'iid',
    '--out',
    out,
  );
  assert.equal(r.status, 0, r.stderr);
  const rows = readFileSync(out, 'utf8')
    .trimEnd()
    .split('\n')
    .map((l) => l.split('\t'));
  assert.deepEqual(rows[0]!.slice(0, 10), ['chrom', 'pos', 'id', 'effect_allele', 'other_allele', 'eaf', 'n', 'nbit', 'converged', 'loglik']);
  // The same models through the API, rows of the data order.
  const eye = Matrix.identity(120);
  const z = new Matrix(120, 120);
  order.forEach((s, row) => {
    z.data[row + s * 120] = 1;
  });
  const want: number[] = [];
  const ids: string[] = [];
  for await (const b of mmEstStream({
    source: bed,
    samples: order,
    y: order.map((i) => sim.phenotype[i]!),
    varList: [
      { name: 'Additive', r: k },
      { name: 'Error', r: eye },
    ],
    zList: [z, undefined],
    minMaf: 0.01,
    maxMissing: 0.05,
  })) {
    want.push(...b.models.map((m) => m.logLik));
    ids.push(...b.variants.id);
  }
  await bed.close();
  assert.deepEqual(
    rows.slice(1).map((row) => row[2]),
    ids,
  );
  rows.slice(1).forEach((row, i) => {
    // loglik to 6 decimal places (it is differenced, so its absolute precision is what counts).
    assert.ok(Math.abs(Number(row[9]) - want[i]!) <= 5e-7 + 1e-12 * Math.abs(want[i]!), `loglik ${row[9]} vs ${want[i]}`);
    assert.match(row[9]!, /^-?\d+(\.\d{1,6})?$/);
  });
  writeFileSync(join(dir, 'bad-data.tsv'), 'iid\ty\nnobody\t1.0\nnobody2\t2.0\n');
  const bad = lmmkit('varcomp', 'fit', '--data', join(dir, 'bad-data.tsv'), '--y', 'y', '--bfile', prefix, '--ids', 'iid', '--out', join(dir, 'bad.tsv'));
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /bad-data.tsv:2: sample 'nobody' of column 'iid' is not in .*sim.fam/);
  assert.ok(!existsSync(join(dir, 'bad.tsv')));
  const noIds = lmmkit('varcomp', 'fit', '--data', join(dir, 'sim-data.tsv'), '--y', 'y', '--bfile', prefix, '--out', join(dir, 'bad2.tsv'));
  assert.equal(noIds.status, 2);
  assert.match(noIds.stderr, /--bfile needs --ids COLUMN/);
});

sharedTest(
  'varcomp fit without --incidence matches the kinship by id: shuffled --data rows give the same fit; no id column is refused',
  [`${MM_DATA}qtl_phenotype.csv`, `${MM_DATA}qtl_kinship.csv`],
  () => {
    const p = readCsv(`${MM_DATA}qtl_phenotype.csv`);
    // A fixed shuffle (i -> 97 i + 13 mod 259 is a permutation: 97 and 259 are coprime).
    const n = p.rows.length;
    const shuffled = Array.from({ length: n }, (_, i) => p.rows[(97 * i + 13) % n]!);
    const write = (name: string, rows: string[][], withId: boolean): string => {
      const path = join(dir, name);
      const lines = rows.map((row) => (withId ? `${row[0]}\t${row[1]}` : row[1]!));
      writeFileSync(path, `${[withId ? 'id\ty' : 'y', ...lines].join('\n')}\n`);
      return path;
    };
    const fit = (data: string, out: string, ...more: string[]) => {
      const r = lmmkit('varcomp', 'fit', '--data', data, '--y', 'y', '--kinship', `Additive=${D}qtl_kinship.csv`, '--out', join(dir, out), ...more);
      assert.equal(r.status, 0, r.stderr);
      return { stdout: r.stdout, model: JSON.parse(readFileSync(join(dir, out), 'utf8')).model as { sigma2: number[]; logLik: number } };
    };
    const inOrder = fit(write('qtl-in-order.tsv', p.rows, true), 'qtl-in-order.json');
    const reordered = fit(write('qtl-shuffled.tsv', shuffled, true), 'qtl-shuffled.json');
    assert.match(reordered.stdout, /component Additive: the rows of .*qtl_kinship\.csv matched to .*qtl-shuffled\.tsv by its column 'id'/);
    inOrder.model.sigma2.forEach((v, k) => {
      assert.ok(Math.abs(reordered.model.sigma2[k]! - v) < 1e-8 * v, `sigma2[${k}]: ${reordered.model.sigma2[k]} shuffled vs ${v}`);
    });
    assert.ok(Math.abs(reordered.model.logLik - inOrder.model.logLik) < 1e-8);

    // No id column: refused, unless the user says the rows are in order.
    const noIds = write('qtl-no-ids.tsv', shuffled, false);
    const out = join(dir, 'qtl-no-ids.json');
    const r = lmmkit('varcomp', 'fit', '--data', noIds, '--y', 'y', '--kinship', `Additive=${D}qtl_kinship.csv`, '--out', out);
    assert.equal(r.status, 2, r.stderr);
    assert.match(
      r.stderr,
      /^lmmkit: --kinship Additive: expected a column of .*qtl-no-ids\.tsv holding the ids of .*qtl_kinship\.csv .*--match-by-order[^\n]*\n$/,
    );
    assert.equal(existsSync(out), false);
    fit(write('qtl-no-ids-in-order.tsv', p.rows, false), 'qtl-by-order.json', '--match-by-order');
  },
);
