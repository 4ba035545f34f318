/**
 * Tests for src/stats: distribution functions far into the tails.
 *
 * Expected values are read from test/fixtures/stats/*.json, written by
 * test/fixtures/stats/generate.py (mpmath, mp.dps = 60, rounded to the nearest
 * double; scipy.json from scipy): its docstring gives the reference
 * definitions and how to regenerate them, manifest.json the versions used.
 * The tests only read the JSON; they never run Python.
 */

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import * as stats from '../../src/stats/index.js';

/** |actual - expected| <= rtol |expected|, with a message giving both values. */
function assertRel(actual: number, expected: number, rtol: number, what: string): void {
  if (actual === expected) return;
  const err = Math.abs(actual - expected) / Math.abs(expected);
  assert.ok(err <= rtol, `${what}: got ${actual}, expected ${expected} (relative error ${err.toExponential(2)} > ${rtol})`);
}

/** For log-scale values: |actual - expected| <= tol * max(1, |expected|). */
function assertLog(actual: number, expected: number, tol: number, what: string): void {
  if (actual === expected) return;
  const err = Math.abs(actual - expected) / Math.max(1, Math.abs(expected));
  assert.ok(err <= tol, `${what}: got ${actual}, expected ${expected} (scaled error ${err.toExponential(2)} > ${tol})`);
}

/** Values below this are not compared linearly: the double underflows (their logs are compared). */
const NORMAL_RANGE = 1e-300;

/**
 * Relative tolerance for the incomplete-beta based F and t functions: 1e-12
 * up to 1e4 degrees of freedom; with a degree-of-freedom parameter of 1e5 or
 * more the continued fraction's argument is close to 1 and its rounding
 * costs ~1e-16 * df (measured worst 4e-11 at df = 1e6).
 */
function betaTol(...df: number[]): number {
  return Math.max(...df) >= 1e5 ? 1e-10 : 1e-12;
}

const FIXTURES = new URL('../../../test/fixtures/stats/', import.meta.url).pathname;

/** The rows of a fixture table; the string "Infinity" stands for Infinity (JSON has none). */
function table<Row>(name: string): Row[] {
  const parsed = JSON.parse(readFileSync(FIXTURES + name, 'utf8'), (_key, value) => (value === 'Infinity' ? Infinity : value));
  return parsed.rows as Row[];
}

// [x, k, cdf, sf, log sf]: regularized incomplete gamma at (k/2, x/2).
const CHI2 = table<[number, number, number, number, number]>('chi2.json');

// [x, d1, d2, cdf, sf, log sf]: incomplete beta, (a, b) = (d2/2, d1/2) at d2/(d2 + d1 x).
const F = table<[number, number, number, number, number, number]>('f.json');

// [t, nu, cdf, sf, log sf, log two-sided p]: incomplete beta, (a, b) = (nu/2, 1/2) at nu/(nu + t^2).
const T = table<[number, number, number, number, number, number]>('t.json');

// [z, cdf, sf, log sf, log10 sf]: erfc.
const NORMAL = table<[number, number, number, number, number]>('normal.json');

// [distribution, x, parameter 1, parameter 2, log density]: closed forms.
const LOG_PDF = table<[string, number, number, number, number]>('logpdf.json');

// [function, p, parameter 1, parameter 2, expected]: bisection on the definitions above.
const INVERSES = table<[string, number, number, number, number]>('inverses.json');

// [function, log10 p, parameter 1, parameter 2, expected]: the same with p = 10^log10p.
const ISF_LOG10 = table<[string, number, number, number, number]>('isf-log10.json');

// [function, arguments, expected, scipy expression]: scipy 1.10.1, for an
// independent check in the moderate region.
// scipy's t.ppf / t.isf are only good to ~1e-11 (mpmath agrees with lmmkit to
// 1e-16 there: tan(0.4 pi) = 3.0776835371752541...), hence the 1e-10 tolerance.
const SCIPY = table<[string, number[], number, string]>('scipy.json');

type Fn = (...args: number[]) => number;
const fn = (name: string): Fn => (stats as unknown as Record<string, Fn>)[name]!;

describe('chi-square', () => {
  test('cdf, sf, log sf, log10 sf against mpmath', () => {
    for (const [x, k, cdf, sf, logSf] of CHI2) {
      if (cdf > NORMAL_RANGE) assertRel(stats.chi2Cdf(x, k), cdf, 1e-12, `chi2Cdf(${x}, ${k})`);
      if (sf > NORMAL_RANGE) assertRel(stats.chi2Sf(x, k), sf, 1e-12, `chi2Sf(${x}, ${k})`);
      assertLog(stats.chi2LogSf(x, k), logSf, 1e-13, `chi2LogSf(${x}, ${k})`);
      assertLog(stats.chi2Log10Sf(x, k), logSf / Math.LN10, 1e-13, `chi2Log10Sf(${x}, ${k})`);
    }
  });

  test('chi2 = 2000 with 1 df has log10 p = -436.0433, not 0', () => {
    assert.equal(stats.chi2Sf(2000, 1), 0);
    const log10p = stats.chi2Log10Sf(2000, 1);
    assert.equal(Math.round(log10p * 1e4) / 1e4, -436.0433);
    assert.ok(Math.abs(log10p - -436.04327371607286) < 1e-9);
    assertRel(stats.chi2IsfLog10(log10p, 1), 2000, 1e-13, 'chi2IsfLog10 round trip');
  });

  test('support limits and NaN', () => {
    assert.equal(stats.chi2Sf(0, 3), 1);
    assert.equal(stats.chi2Sf(-1, 3), 1);
    assert.equal(stats.chi2Cdf(-1, 3), 0);
    assert.equal(stats.chi2LogSf(-1, 3), 0);
    assert.equal(stats.chi2Sf(Infinity, 3), 0);
    assert.equal(stats.chi2LogSf(Infinity, 3), -Infinity);
    assert.equal(stats.chi2Cdf(Infinity, 3), 1);
    assert.ok(Number.isNaN(stats.chi2Sf(NaN, 3)));
    assert.ok(Number.isNaN(stats.chi2LogSf(NaN, 3)));
    assert.equal(stats.chi2Pdf(-1, 3), 0);
    assert.equal(stats.chi2Pdf(0, 1), Infinity);
    assert.equal(stats.chi2Pdf(0, 2), 0.5);
    assert.equal(stats.chi2Pdf(0, 3), 0);
  });
});

describe('F', () => {
  test('cdf, sf, log sf against mpmath', () => {
    for (const [x, d1, d2, cdf, sf, logSf] of F) {
      const tol = betaTol(d1, d2);
      if (cdf > NORMAL_RANGE) assertRel(stats.fCdf(x, d1, d2), cdf, tol, `fCdf(${x}, ${d1}, ${d2})`);
      if (sf > NORMAL_RANGE) assertRel(stats.fSf(x, d1, d2), sf, tol, `fSf(${x}, ${d1}, ${d2})`);
      assertLog(stats.fLogSf(x, d1, d2), logSf, tol, `fLogSf(${x}, ${d1}, ${d2})`);
      assertLog(stats.fLog10Sf(x, d1, d2), logSf / Math.LN10, tol, `fLog10Sf(${x}, ${d1}, ${d2})`);
    }
  });

  test('support limits and NaN', () => {
    assert.equal(stats.fSf(0, 3, 7), 1);
    assert.equal(stats.fSf(-2, 3, 7), 1);
    assert.equal(stats.fCdf(-2, 3, 7), 0);
    assert.equal(stats.fLogSf(0, 3, 7), 0);
    assert.equal(stats.fSf(Infinity, 3, 7), 0);
    assert.equal(stats.fLogSf(Infinity, 3, 7), -Infinity);
    assert.ok(Number.isNaN(stats.fSf(NaN, 3, 7)));
    assert.equal(stats.fPdf(0, 1, 7), Infinity);
    assert.equal(stats.fPdf(0, 2, 7), 1);
    assert.equal(stats.fPdf(0, 3, 7), 0);
  });
});

describe('Student t', () => {
  test('cdf, sf, log sf, two-sided log p against mpmath', () => {
    for (const [t, nu, cdf, sf, logSf, logTwo] of T) {
      const tol = betaTol(nu);
      if (cdf > NORMAL_RANGE) assertRel(stats.tCdf(t, nu), cdf, tol, `tCdf(${t}, ${nu})`);
      if (sf > NORMAL_RANGE) assertRel(stats.tSf(t, nu), sf, tol, `tSf(${t}, ${nu})`);
      assertLog(stats.tLogSf(t, nu), logSf, tol, `tLogSf(${t}, ${nu})`);
      assertLog(stats.tLog10Sf(t, nu), logSf / Math.LN10, tol, `tLog10Sf(${t}, ${nu})`);
      assertLog(stats.tTwoSidedLogSf(t, nu), logTwo, tol, `tTwoSidedLogSf(${t}, ${nu})`);
      assertLog(stats.tTwoSidedLog10Sf(t, nu), logTwo / Math.LN10, tol, `tTwoSidedLog10Sf(${t}, ${nu})`);
      if (logTwo > Math.log(NORMAL_RANGE)) {
        assertRel(stats.tTwoSidedSf(t, nu), Math.exp(logTwo), Math.max(tol, 1e-13), `tTwoSidedSf(${t}, ${nu})`);
      }
    }
  });

  test('support limits and NaN', () => {
    assert.equal(stats.tSf(0, 5), 0.5);
    assert.equal(stats.tSf(Infinity, 5), 0);
    assert.equal(stats.tSf(-Infinity, 5), 1);
    assert.equal(stats.tLogSf(Infinity, 5), -Infinity);
    assert.equal(stats.tTwoSidedSf(0, 5), 1);
    assert.ok(Number.isNaN(stats.tSf(NaN, 5)));
  });
});

describe('standard normal', () => {
  test('cdf, sf, log sf, log10 sf against mpmath', () => {
    for (const [z, cdf, sf, logSf, log10Sf] of NORMAL) {
      if (cdf > NORMAL_RANGE) assertRel(stats.normalCdf(z), cdf, 1e-14, `normalCdf(${z})`);
      if (sf > NORMAL_RANGE) assertRel(stats.normalSf(z), sf, 1e-14, `normalSf(${z})`);
      assertLog(stats.normalLogSf(z), logSf, 1e-14, `normalLogSf(${z})`);
      assertLog(stats.normalLog10Sf(z), log10Sf, 1e-14, `normalLog10Sf(${z})`);
    }
  });

  test('support limits and NaN', () => {
    assert.equal(stats.normalSf(Infinity), 0);
    assert.equal(stats.normalSf(-Infinity), 1);
    assert.equal(stats.normalLogSf(Infinity), -Infinity);
    assert.equal(stats.normalCdf(-Infinity), 0);
    assert.ok(Number.isNaN(stats.normalSf(NaN)));
  });
});

test('log densities against mpmath closed forms', () => {
  for (const [dist, x, a, b, expected] of LOG_PDF) {
    const got = dist === 'chi2' ? stats.chi2LogPdf(x, a) : dist === 'f' ? stats.fLogPdf(x, a, b) : dist === 't' ? stats.tLogPdf(x, a) : stats.normalLogPdf(x);
    assertLog(got, expected, 1e-14, `${dist} log pdf at ${x}`);
    const pdf = dist === 'chi2' ? stats.chi2Pdf(x, a) : dist === 'f' ? stats.fPdf(x, a, b) : dist === 't' ? stats.tPdf(x, a) : stats.normalPdf(x);
    if (expected > Math.log(NORMAL_RANGE)) assertRel(pdf, Math.exp(expected), 1e-13, `${dist} pdf at ${x}`);
  }
});

/** Calls an inverse by name with its parameters (none for the normal, one for chi2 and t, two for F). */
function callInverse(name: string, p: number, a: number, b: number): number {
  if (name.startsWith('normal')) return fn(name)(p);
  if (name.startsWith('f')) return fn(name)(p, a, b);
  return fn(name)(p, a);
}

describe('inverses', () => {
  test('isf and quantile for p from 1e-300 (and subnormal) to 1 - 1e-16, against mpmath', () => {
    for (const [name, p, a, b, expected] of INVERSES) {
      // F and t with 1e6 degrees of freedom inherit their forward functions' ~1e-11.
      const tol = name.startsWith('normal') ? 1e-14 : Math.max(1e-12, betaTol(a, b) / 10);
      assertRel(callInverse(name, p, a, b), expected, tol, `${name}(${p}, ${a}, ${b})`);
    }
  });

  test('isfLog10 far below 1e-300, against mpmath', () => {
    for (const [name, log10p, a, b, expected] of ISF_LOG10) {
      const got = callInverse(name, log10p, a, b);
      if (expected === Infinity) assert.equal(got, Infinity, `${name}(${log10p}, ${a}, ${b})`);
      // t and F tails are heavy: log sf ~ -df log x, so x inherits |log p| * 1e-16 / df.
      else assertRel(got, expected, 1e-12, `${name}(${log10p}, ${a}, ${b})`);
    }
  });

  test('quantile(cdf(x)) = x below the median, isf(sf(x)) = x above it', () => {
    const cases: [string, number[], number[]][] = [
      ['chi2', [1], [1e-8, 0.01, 0.3, 1, 3.84, 30, 300, 1400]],
      ['chi2', [3.5], [1e-3, 1, 3.5, 10, 100, 1000]],
      ['chi2', [1e4], [9000, 9990, 10100, 11000, 15000]],
      ['f', [1, 10], [1e-6, 0.1, 1, 10, 1e3, 1e8]],
      ['f', [3, 273], [0.01, 0.5, 2, 20, 200]],
      ['f', [0.5, 2], [1e-6, 0.2, 5, 1e4]],
      ['t', [1], [-1e10, -3, -0.5, 0.2, 4, 1e12]],
      ['t', [5], [-100, -2, 0.5, 3, 1e4]],
      ['t', [273], [-20, -1, 0.7, 6, 30]],
      ['normal', [], [-37, -10, -1, 0.3, 2, 8, 37]],
    ];
    for (const [dist, params, xs] of cases) {
      const cdf = fn(`${dist}Cdf`);
      const sf = fn(`${dist}Sf`);
      const quantile = fn(`${dist}Quantile`);
      const isf = fn(`${dist}Isf`);
      for (const x of xs) {
        const lower = cdf(x, ...params);
        const back = lower < 0.5 ? quantile(lower, ...params) : isf(sf(x, ...params), ...params);
        assertRel(back, x, 1e-12, `${dist} round trip at ${x} (${params})`);
      }
    }
  });

  test('isfLog10(log10Sf(x)) = x in the far tail', () => {
    const cases: [string, number[], number[]][] = [
      ['chi2', [1], [2000, 1e4, 1e6]],
      ['chi2', [1e4], [2e4, 1e5]],
      ['f', [1, 10], [1e80, 1e200]],
      ['f', [5, 1e6], [300, 3000]],
      ['t', [5], [1e70, 1e200]],
      ['t', [1e6], [40, 200]],
      ['normal', [], [40, 100, 1e4]],
    ];
    for (const [dist, params, xs] of cases) {
      for (const x of xs) {
        const log10p = fn(`${dist}Log10Sf`)(x, ...params);
        assert.ok(log10p < -300, `${dist} ${x} is not in the far tail`);
        assertRel(fn(`${dist}IsfLog10`)(log10p, ...params), x, 1e-11, `${dist}IsfLog10 round trip at ${x} (${params})`);
      }
    }
  });

  test('inverses are continuous and monotone across the switch to log space at p = 1e-300', () => {
    const cases: [string, number[]][] = [
      ['chi2', [1]],
      ['chi2', [1e4]],
      ['f', [3, 273]],
      ['t', [5]],
      ['t', [1e6]],
      ['normal', []],
    ];
    for (const [dist, params] of cases) {
      const isfLog10 = fn(`${dist}IsfLog10`);
      const above = isfLog10(-300 + 1e-9, ...params);
      const at = isfLog10(-300, ...params);
      const below = isfLog10(-300 - 1e-9, ...params);
      assert.ok(above < at && at < below, `${dist} (${params}): ${above}, ${at}, ${below} not increasing`);
      assertRel(below, above, 1e-9, `${dist} (${params}) jump at the switch`);
      assertRel(fn(`${dist}Isf`)(1e-300, ...params), at, 1e-13, `${dist}Isf vs IsfLog10 at 1e-300`);
    }
  });

  test('limits: p = 0, p = 1, log10p = 0 and -Infinity, answers past the largest double', () => {
    assert.equal(stats.chi2Isf(0, 3), Infinity);
    assert.equal(stats.chi2Isf(1, 3), 0);
    assert.equal(stats.chi2Quantile(0, 3), 0);
    assert.equal(stats.chi2Quantile(1, 3), Infinity);
    assert.equal(stats.chi2IsfLog10(0, 3), 0);
    assert.equal(stats.chi2IsfLog10(-Infinity, 3), Infinity);
    assert.equal(stats.normalIsf(0), Infinity);
    assert.equal(stats.normalIsf(1), -Infinity);
    assert.equal(stats.normalQuantile(0.5), 0);
    assert.ok(Object.is(stats.normalQuantile(0.5), 0));
    assert.equal(stats.tQuantile(0, 5), -Infinity);
    assert.equal(stats.tIsf(0.5, 5), 0);
    assert.equal(stats.fIsf(0, 2, 3), Infinity);
    assert.equal(stats.fQuantile(0, 2, 3), 0);
    assert.equal(stats.tIsfLog10(-400, 1), Infinity);
    assert.equal(stats.fIsfLog10(-5000, 1, 10), Infinity);
    // Near log10 p = 0 the lower tail carries the digits: p = 1 - 2.3e-20.
    assertRel(stats.normalIsfLog10(-1e-20), stats.normalQuantile(1e-20 * Math.LN10), 1e-14, 'normalIsfLog10(-1e-20)');
  });
});

test('agreement with scipy in the moderate region', () => {
  for (const [name, args, expected] of SCIPY) {
    const tol = name.startsWith('tIsf') || name.startsWith('tQuantile') ? 1e-10 : 1e-13;
    assertRel(fn(name)(...args), expected, tol, `${name}(${args})`);
  }
});

describe('parameter validation', () => {
  test('degrees of freedom must be finite and > 0', () => {
    const bad = [0, -1, NaN, Infinity];
    for (const k of bad) {
      assert.throws(() => stats.chi2Sf(1, k), { name: 'DomainError', message: `chi2Sf: k must be a finite number > 0, got ${k}` });
      assert.throws(() => stats.tLogSf(1, k), { name: 'DomainError', message: new RegExp(`^tLogSf: nu .* got ${k}$`) });
      assert.throws(() => stats.fCdf(1, k, 3), { name: 'DomainError', message: new RegExp(`^fCdf: d1 .* got ${k}$`) });
      assert.throws(() => stats.fSf(1, 3, k), { name: 'DomainError', message: new RegExp(`^fSf: d2 .* got ${k}$`) });
      assert.throws(() => stats.chi2Isf(0.5, k), { name: 'DomainError', message: /^chi2Isf: k / });
    }
  });

  test('probabilities must be in [0, 1], log10 probabilities <= 0', () => {
    for (const p of [-0.1, 1.5, NaN]) {
      assert.throws(() => stats.chi2Quantile(p, 1), { name: 'DomainError', message: `chi2Quantile: p must be a probability in [0, 1], got ${p}` });
      assert.throws(() => stats.normalIsf(p), { name: 'DomainError', message: /^normalIsf: p / });
      assert.throws(() => stats.tQuantile(p, 3), { name: 'DomainError', message: /^tQuantile: p / });
      assert.throws(() => stats.fIsf(p, 1, 3), { name: 'DomainError', message: /^fIsf: p / });
    }
    for (const l of [0.5, NaN]) {
      assert.throws(() => stats.chi2IsfLog10(l, 1), { name: 'DomainError', message: `chi2IsfLog10: log10p must be log10 of a probability (<= 0), got ${l}` });
      assert.throws(() => stats.normalIsfLog10(l), { name: 'DomainError', message: /^normalIsfLog10: log10p / });
    }
  });
});
