// MM4LMM's fixed-effect design: formula parsing and expansion, model.matrix,
// R's pivoted qr() (dqrdc2) and MMEst's names/attr/Factors, checked against
// every MMEst reference of ../shared/refs/mm4lmm and against R itself
// (model.matrix + qr() through Rscript) on constructed cases.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { LmmkitError, ShapeError } from '../../src/errors.js';
import { Matrix } from '../../src/linalg/matrix.js';
import { rQr } from '../../src/linalg/qr-dqrdc2.js';
import type { CofactorTable } from '../../src/varcomp/design-frame.js';
import { buildDesign, buildNullDesign, designFor, markerDesign, planDesign, type DesignInput, type FixedDesign } from '../../src/varcomp/design.js';
import { parseFormula } from '../../src/varcomp/formula.js';
import { Rng } from '../../src/sim/rng.js';
import { SHARED, requireTool, sharedTest } from '../support.js';

// ---------------------------------------------------------------------------
// Helpers

/** Minimal CSV reader for the reference data (double-quoted strings, no embedded newlines). */
function readCsv(path: string): { header: string[]; rows: string[][] } {
  const lines = readFileSync(path, 'utf8')
    .split(/\r?\n/)
    .filter((l) => l.length > 0);
  const split = (line: string): string[] => {
    const out: string[] = [];
    let i = 0;
    while (i <= line.length) {
      if (line[i] === '"') {
        let s = '';
        i++;
        for (;;) {
          if (line[i] === '"' && line[i + 1] === '"') {
            s += '"';
            i += 2;
          } else if (line[i] === '"') {
            i++;
            break;
          } else {
            s += line[i];
            i++;
          }
        }
        out.push(s);
        i++; // comma
      } else {
        const end = line.indexOf(',', i);
        const stop = end < 0 ? line.length : end;
        out.push(line.slice(i, stop));
        i = stop + 1;
      }
    }
    return out;
  };
  const [head, ...rest] = lines;
  return { header: split(head!), rows: rest.map(split) };
}

function column(csv: { header: string[]; rows: string[][] }, name: string): string[] {
  const j = csv.header.indexOf(name);
  assert.ok(j >= 0, `column ${name}`);
  return csv.rows.map((r) => r[j]!);
}

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof LmmkitError) return e.code;
    throw e;
  }
  return 'no error';
}

function table(cols: Record<string, Float64Array | string[]>, levels?: Record<string, string[]>): CofactorTable {
  const names = Object.keys(cols);
  return { names, columns: names.map((k) => cols[k]!), levels: names.map((k) => levels?.[k]) };
}

/** MM4LMM writes no BetaNames when a single column is kept; lmmkit writes ['']. */
function betaNames(d: FixedDesign): string[] {
  return d.names.length === 1 && d.names[0] === '' ? [] : d.names;
}

// ---------------------------------------------------------------------------
// Reference data (../shared/data/mm4lmm) and the inputs of each R call in cases.md

const DATA = 'data/mm4lmm/';

interface RefData {
  n432: number;
  trial: string[];
  dataHybrid: CofactorTable;
  markers: string[][];
  geno: Float64Array[];
  n259: number;
}

let refCache: RefData | undefined;
function refData(): RefData {
  if (refCache) return refCache;
  const vc = readCsv(`${SHARED + DATA}vc_data.csv`);
  const lv = readCsv(`${SHARED + DATA}vc_data_factor_levels.csv`);
  const levelsOf = (c: string): string[] =>
    lv.rows
      .filter((r) => r[0] === c)
      .sort((a, b) => Number(a[1]) - Number(b[1]))
      .map((r) => r[2]!);
  const factorCols = ['Trial', 'CodeHybrid', 'CodeDent', 'CodeFlint'];
  const dataHybrid: CofactorTable = {
    names: vc.header,
    columns: vc.header.map((h) => (factorCols.includes(h) ? column(vc, h) : Float64Array.from(column(vc, h), Number))),
    levels: vc.header.map((h) => (factorCols.includes(h) ? levelsOf(h) : undefined)),
  };
  const mk = readCsv(`${SHARED + DATA}vc_markers.csv`);
  const markers = mk.header.slice(1).map((h) => column(mk, h));
  const gt = readCsv(`${SHARED + DATA}qtl_genotype.csv`);
  const geno = gt.header.slice(1).map((h) => Float64Array.from(column(gt, h), Number));
  refCache = { n432: vc.rows.length, trial: column(vc, 'Trial'), dataHybrid, markers, geno, n259: gt.rows.length };
  return refCache;
}

/** The design inputs of every MMEst model of a reference case, from the R call in cases.md. */
function inputsOf(caseName: string): DesignInput[] | undefined {
  const d = refData();
  const trialMatrix = [d.trial]; // matrix(DataHybrid$Trial): a one-column character matrix
  if (/^ex1_vc_(reml|ml)(_henderson_(true|false))?$/.test(caseName)) return [{ n: d.n432, cofactor: trialMatrix }];
  if (/^ex1_vc_(reml|ml)_formula$/.test(caseName)) return [{ n: d.n432, cofactor: d.dataHybrid, formula: '~ Trial' }];
  if (caseName.startsWith('ex2_vc_markers_interaction')) {
    return d.markers.map((m) => ({ n: d.n432, cofactor: d.dataHybrid, marker: m, formula: '~ Trial+Xeffect+Xeffect:Trial' }));
  }
  if (/^ex3_qtl_gwas_|^anova_fit_qtl_/.test(caseName)) return d.geno.map((g) => ({ n: d.n259, marker: Matrix.column(g) }));
  if (caseName.startsWith('ex3_qtl_nullmodel')) return [{ n: d.n259 }];
  if (caseName === 'anova_ex1_KR_fit') {
    const m1 = Matrix.column(d.markers[0]!.map((v) => (v === '11' ? 1 : 0)));
    return [{ n: d.n432, cofactor: trialMatrix, marker: m1, markerNames: ['M1'] }];
  }
  return undefined;
}

interface RefModel {
  BetaNames: string[];
  Beta: number[];
  attr: number[];
  Factors: string[];
}

sharedTest(
  'every MMEst reference: BetaNames, attr and Factors as MM4LMM 3.0.3',
  ['refs/mm4lmm/', `${DATA}vc_data.csv`, `${DATA}vc_markers.csv`, `${DATA}qtl_genotype.csv`],
  () => {
    const dir = `${SHARED}refs/mm4lmm/`;
    let cases = 0;
    let models = 0;
    for (const file of readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .sort()) {
      const ref = JSON.parse(readFileSync(dir + file, 'utf8')) as { case: string; result?: { models?: RefModel[] } };
      const refModels = ref.result?.models;
      if (!refModels) continue;
      const inputs = inputsOf(ref.case);
      assert.ok(inputs, `${file}: no design inputs mapped for case ${ref.case}`);
      assert.equal(inputs.length, refModels.length, `${file}: number of models`);
      inputs.forEach((input, k) => {
        const got = buildDesign(input);
        const want = refModels[k]!;
        const where = `${file} model ${k + 1}`;
        assert.deepEqual(betaNames(got), want.BetaNames, `${where}: BetaNames`);
        assert.deepEqual([...got.attr], want.attr, `${where}: attr`);
        assert.deepEqual(got.factors, want.Factors, `${where}: Factors`);
        assert.equal(got.rank, want.Beta.length, `${where}: number of Betas`);
        assert.equal(got.x.cols, got.rank);
        models++;
      });
      cases++;
    }
    // ex1 x6, ex2 x4, ex3 x4, anova_fit_qtl x2, anova_ex1_KR_fit
    assert.equal(cases, 17);
    assert.equal(models, 6 + 4 * 20 + 2 * 10 + 2 + 2 * 10 + 1);
  },
);

sharedTest(
  'reference designs: the kept columns, the dropped ones and the null model MMEst fits for Init',
  [`${DATA}vc_data.csv`, `${DATA}vc_markers.csv`, `${DATA}qtl_genotype.csv`],
  () => {
    const d = refData();
    // Cofactor = NULL: the all-ones V1 is aliased with (Intercept) and dropped; the single column is unnamed.
    const nullModel = buildDesign({ n: d.n259 });
    assert.deepEqual(nullModel.names, ['']);
    assert.deepEqual(nullModel.columnNames, ['(Intercept)']);
    assert.deepEqual(nullModel.dropped, ['V1']);
    assert.deepEqual([...nullModel.x.data], new Array(d.n259).fill(1));
    const gwas = buildDesign({ n: d.n259, marker: Matrix.column(d.geno[0]!) });
    assert.deepEqual(gwas.dropped, ['V1']);
    assert.deepEqual([...gwas.pivot], [0, 2, 1]);
    assert.deepEqual([...gwas.x.col(1)], [...d.geno[0]!]);
    assert.equal(gwas.cofactorNcol, 1);
    // ex1: Trial2 indicator.
    const ex1 = buildDesign({ n: d.n432, cofactor: [d.trial] });
    assert.deepEqual(
      [...ex1.x.col(1)],
      d.trial.map((t) => (t === 'Trial2' ? 1 : 0)),
    );
    assert.equal(buildDesign({ n: d.n432, cofactor: d.dataHybrid, formula: '~ Trial' }).cofactorNcol, 5);
    // ex2: the interaction column is the product, and MMEst's Init model is '~Trial'.
    const input: DesignInput = { n: d.n432, cofactor: d.dataHybrid, marker: d.markers[3]!, formula: '~ Trial+Xeffect+Xeffect:Trial' };
    const ex2 = buildDesign(input);
    for (let i = 0; i < d.n432; i++) {
      const t2 = d.trial[i] === 'Trial2' ? 1 : 0;
      const m11 = d.markers[3]![i] === '11' ? 1 : 0;
      assert.deepEqual([ex2.x.get(i, 0), ex2.x.get(i, 1), ex2.x.get(i, 2), ex2.x.get(i, 3)], [1, t2, m11, t2 * m11]);
    }
    const init = buildNullDesign(input);
    assert.deepEqual(init.names, ['(Intercept)', 'TrialTrial2']);
    assert.deepEqual(init.factors, ['Trial', 'Xeffect', 'Xeffect:Trial']);
    // anova_ex1_KR_fit: list X with a named column; its Init model is ~V1.
    const kr = buildNullDesign({ n: d.n432, cofactor: [d.trial], marker: Matrix.column(new Float64Array(d.n432)), markerNames: ['M1'] });
    assert.deepEqual(kr.names, ['(Intercept)', 'V1Trial2']);
  },
);

sharedTest(
  'GWAS plan: designFor equals buildDesign for every ex2 and ex3 marker, and `source` rebuilds x',
  [`${DATA}vc_data.csv`, `${DATA}vc_markers.csv`, `${DATA}qtl_genotype.csv`],
  () => {
    const d = refData();
    const formula = '~ Trial+Xeffect+Xeffect:Trial';
    const plan = planDesign({ n: d.n432, cofactor: d.dataHybrid, formula, markerKind: 'character' });
    assert.deepEqual(plan.baseNames, ['(Intercept)', 'TrialTrial2']);
    assert.equal(plan.usesMarker, true);
    assert.deepEqual(plan.nullDesign.names, ['(Intercept)', 'TrialTrial2']);
    for (const m of d.markers) {
      const viaPlan = designFor(plan, m);
      assert.deepEqual(viaPlan, buildDesign({ n: d.n432, cofactor: d.dataHybrid, marker: m, formula }));
      const md = markerDesign(plan, m);
      assert.deepEqual(md.names, ['Xeffect11', 'TrialTrial2:Xeffect11']);
      assert.deepEqual([...md.assign], [2, 3]);
      viaPlan.source.forEach((s, k) => {
        const want = s >= 0 ? plan.base.col(s) : md.x.col(-s - 1);
        assert.deepEqual(viaPlan.x.col(k), want);
      });
    }
    const qtl = planDesign({ n: d.n259, markerKind: 'numeric' });
    assert.deepEqual(qtl.baseNames, ['(Intercept)', 'V1']);
    for (const g of d.geno) {
      const viaPlan = designFor(qtl, Matrix.column(g));
      assert.deepEqual(viaPlan, buildDesign({ n: d.n259, marker: Matrix.column(g) }));
      assert.deepEqual([...viaPlan.source], [0, -1]);
    }
  },
);

// ---------------------------------------------------------------------------
// Formula parsing and expansion

test('parseFormula: R term expansion in keep.order order, variable order, intercept and codes', () => {
  const f = parseFormula('~ Trial+Xeffect+Xeffect:Trial');
  assert.deepEqual(f.terms, [['Trial'], ['Xeffect'], ['Trial', 'Xeffect']]);
  assert.deepEqual(f.labels, ['Trial', 'Xeffect', 'Trial:Xeffect']);
  assert.deepEqual(f.codes, [[1], [1], [1, 1]]);
  assert.equal(f.intercept, true);
  assert.equal(f.rhs, 'Trial + Xeffect + Xeffect:Trial');
  assert.deepEqual(parseFormula('~ (a+b)*(c+d)').labels, ['a', 'b', 'c', 'd', 'a:c', 'a:d', 'b:c', 'b:d']);
  assert.deepEqual(parseFormula('~ a*b*c').labels, ['a', 'b', 'a:b', 'c', 'a:c', 'b:c', 'a:b:c']);
  assert.deepEqual(parseFormula('~ (a+b+c)^2').labels, ['a', 'a:b', 'a:c', 'b', 'b:c', 'c']);
  assert.deepEqual(parseFormula('~ a/b').codes, [[1], [2, 1]]); // a:b with a dummy-coded: the margin b is absent
  assert.deepEqual(parseFormula('~ a:b + a').codes, [[2, 2], [1]]);
  assert.deepEqual(parseFormula('~ a*(b+c) - a:b').labels, ['a', 'b', 'c', 'a:c']);
  assert.equal(parseFormula('~ a + b - 1').intercept, false);
  assert.equal(parseFormula('~ 0 + a').intercept, false);
  assert.equal(parseFormula('~ a + 1 - 1 + 1').intercept, true);
  assert.deepEqual(parseFormula('~ -a:b').terms, []); // (-a):b
  assert.deepEqual(parseFormula('y ~ a').labels, ['a']); // the left-hand side is ignored, as MMEst ignores it
  assert.deepEqual(parseFormula('~ `my var` + x').labels, ['`my var`', 'x']);
  // MMEst's rebuilt formulas contain inner '~'.
  assert.deepEqual(parseFormula('~Trial+~Xeffect+~Xeffect:Trial').labels, ['Trial', 'Xeffect', 'Trial:Xeffect']);
  assert.equal(parseFormula('~ a*(b + c) - 1 + x/y + z^2 + -w + ~q + (a)').rhs, 'a * (b + c) - 1 + x/y + z^2 + -w + ~q + (a)');
});

test('parseFormula: bad formulas are BAD_FORMULA errors that say where', () => {
  const bad: [string, RegExp][] = [
    ['', /empty formula/],
    ['a + b', /at the end: expected '~'/],
    ['~', /at the end: expected a term/],
    ['~ a +', /at the end: expected a term/],
    ['~ a + * b', /column 7: expected a term .* found '\*'/],
    ['~ log(x)', /column 3: function calls/],
    ['~ a + 2', /column 7: only 0 and 1/],
    ['~ (a + b', /at the end: expected '\)' to close the '\(' at column 3/],
    ['~ a + b)', /column 8: unexpected '\)'/],
    ['~ a %o% b', /column 5: the operator '%o%' is not supported/],
    ['~ a^1', /column 4: invalid power/],
    ['~ a^b', /invalid power/],
    ['~ .', /'\.' cannot be used/],
    ['~ a + TRUE', /'TRUE' cannot be used/],
    ['~ a # b', /column 5: unexpected character '#'/],
    ['~ `a', /unterminated backquoted name/],
    ['~ (a ~ b)', /two-sided '~'/],
  ];
  for (const [text, re] of bad) {
    assert.throws(
      () => parseFormula(text),
      (e: unknown) => {
        assert.ok(e instanceof LmmkitError, text);
        assert.equal(e.code, 'BAD_FORMULA', text);
        assert.match(e.message, re, text);
        return true;
      },
    );
  }
});

// ---------------------------------------------------------------------------
// Designs on constructed data

const N = 12;
const x = Float64Array.from({ length: N }, (_, i) => ((i * 7) % 5) + 0.5);
const y = Float64Array.from({ length: N }, (_, i) => ((i * 3) % 4) - 1.25);
const a = Array.from({ length: N }, (_, i) => ['A', 'B', 'C'][i % 3]!);
const b = Array.from({ length: N }, (_, i) => ['u', 'v'][Math.floor(i / 3) % 2]!);

test('QR drop: duplicate columns, a column equal to a sum of others, constant and zero columns', () => {
  const x3 = x.map((v, i) => v + y[i]!);
  const cof = table({ x, y, x2: x.slice(), x3, k: new Float64Array(N).fill(3), z: new Float64Array(N), a, b });
  const dup = buildDesign({ n: N, cofactor: cof, formula: '~ x + x2' });
  assert.deepEqual(dup.names, ['(Intercept)', 'x']);
  assert.deepEqual(dup.dropped, ['x2']);
  assert.deepEqual([...dup.attr], [0, 1]);
  const sum = buildDesign({ n: N, cofactor: cof, formula: '~ x + y + x3' });
  assert.deepEqual(sum.names, ['(Intercept)', 'x', 'y']);
  assert.deepEqual(sum.dropped, ['x3']);
  // The later column of a dependent set goes, whichever it is.
  const order = buildDesign({ n: N, cofactor: cof, formula: '~ x3 + x + y' });
  assert.deepEqual(order.names, ['(Intercept)', 'x3', 'x']);
  assert.deepEqual([...order.attr], [0, 1, 2]);
  assert.deepEqual(order.dropped, ['y']);
  const constant = buildDesign({ n: N, cofactor: cof, formula: '~ x + k' });
  assert.deepEqual(constant.dropped, ['k']);
  const zero = buildDesign({ n: N, cofactor: cof, formula: '~ z + x' });
  assert.deepEqual(zero.names, ['(Intercept)', 'x']);
  assert.deepEqual(zero.dropped, ['z']);
  assert.deepEqual([...zero.attr], [0, 2]);
  // a:b without margins: full dummy coding, one column aliased with the intercept.
  const inter = buildDesign({ n: N, cofactor: cof, formula: '~ a:b' });
  assert.equal(inter.rank, 6);
  assert.deepEqual(inter.dropped, ['aC:bv']);
  assert.deepEqual([...inter.attr], [0, 1, 1, 1, 1, 1]);
});

test('QR drop: a constant marker loses its column, and the Cofactor=NULL intercept case', () => {
  const constant = buildDesign({ n: N, marker: Matrix.column(new Float64Array(N).fill(2)) });
  assert.deepEqual(constant.names, ['']);
  assert.deepEqual(constant.columnNames, ['(Intercept)']);
  assert.deepEqual(constant.dropped, ['V1', 'Xeffect']);
  assert.deepEqual([...constant.attr], [0]);
  assert.deepEqual(constant.factors, ['V1', 'Xeffect']);
  const nullModel = buildDesign({ n: N });
  assert.deepEqual(nullModel.names, ['']);
  assert.deepEqual(nullModel.factors, ['V1']);
  assert.deepEqual(nullModel.dropped, ['V1']);
  // A numeric cofactor matrix: columns V1, V2; a column of ones is V1 and is aliased.
  const cofm = new Matrix(N, 2);
  cofm.data.fill(1, 0, N);
  cofm.data.set(x, N);
  const m = buildDesign({ n: N, cofactor: cofm, marker: Matrix.column(y) });
  assert.deepEqual(m.names, ['(Intercept)', 'V2', 'Xeffect']);
  assert.deepEqual([...m.attr], [0, 2, 3]);
  assert.deepEqual(m.factors, ['V1', 'V2', 'Xeffect']);
});

test('QR: the relative tolerance 1e-7 of R qr() on the column norm', () => {
  const rng = new Rng(7);
  const u = rng.normals(N);
  const noise = rng.normals(N);
  const near = (eps: number): Float64Array => u.map((v, i) => v + eps * noise[i]!);
  for (const [eps, kept] of [
    [1e-10, false],
    [1e-9, false],
    [1e-5, true],
    [1e-4, true],
  ] as const) {
    const d = buildDesign({ n: N, cofactor: table({ u, w: near(eps) }), formula: '~ u + w - 1' });
    assert.equal(d.rank, kept ? 2 : 1, `eps ${eps}`);
  }
  // More columns than rows: the rank is at most N.
  const wide = new Matrix(3, 5, rng.normals(15));
  const q = rQr(wide);
  assert.equal(q.rank, 3);
  assert.deepEqual([...q.pivot], [0, 1, 2, 3, 4]);
});

test('contrasts: treatment coding, dummies where the margin is absent, no-intercept models, interaction names', () => {
  const cof = table({ x, y, a, b });
  const full = buildDesign({ n: N, cofactor: cof, formula: '~ a*b' });
  assert.deepEqual(full.names, ['(Intercept)', 'aB', 'aC', 'bv', 'aB:bv', 'aC:bv']);
  const noInt = buildDesign({ n: N, cofactor: cof, formula: '~ x + a + b - 1' });
  assert.deepEqual(noInt.names, ['x', 'aA', 'aB', 'aC', 'bv']);
  assert.deepEqual([...noInt.attr], [1, 2, 2, 2, 3]);
  const nested = buildDesign({ n: N, cofactor: cof, formula: '~ a/x' });
  assert.deepEqual(nested.names, ['(Intercept)', 'aB', 'aC', 'aA:x', 'aB:x', 'aC:x']);
  const order = buildDesign({ n: N, cofactor: cof, formula: '~ b:a + a' });
  assert.deepEqual(order.columnNames.slice(0, 3), ['(Intercept)', 'bu:aA', 'bv:aA']);
  // Character marker: Xeffect<level>; the interaction is labelled in variable order.
  const g = Array.from({ length: N }, (_, i) => (i % 4 < 2 ? '10' : '11'));
  const inter = buildDesign({ n: N, cofactor: cof, marker: g, formula: '~ b + Xeffect + Xeffect:b' });
  assert.deepEqual(inter.names, ['(Intercept)', 'bv', 'Xeffect11', 'bv:Xeffect11']);
  assert.deepEqual(inter.factors, ['b', 'Xeffect', 'Xeffect:b']);
  // Given levels: the first is the reference; an unused level gives a zero column that the QR drops.
  const lv = buildDesign({ n: N, cofactor: table({ a }, { a: ['C', 'A', 'B', 'D'] }), formula: '~ a' });
  assert.deepEqual(lv.names, ['(Intercept)', 'aA', 'aB']);
  assert.deepEqual(lv.dropped, ['aD']);
  // Non-syntactic names are backquoted, as R names the columns.
  const bq = buildDesign({ n: N, cofactor: table({ 'my a': a }), formula: '~ `my a`' });
  assert.deepEqual(bq.names, ['(Intercept)', '`my a`B', '`my a`C']);
});

test("MMEst's formula text round trip: Factors, '- 1' lost by the Init model, deletions confined to their piece", () => {
  const cof = table({ x, a, b, c: y });
  const g = Array.from({ length: N }, (_, i) => (i % 4 < 2 ? '10' : '11'));
  const noInt = buildDesign({ n: N, cofactor: cof, marker: g, formula: '~ a + Xeffect - 1' });
  assert.deepEqual(noInt.factors, ['a', 'Xeffect - 1']);
  assert.deepEqual(noInt.names, ['aA', 'aB', 'aC', 'Xeffect11']);
  const init = buildNullDesign({ n: N, cofactor: cof, marker: g, formula: '~ a + Xeffect - 1' });
  assert.deepEqual(init.names, ['(Intercept)', 'aB', 'aC']);
  // '~ a*b + c - a:b' is rebuilt as '~a * b+~c - a:b': the deletion only applies to 'c', so a:b stays.
  const del = buildDesign({ n: N, cofactor: cof, formula: '~ a*b + c - a:b' });
  assert.deepEqual(del.factors, ['a * b', 'c - a:b']);
  assert.deepEqual(del.columnNames, ['(Intercept)', 'aB', 'aC', 'bv', 'aB:bv', 'aC:bv', 'c']);
  // A formula that ignores the marker: every marker model is the null model.
  const plan = planDesign({ n: N, cofactor: cof, formula: '~ a', markerKind: 'numeric' });
  assert.equal(plan.usesMarker, false);
  assert.deepEqual(designFor(plan, Matrix.column(x)).names, ['(Intercept)', 'aB', 'aC']);
  // A matrix-X marker is bound as Xeffect and hides a cofactor of that name (MMEst's Mat$Xeffect <- X[, i]).
  const shadow = buildDesign({ n: N, cofactor: table({ Xeffect: y }), marker: Matrix.column(x), formula: '~ Xeffect' });
  assert.deepEqual([...shadow.x.col(1)], [...x]);
  // '~ Xeffect * (a + b)' splits into 'Xeffect * (a' and 'b)': MMEst's Init formula '~b)' does not parse, in R either.
  assert.throws(
    () => buildDesign({ n: N, cofactor: cof, marker: Matrix.column(y), formula: '~ Xeffect * (a + b)' }),
    /MMEst rebuilds the cofactor-only formula .* does not parse/,
  );
  assert.deepEqual(buildDesign({ n: N, cofactor: cof, formula: '~ x * (a + b)' }).factors, ['x * (a', 'b)']);
  // A named character column (list X): the factor keeps the name.
  const named = buildDesign({ n: N, cofactor: cof, marker: g, markerNames: ['G'], formula: '~ a + G' });
  assert.deepEqual(named.names, ['(Intercept)', 'aB', 'aC', 'G11']);
  // List X (markerNames): the default formula names the columns.
  const list = buildDesign({ n: N, cofactor: cof, marker: new Matrix(N, 2, Float64Array.from([...x, ...y.map((v) => v * v)])), markerNames: ['M1', 'M2'] });
  assert.deepEqual(list.factors, ['x', 'a', 'b', 'c', 'M1', 'M2']);
  assert.deepEqual(list.names, ['(Intercept)', 'x', 'aB', 'aC', 'bv', 'c', 'M2']);
  assert.deepEqual(list.dropped, ['M1']);
});

// ---------------------------------------------------------------------------
// Errors

test('errors: dimensions (MMEst wording and sizes), unknown columns, bad values', () => {
  const shape = (f: () => unknown, re: RegExp): void => {
    assert.throws(f, (e: unknown) => e instanceof ShapeError && re.test(e.message));
  };
  shape(() => buildDesign({ n: 5, cofactor: new Matrix(4, 1) }), /^Incompatible dimension between Y and Cofactor: Y has 5 values but Cofactor has 4 rows$/);
  shape(
    () => buildDesign({ n: 5, cofactor: [['a', 'b']] }),
    /Incompatible dimension between Y and Cofactor: Y has 5 values but Cofactor \(column 1\) has 2 rows/,
  );
  shape(
    () => buildDesign({ n: 5, cofactor: table({ t: new Float64Array(3) }) }),
    /Incompatible dimension between Y and Cofactor: .* \(column 't'\) has 3 rows/,
  );
  shape(() => buildDesign({ n: 5, marker: Matrix.column([1, 2, 3]) }), /^Incompatible dimension between Y and X: Y has 5 values but X has 3 rows$/);
  shape(() => buildDesign({ n: 5, marker: ['1', '2'] }), /Incompatible dimension between Y and X: Y has 5 values but X has 2 rows/);
  shape(() => buildNullDesign({ n: 5, marker: ['1', '2'] }), /Incompatible dimension between Y and X/);
  shape(() => buildDesign({ n: 0 }), /positive integer/);
  shape(() => buildDesign({ n: N, marker: new Matrix(N, 2), markerNames: ['M1'] }), /markerNames has 1 names for a marker of 2 column/);
  shape(() => buildDesign({ n: 2, cofactor: { names: ['a'], columns: [] } }), /1 names for 0 columns/);

  assert.throws(
    () => buildDesign({ n: N, cofactor: table({ x, a }), formula: '~ x + Trial' }),
    (e: unknown) => {
      assert.ok(e instanceof LmmkitError);
      assert.equal(e.code, 'UNKNOWN_COLUMN');
      assert.match(e.message, /names 'Trial', which is not a column .* available: 'x', 'a'$/);
      return true;
    },
  );
  assert.throws(() => buildDesign({ n: N, marker: Matrix.column(x), formula: '~ Xeffect + M1' }), /available: 'V1', 'Xeffect'/);
  assert.equal(
    codeOf(() => buildDesign({ n: N, formula: '~ Xeffect' })),
    'UNKNOWN_COLUMN',
  );

  const withNaN = x.slice();
  withNaN[3] = NaN;
  const inf = x.slice();
  inf[0] = Infinity;
  assert.equal(
    codeOf(() => buildDesign({ n: N, cofactor: table({ x: withNaN }), formula: '~ x' })),
    'NON_FINITE',
  );
  assert.throws(() => buildDesign({ n: N, cofactor: table({ x: inf }), formula: '~ x' }), /cofactor 'x' has a non-finite value \(Infinity\) in row 1/);
  assert.throws(() => buildDesign({ n: N, marker: Matrix.column(withNaN) }), /marker 'Xeffect' has a non-finite value \(NaN\) in row 4/);
  // As in R, only the columns the formula uses are checked.
  assert.equal(buildDesign({ n: N, cofactor: table({ x, bad: withNaN }), formula: '~ x' }).rank, 2);

  const empty = [...a];
  empty[2] = '';
  const na = [...a];
  na[5] = 'NA';
  assert.throws(() => buildDesign({ n: N, cofactor: table({ a: empty }), formula: '~ a' }), /cofactor 'a' has an empty or missing level \(''\) in row 3/);
  assert.equal(
    codeOf(() => buildDesign({ n: N, cofactor: [na] })),
    'BAD_FACTOR',
  );
  assert.throws(
    () => buildDesign({ n: N, cofactor: table({ a: new Array<string>(N).fill('A') }), formula: '~ a' }),
    /single level \('A'\); contrasts can be applied only to factors with 2 or more levels/,
  );
  assert.throws(() => buildDesign({ n: N, marker: new Array<string>(N).fill('11') }), /marker 'Xeffect' has a single level/);
  assert.throws(() => buildDesign({ n: N, cofactor: table({ a }, { a: ['A', 'B'] }), formula: '~ a' }), /'C' is not one of its levels \(A, B\)/);
  assert.equal(
    codeOf(() => buildDesign({ n: N, cofactor: table({ a }, { a: ['A', 'B', 'C', 'A'] }), formula: '~ a' })),
    'BAD_FACTOR',
  );
  assert.equal(
    codeOf(() => buildDesign({ n: N, cofactor: table({ a }, { a: ['A', 'B', 'C', ''] }), formula: '~ a' })),
    'BAD_FACTOR',
  );

  assert.equal(
    codeOf(() => buildDesign({ n: N, cofactor: table({ x }), formula: '~ 0' })),
    'EMPTY_DESIGN',
  );
  assert.equal(
    codeOf(() => buildDesign({ n: N, cofactor: new Matrix(N, 0) })),
    'EMPTY_DESIGN',
  );
  assert.equal(buildDesign({ n: N, cofactor: new Matrix(N, 0), marker: Matrix.column(x), formula: '~ Xeffect' }).rank, 2);
  assert.equal(
    codeOf(() => buildDesign({ n: N, cofactor: table({ z: new Float64Array(N) }), formula: '~ z - 1' })),
    'EMPTY_DESIGN',
  );
  assert.equal(
    codeOf(() => buildDesign({ n: N, cofactor: table({ x }), formula: '~ x +' })),
    'BAD_FORMULA',
  );
  assert.equal(
    codeOf(() => buildDesign({ n: N, cofactor: { names: ['x', 'x'], columns: [x, y] } })),
    'BAD_INPUT',
  );

  assert.equal(
    codeOf(() => buildDesign({ n: N, cofactor: table({ M1: x }), marker: Matrix.column(y), markerNames: ['M1'] })),
    'BAD_MARKER',
  );
  assert.equal(
    codeOf(() => buildDesign({ n: N, markerNames: ['M1'] })),
    'BAD_MARKER',
  );
  const numericPlan = planDesign({ n: N, markerKind: 'numeric' });
  const charPlan = planDesign({ n: N, markerKind: 'character' });
  assert.equal(
    codeOf(() => designFor(numericPlan, a)),
    'BAD_MARKER',
  );
  assert.equal(
    codeOf(() => designFor(charPlan, Matrix.column(x))),
    'BAD_MARKER',
  );
  assert.throws(() => designFor(numericPlan, new Matrix(N, 2)), /plan is for markers of 1 column/);
});

// ---------------------------------------------------------------------------
// Against R: model.matrix + qr() through Rscript

function runR(t: TestContext, script: string, dir: string): string[] | undefined {
  if (!requireTool(t, 'Rscript')) return undefined;
  const file = join(dir, 'script.R');
  writeFileSync(file, script);
  // C collation: R's factor() then sorts levels as lmmkit does.
  const r = spawnSync('Rscript', ['--vanilla', file], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' }, cwd: dir });
  assert.equal(r.status, 0, `Rscript failed: ${r.stderr}`);
  return r.stdout.split('\n');
}

function withTmp<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'lmmkit-design-'));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const R_FORMULAS = [
  '~ a',
  '~ x',
  '~ a + x',
  '~ a*b',
  '~ a:b',
  '~ a + a:b',
  '~ a:b + a',
  '~ x + a:b - 1',
  '~ a + b - 1',
  '~ 0 + a',
  '~ x:a',
  '~ a:x',
  '~ a/x',
  '~ (a+b+x)^2',
  '~ x + x2',
  '~ x + y + x3',
  '~ x3 + x + y',
  '~ k + x',
  '~ a + b + c + a:c',
  '~ c:b:a',
  '~ a*b*x',
  '~ a %in% b',
  '~ x - 1',
  '~ x + k - 1',
  '~ b:a + a',
  '~ a + x + a:x',
  '~ a*(b+x) - a:b',
  '~ y:x + x',
  '~ -1 + a:b',
  '~ 1',
  '~ (a)',
  '~ a + b + a:b - a',
  '~ a*b + c - a:b',
  '~ c + b:c - 1',
  '~ x:y:k',
  '~ (a + b + c)^3',
  '~ a + x - 1 + 1',
  '~ b*c',
  '~ w',
  '~ a + w + a:w',
  '~ c - 1 + c:x',
  '~ a * (b + x)',
  '~ x + a * (b + y)',
  '~ (a + b):x',
  '~ h',
  '~ a + h:x',
  '~ Xeffect',
  '~ a + Xeffect + Xeffect:a',
  '~ Xeffect:a',
  '~ Xeffect*b - 1',
  '~ x + Xeffect',
  '~ Xeffect + Xeffect:x',
];

function rData(n: number): { tbl: CofactorTable; m: Float64Array; g: string[]; csv: string } {
  const rng = new Rng(11);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng.uniform() * xs.length)]!;
  // Values exactly representable in short decimals, so R reads the same doubles.
  const num = (): number => Math.round(rng.normal() * 64) / 8;
  const cols: Record<string, Float64Array | string[]> = {
    a: Array.from({ length: n }, (_, i) => ['A', 'B', 'C'][i % 3]!),
    b: Array.from({ length: n }, () => pick(['u', 'v', 'w'])),
    c: Array.from({ length: n }, () => pick(['c1', 'c2', 'c10', 'C3'])),
    w: Array.from({ length: n }, () => pick(['2', '10', '1'])),
    x: Float64Array.from({ length: n }, num),
    y: Float64Array.from({ length: n }, num),
    k: new Float64Array(n).fill(2.5),
    h: new Array<string>(n).fill('H'),
  };
  cols.x2 = (cols.x as Float64Array).slice();
  cols.x3 = (cols.x as Float64Array).map((v, i) => v + (cols.y as Float64Array)[i]!);
  const m = Float64Array.from({ length: n }, () => pick([0, 1, 2]));
  const g = Array.from({ length: n }, () => pick(['10', '11', '00']));
  const names = Object.keys(cols);
  const lines = [[...names, 'm', 'g'].join(',')];
  for (let i = 0; i < n; i++) lines.push([...names.map((k) => String(cols[k]![i])), String(m[i]), g[i]].join(','));
  return { tbl: table(cols), m, g, csv: `${lines.join('\n')}\n` };
}

test("against R: model.matrix(terms(f, keep.order = TRUE)) + qr() after MMEst's formula round trip", (t) => {
  const n = 30;
  const { tbl, m, g, csv } = rData(n);
  const cases: { formula: string; marker: 'none' | 'm' | 'g' }[] = [];
  for (const f of R_FORMULAS) {
    if (f.includes('Xeffect')) cases.push({ formula: f, marker: 'm' }, { formula: f, marker: 'g' });
    else cases.push({ formula: f, marker: 'none' });
  }
  const lines = withTmp((dir) => {
    writeFileSync(join(dir, 'd.csv'), csv);
    writeFileSync(join(dir, 'cases.tsv'), `${cases.map((c) => `${c.formula}\t${c.marker}`).join('\n')}\n`);
    return runR(
      t,
      `
d <- read.csv('d.csv', colClasses = c(a='character', b='character', c='character', w='character', h='character', g='character'))
cs <- read.delim('cases.tsv', header = FALSE, colClasses = 'character', quote = '')
for (i in seq_len(nrow(cs))) {
  dd <- d
  if (cs[i, 2] == 'm') dd$Xeffect <- d$m
  if (cs[i, 2] == 'g') dd$Xeffect <- d$g
  f0 <- as.formula(cs[i, 1])
  pieces <- strsplit(as.character(f0), ' \\\\+ '); pieces <- pieces[[length(pieces)]]
  comp <- as.formula(paste0('~', pieces, collapse = '+'))
  cat('CASE', i, '\\n')
  res <- tryCatch({
    Tmp <- model.matrix(terms(comp, keep.order = TRUE), dd)
    QR <- qr(Tmp)
    keep <- QR$pivot[seq_len(QR$rank)]
    cat('FACTORS', pieces, sep = '\\t'); cat('\\n')
    cat('NAMES', colnames(Tmp)[keep], sep = '\\t'); cat('\\n')
    cat('DROPPED', colnames(Tmp)[QR$pivot[-seq_len(QR$rank)]], sep = '\\t'); cat('\\n')
    cat('ASSIGN', attr(Tmp, 'assign')[keep], '\\n')
    cat('X', sprintf('%.17g', Tmp[, keep]), '\\n')
  }, error = function(e) cat('ERROR', conditionMessage(e), '\\n'))
}
`,
      dir,
    );
  });
  if (!lines) return;
  const blocks = new Map<number, Map<string, string>>();
  let cur: Map<string, string> | undefined;
  for (const line of lines) {
    const mCase = /^CASE (\d+)/.exec(line);
    if (mCase) {
      cur = new Map();
      blocks.set(Number(mCase[1]) - 1, cur);
      continue;
    }
    const key = line.split(/[\t ]/, 1)[0]!;
    if (cur && key) cur.set(key, line.slice(key.length + 1).trim());
  }
  let errors = 0;
  cases.forEach((c, i) => {
    const r = blocks.get(i);
    assert.ok(r, `no R output for ${c.formula}`);
    const input: DesignInput = { n, cofactor: tbl, formula: c.formula };
    if (c.marker === 'm') input.marker = Matrix.column(m);
    if (c.marker === 'g') input.marker = g;
    const where = `${c.formula} (marker ${c.marker})`;
    if (r.has('ERROR')) {
      errors++;

      assert.throws(() => buildDesign(input), LmmkitError, `${where}: R failed with ${r.get('ERROR')}`);
      return;
    }
    const got = buildDesign(input);
    const tabs = (k: string): string[] => (r.get(k) ?? '').split('\t').filter((s) => s.length > 0);
    assert.deepEqual(got.factors, tabs('FACTORS'), `${where}: Factors`);
    assert.deepEqual(got.columnNames, tabs('NAMES'), `${where}: names`);
    assert.deepEqual(got.names, got.rank === 1 ? [''] : got.columnNames);
    assert.deepEqual(got.dropped, tabs('DROPPED'), `${where}: dropped`);

    assert.deepEqual([...got.attr], r.get('ASSIGN')!.split(' ').map(Number), `${where}: assign`);
    const xr = r.get('X')!.split(' ').map(Number);
    assert.deepEqual([...got.x.data], xr, `${where}: kept design`);
  });
  // R rejects the one-level factor h ("contrasts can be applied only to factors with 2 or more levels").
  assert.equal(errors, 2);
});

test('against R: terms() labels, intercept, variables, contrast codes and deparse', (t) => {
  const formulas = [
    ...R_FORMULAS,
    '~ a:b:c + a:b',
    '~ a:b + c:b + a',
    '~ a - (b + a)',
    '~ a:b %in% c*d',
    '~ (a + b) %in% c',
    '~ a -1 + b:a',
    '~ c:b - c:b + b:c + a',
    '~ a + - b',
    '~ 1 + 0',
    '~ a:-b',
    '~ (a+b)^2.0',
    '~ 1:a',
    '~ a + a:a',
    '~ b + a:b + a:b:c',
  ];
  const lines = withTmp((dir) => {
    writeFileSync(join(dir, 'f.txt'), `${formulas.join('\n')}\n`);
    return runR(
      t,
      `
fs <- readLines('f.txt')
for (i in seq_along(fs)) {
  f <- as.formula(fs[i]); tt <- terms(f, keep.order = TRUE)
  cat('CASE', i, '\\n')
  cat('RHS', as.character(f)[2], '\\n')
  cat('LABELS', attr(tt, 'term.labels'), sep = '\\t'); cat('\\n')
  cat('INTERCEPT', attr(tt, 'intercept'), '\\n')
  cat('VARS', sapply(as.list(attr(tt, 'variables'))[-1], deparse), sep = '\\t'); cat('\\n')
  fa <- attr(tt, 'factors')
  codes <- if (length(fa)) sapply(seq_len(ncol(fa)), function(j) paste(fa[fa[, j] > 0, j], collapse = ',')) else character(0)
  cat('CODES', codes, sep = '\\t'); cat('\\n')
}
`,
      dir,
    );
  });
  if (!lines) return;
  let i = -1;
  const rows: Map<string, string>[] = [];
  for (const line of lines) {
    if (line.startsWith('CASE')) {
      i++;
      rows[i] = new Map();
      continue;
    }
    const key = line.split(/[\t ]/, 1)[0]!;
    if (key) rows[i]!.set(key, line.slice(key.length + 1).replace(/ $/, ''));
  }
  formulas.forEach((text, k) => {
    const r = rows[k]!;
    const f = parseFormula(text);
    const tabs = (key: string): string[] => (r.get(key) ?? '').split('\t').filter((s) => s.length > 0);
    assert.equal(f.rhs, r.get('RHS'), `${text}: deparse`);
    assert.deepEqual(f.labels, tabs('LABELS'), `${text}: labels`);
    assert.equal(f.intercept ? '1' : '0', r.get('INTERCEPT'), `${text}: intercept`);
    assert.deepEqual(f.variables, tabs('VARS'), `${text}: variables`);
    assert.deepEqual(
      f.codes.map((c) => c.join(',')),
      tabs('CODES'),
      `${text}: codes`,
    );
  });
});

test('against R: rank and pivot of qr() on near-dependent, zero and wide matrices', (t) => {
  const rng = new Rng(3);
  const mats: Matrix[] = [];
  for (const [n, p] of [
    [20, 6],
    [8, 8],
    [5, 9],
    [50, 12],
  ] as const) {
    for (const eps of [0, 1e-12, 1e-9, 1e-6, 1e-4]) {
      const a = new Matrix(n, p, rng.normals(n * p));
      // Column 2 near column 0; column 4 near col1 - 2 col3; column 5 zero when eps = 0.
      for (let i = 0; i < n; i++) {
        a.data[i + 2 * n] = a.data[i]! * 3 + eps * a.data[i + 2 * n]!;
        if (p > 4) a.data[i + 4 * n] = a.data[i + n]! - 2 * a.data[i + 3 * n]! + eps * a.data[i + 4 * n]!;
        if (p > 5) a.data[i + 5 * n] = eps * a.data[i + 5 * n]!;
      }
      mats.push(a);
    }
  }
  const lines = withTmp((dir) => {
    const header = `${mats.map((mm) => `${mm.rows} ${mm.cols}`).join('\n')}\n`;
    writeFileSync(join(dir, 'dims.txt'), header);
    const total = mats.reduce((s, mm) => s + mm.data.length, 0);
    const all = new Float64Array(total);
    let off = 0;
    for (const mm of mats) {
      all.set(mm.data, off);
      off += mm.data.length;
    }
    writeFileSync(join(dir, 'mats.bin'), Buffer.from(all.buffer));
    return runR(
      t,
      `
dims <- read.table('dims.txt')
con <- file('mats.bin', 'rb')
for (i in seq_len(nrow(dims))) {
  a <- matrix(readBin(con, 'double', dims[i, 1] * dims[i, 2], endian = 'little'), dims[i, 1], dims[i, 2])
  q <- qr(a)
  cat(q$rank, '|', q$pivot, '\\n')
}
close(con)
`,
      dir,
    );
  });
  if (!lines) return;
  mats.forEach((mm, k) => {
    const [rank, pivot] = lines[k]!.split('|');
    const got = rQr(mm);
    assert.equal(got.rank, Number(rank), `matrix ${k}: rank`);
    assert.deepEqual(
      [...got.pivot],
      pivot!
        .trim()
        .split(' ')
        .map((v) => Number(v) - 1),
      `matrix ${k}: pivot`,
    );
  });
});
