// Loaders for MM4LMM's example data (../shared/data/mm4lmm, see its README)
// and reference outputs (../shared/refs/mm4lmm), shared by the varcomp tests.
import { readFileSync } from 'node:fs';
import { Matrix } from '../src/index.js';
import { SHARED } from './support.js';

export const MM_DATA = 'data/mm4lmm/';
export const MM_REFS = 'refs/mm4lmm/';

/** A CSV with a header as rows of unquoted cells. */
export function readCsv(rel: string): { header: string[]; rows: string[][] } {
  const lines = readFileSync(SHARED + rel, 'utf8')
    .split(/\r?\n/)
    .filter((l) => l.length > 0);
  const split = (l: string) => l.split(',').map((c) => c.replace(/^"|"$/g, ''));
  return { header: split(lines[0]!), rows: lines.slice(1).map(split) };
}

/** A square kinship CSV (header of ids, first column ids) as a Matrix and its ids. */
export function readKinshipCsv(rel: string): { k: Matrix; ids: string[] } {
  const { header, rows } = readCsv(rel);
  const ids = header.slice(1);
  const k = Matrix.fromRows(rows.map((r) => r.slice(1).map(Number)));
  return { k, ids };
}

/** Incidence Z (N x q): Z[i, j] = 1 iff codes[i] == ids[j], as the MMEst examples build Zf and Zd. */
export function incidence(codes: readonly string[], ids: readonly string[]): Matrix {
  const z = new Matrix(codes.length, ids.length);
  const at = new Map(ids.map((id, j) => [id, j]));
  codes.forEach((c, i) => {
    const j = at.get(c);
    if (j === undefined) throw new Error(`code ${c} is not a kinship id`);
    z.data[i + j * codes.length] = 1;
  });
  return z;
}

/** Example 1/2 data: DataHybrid, the two kinships, Zf, Zd, the character markers. */
export function hybridData() {
  const d = readCsv(`${MM_DATA}vc_data.csv`);
  const col = (name: string) => d.rows.map((r) => r[d.header.indexOf(name)]!);
  const flint = readKinshipCsv(`${MM_DATA}vc_kinship_flint.csv`);
  const dent = readKinshipCsv(`${MM_DATA}vc_kinship_dent.csv`);
  const m = readCsv(`${MM_DATA}vc_markers.csv`);
  const markers = m.header.slice(1).map((_, j) => m.rows.map((r) => r[j + 1]!));
  return {
    n: d.rows.length,
    trait: Float64Array.from(col('Trait'), Number),
    trial: col('Trial'),
    codeFlint: col('CodeFlint'),
    codeDent: col('CodeDent'),
    codeHybrid: col('CodeHybrid'),
    kinF: flint,
    kinD: dent,
    zf: incidence(col('CodeFlint'), flint.ids),
    zd: incidence(col('CodeDent'), dent.ids),
    markers,
  };
}

/** Example 3 data: phenotype, the 259 x 10 genotypes and the kinship. */
export function qtlData() {
  const p = readCsv(`${MM_DATA}qtl_phenotype.csv`);
  const g = readCsv(`${MM_DATA}qtl_genotype.csv`);
  const k = readKinshipCsv(`${MM_DATA}qtl_kinship.csv`);
  return {
    n: p.rows.length,
    y: Float64Array.from(p.rows, (r) => Number(r[1])),
    geno: Matrix.fromRows(g.rows.map((r) => r.slice(1).map(Number))),
    snpNames: g.header.slice(1),
    kinship: k.k,
  };
}

export interface RefModel {
  BetaNames: string[];
  Beta: number[];
  Sigma2Names: string[];
  Sigma2: number[];
  VarBeta: number[][];
  LogLikName: string;
  LogLik: number;
  NbIt: number;
  Method: string;
  attr: number[];
  Factors: string[];
}

/** A reference JSON. */
export function readRef<T = { result: { nModels: number; modelNames: string[]; models: RefModel[] }; error?: string; elapsed_s: number; messages: string[] }>(
  name: string,
): T {
  return JSON.parse(readFileSync(`${SHARED}${MM_REFS}${name}.json`, 'utf8')) as T;
}
