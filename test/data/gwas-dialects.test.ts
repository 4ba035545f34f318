// The number formats of the result dialects: p-values down to 1e-300 as
// numbers and below from log10 p, the -log10 p column, and allele
// frequencies to the resolution of one allele among 2n.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dialect, formatFreq, formatNegLog10, formatP, formatSig, type GwasOutRow } from '../../src/data/gwas-dialects.js';

/** log10 of the value a p-value text stands for, read from its mantissa and exponent (no underflow). */
function log10OfText(s: string): number {
  const m = /^([0-9.]+)(?:e([-+]?[0-9]+))?$/.exec(s);
  assert.ok(m !== null, `'${s}' is a number`);
  return Math.log10(Number(m[1])) + Number(m[2] ?? 0);
}

test('formatP: the number itself down to 1e-300, from log10 p below, 6 significant digits', () => {
  assert.equal(formatP(1, 0), '1');
  assert.equal(formatP(0.05, Math.log10(0.05)), '0.05');
  assert.equal(formatP(1 / 3, Math.log10(1 / 3)), '0.333333');
  // The boundary itself is printed as the number.
  assert.equal(formatP(1e-300, -300), '1e-300');
  // Just below, from the log: a mantissa that rounds up to 10 carries into the exponent.
  assert.equal(formatP(0, -300 - 1e-9), '1e-300');
  assert.equal(formatP(9.9999999e-301, Math.log10(9.9999999e-301)), '1e-300');
  // Normal doubles below 1e-300, denormals (precision lost in the double, kept in the log) and underflow to 0.
  for (const log10p of [-300.5, -307.9, -308.3, -310.25, -323.4, -412.37, -1234.5678]) {
    const p = 10 ** log10p;
    const s = formatP(p, log10p);
    assert.match(s, /^[1-9](\.[0-9]{1,5})?e-[0-9]+$/, `p = 10^${log10p}: '${s}'`);
    assert.ok(Math.abs(log10OfText(s) - log10p) <= 5e-6 / Math.LN10 + 1e-12, `p = 10^${log10p}: '${s}' is ${log10OfText(s)}`);
  }
  // A denormal p whose double has lost digits: the text comes from the log, not the double.
  const log10p = Math.log10(1.23456) - 320;
  const denormal = 10 ** log10p;
  assert.equal(formatP(denormal, log10p), '1.23456e-320');
  assert.notEqual(formatSig(denormal), '1.23456e-320', 'the double itself no longer holds 6 digits');
  assert.equal(formatP(0, -Infinity), '0');
  // Missing: NA in lmmkit's, regenie's and plink2's files, #NA in GWAS-SSF's.
  assert.equal(formatP(Number.NaN, Number.NaN), 'NA');
  assert.equal(formatP(Number.NaN, Number.NaN, '#NA'), '#NA');
  // A p-value with no log (NaN) is written as itself.
  assert.equal(formatP(0.5, Number.NaN), '0.5');
});

test('formatNegLog10: positive, 0 for p = 1, never -0; 6 digits or fixed decimals', () => {
  assert.equal(formatNegLog10(0), '0');
  assert.equal(formatNegLog10(-0), '0');
  assert.equal(formatNegLog10(-1e-7, 'NA', 4), '0');
  assert.equal(formatNegLog10(-412.3712345), '412.371');
  assert.equal(formatNegLog10(-412.3712345, 'NA', 4), '412.3712');
  assert.equal(formatNegLog10(-Infinity, 'NA', 4), 'inf');
  assert.equal(formatNegLog10(Number.NaN), 'NA');
  assert.equal(formatNegLog10(Number.NaN, '#NA'), '#NA');
});

test('formatFreq: as many significant digits as 2n has, enough to recover every allele count', () => {
  for (const n of [1, 4, 5, 49, 50, 274, 499, 500, 4999, 5000, 49999, 500000]) {
    const alleles = 2 * n;
    const digits = Math.min(6, String(alleles).length);
    const ks = alleles <= 2000 ? Array.from({ length: alleles + 1 }, (_, k) => k) : [0, 1, 2, 3, 17, 99, 1001, alleles - 1, alleles];
    for (const k of ks) {
      const s = formatFreq(k / alleles, n);
      assert.equal(Math.round(Number(s) * alleles), k, `n ${n}: allele count ${k} from '${s}'`);
      assert.ok(s.replace(/^0\.0*|e.*$|\./g, '').length <= digits, `n ${n}: '${s}' has more than ${digits} significant digits`);
    }
  }
  assert.equal(formatFreq(64 / 548, 274), '0.117');
  assert.equal(formatFreq(1 / 548, 274), '0.00182');
  assert.equal(formatFreq(Number.NaN, 274), 'NA');
  assert.equal(formatFreq(Number.NaN, 0, '#NA'), '#NA');
  // No samples: the frequency as it is (NaN in practice), 6 digits.
  assert.equal(formatFreq(0.123456789, 0), '0.123457');
});

test('lmmkit table with digits 17: every number reads back as the same double; default 6 digits does not', () => {
  const row: GwasOutRow = {
    chrom: '22',
    pos: 1000,
    id: 'rs1',
    a1: 'A',
    a2: 'G',
    af: 0.123456789012345,
    n: 481,
    samples: 481,
    beta: -0.31415926535897931,
    se: 0.0271828182845904,
    stat: 133.5,
    pvalue: 7.0710678118654e-31,
    log10p: Math.log10(7.0710678118654e-31),
  };
  const full = dialect('lmmkit', { layout: 'single', digits: 17 }).row(row).split('\t');
  assert.equal(Number(full[5]), row.af);
  assert.equal(Number(full[7]), row.beta);
  assert.equal(Number(full[8]), row.se);
  assert.equal(Number(full[9]), row.pvalue);
  assert.equal(Number(full[10]), -row.log10p);
  const short = dialect('lmmkit', { layout: 'single' }).row(row).split('\t');
  assert.equal(short[7], '-0.314159');
  assert.notEqual(Number(short[7]), row.beta);
});
