// Property-based fuzzing of a whole GWAS run (issue 13): random mutations of
// the .bim, .fam, phenotype and kinship text of a small generated data set,
// each run through `runGwas` as the CLI runs it. Whatever the mutation:
// - the run ends (no hang) with a result or an `LmmkitError`, whose message
//   is one line (the CLI prints it as `lmmkit: ...`; anything else would be a
//   stack trace);
// - an error leaves the output folder empty (no output, no temporary file);
// - a result is either the unmutated input's result, byte for byte, or the
//   report differs from the unmutated input's report: what was dropped or
//   changed is recorded (a silent change is a failure).
// The mutations are the ones a file can suffer by accident (lines lost,
// doubled, cut or shuffled, stray characters, invalid or missing tokens,
// line endings): a valid number replaced by another valid number is data,
// not damage, and is not generated.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import fc from 'fast-check';
import { LmmkitError } from '../../src/errors.js';
import { simulateGwas } from '../../src/sim/gwas.js';
import { runGwas } from '../../src/workflow/gwas.js';
import { scratchDir, writeGenotypeFixture, writeSampleTable } from '../cli-support.js';

const dir = scratchDir('lmmkit-fuzz-gwas-');
const clean = join(dir, 'clean');
mkdirSync(clean);
const sim = simulateGwas({ samples: 40, variants: 60, seed: 21 });
const FILES = ['g.bim', 'g.fam', 'pheno.tsv', 'kin.tsv'] as const;
type Target = (typeof FILES)[number];

// The parts of the report that are results, not accounting: they change
// with any value, so a report that differs there says nothing about why.
const FITTED = new Set(['seconds', 'nullModel', 'top']);

/** Runs gwas on the inputs in `data` into `out`: the TSVs, and the JSON report's accounting with paths made relative. */
async function run(data: string, out: string): Promise<{ tsv: string; report: string }> {
  const prefix = join(out, 'res');
  await runGwas({ bfile: join(data, 'g'), pheno: join(data, 'pheno.tsv'), kinship: join(data, 'kin.tsv'), maf: 0, out: prefix });
  const report = JSON.parse(readFileSync(`${prefix}.json`, 'utf8'), (k, v) => (FITTED.has(k) ? undefined : v)) as { traits: { output: string }[] };
  return {
    // A damaged header renames the trait, and its output with it.
    tsv: report.traits.map((t) => readFileSync(t.output, 'utf8')).join('\n'),
    report: JSON.stringify(report).replaceAll(data, 'DATA').replaceAll(out, 'OUT'),
  };
}

let baseline: { tsv: string; report: string };
before(async () => {
  await writeGenotypeFixture(sim, join(clean, 'g'), join(clean, 'kin.tsv'));
  writeSampleTable(join(clean, 'pheno.tsv'), sim.samples, ['t1'], (i) => sim.phenotype[i]!.toFixed(6));
  const data = mkdtempSync(join(dir, 'base-'));
  for (const f of readdirSync(clean)) copyFileSync(join(clean, f), join(data, f));
  baseline = await run(data, mkdtempSync(join(dir, 'out-')));
});

/** One accident to a text file, applied to its lines. */
type Mutation =
  | { op: 'delete' | 'duplicate'; line: number }
  | { op: 'swap'; line: number; other: number }
  | { op: 'cut'; at: number }
  | { op: 'insert'; at: number; char: string }
  | { op: 'field'; line: number; field: number; token: string }
  | { op: 'crlf' | 'bom' | 'blank-end' | 'no-final-newline' };

// Tokens that are not a different valid value of the field they replace.
const TOKENS: Record<Target, readonly string[]> = {
  'g.bim': ['NA', '0x1F', '1e400', '-1', '', 'abc', '1.5', '__proto__'],
  'g.fam': ['NA', '-9', '', '__proto__', 'x y'],
  'pheno.tsv': ['NA', '-9', '', 'abc', 'Inf', '1,5', '0x10', '__proto__', '"'],
  'kin.tsv': ['NA', '', 'abc', '-1', '1e400', 'Inf'],
};

// Characters whose insertion cannot turn one valid number into another. In
// a .bim or .fam most fields are labels (ids, alleles) that any text may
// fill: only characters that break the layout are damage there.
const CHARS = ['x', '\t', ' ', ',', '"', '\0', '#', '\n', '\r', '\u00e9'];
const LAYOUT_CHARS = ['\t', ' ', '\n'];

const mutation = (target: Target): fc.Arbitrary<Mutation> =>
  fc.oneof(
    fc.record({ op: fc.constantFrom('delete' as const, 'duplicate' as const), line: fc.nat(60) }),
    // Rows of a .bim or .fam are positional (they label the .bed): a swap
    // there relabels the data, which no reader can detect.
    ...(target === 'pheno.tsv' || target === 'kin.tsv' ? [fc.record({ op: fc.constant('swap' as const), line: fc.nat(60), other: fc.nat(60) })] : []),
    fc.record({ op: fc.constant('cut' as const), at: fc.nat(4000) }),
    fc.record({
      op: fc.constant('insert' as const),
      at: fc.nat(4000),
      char: fc.constantFrom(...(target === 'g.bim' || target === 'g.fam' ? LAYOUT_CHARS : CHARS)),
    }),
    fc.record({ op: fc.constant('field' as const), line: fc.nat(60), field: fc.nat(target === 'kin.tsv' ? 40 : 5), token: fc.constantFrom(...TOKENS[target]) }),
    fc.record({ op: fc.constantFrom('crlf' as const, 'bom' as const, 'blank-end' as const, 'no-final-newline' as const) }),
  );

/** Applies a mutation to a text (positions are taken modulo the text's size). */
function mutate(text: string, m: Mutation, target: Target): string {
  const lines = text.replace(/\n$/, '').split('\n');
  const at = (i: number): number => i % lines.length;
  switch (m.op) {
    case 'delete':
      lines.splice(at(m.line), 1);
      return `${lines.join('\n')}\n`;
    case 'duplicate':
      lines.splice(at(m.line), 0, lines[at(m.line)]!);
      return `${lines.join('\n')}\n`;
    case 'swap': {
      const [a, b] = [at(m.line), at(m.other)];
      [lines[a], lines[b]] = [lines[b]!, lines[a]!];
      return `${lines.join('\n')}\n`;
    }
    case 'cut':
      return text.slice(0, m.at % text.length);
    case 'insert': {
      const k = m.at % text.length;
      return text.slice(0, k) + m.char + text.slice(k);
    }
    case 'field': {
      const i = at(m.line);
      const sep = target === 'g.bim' || target === 'kin.tsv' || target === 'pheno.tsv' ? '\t' : ' ';
      const fields = lines[i]!.split(sep);
      // In a .bim only cM and position are numbers whose change is damage, not a relabelling.
      const f = target === 'g.bim' ? 2 + (m.field % 2) : m.field % fields.length;
      fields[f] = m.token;
      lines[i] = fields.join(sep);
      return `${lines.join('\n')}\n`;
    }
    case 'crlf':
      return text.replaceAll('\n', '\r\n');
    case 'bom':
      return `\ufeff${text}`;
    case 'blank-end':
      return `${text}\n\n`;
    case 'no-final-newline':
      return text.replace(/\n$/, '');
  }
}

const HANG_MS = 30_000;

test('mutated .bim/.fam/phenotype/kinship: a one-line LmmkitError and no file left, or the same result, or a report that says what changed', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(...FILES).chain((target) => fc.tuple(fc.constant(target), mutation(target))),
      async ([target, m]) => {
        const data = mkdtempSync(join(dir, 'in-'));
        for (const f of readdirSync(clean)) copyFileSync(join(clean, f), join(data, f));
        writeFileSync(join(data, target), mutate(readFileSync(join(clean, target), 'utf8'), m, target));
        const out = mkdtempSync(join(dir, 'out-'));
        let timer: NodeJS.Timeout | undefined;
        const hang = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no result after ${HANG_MS} ms`)), HANG_MS);
        });
        try {
          const r = await Promise.race([run(data, out), hang]);
          if (r.tsv !== baseline.tsv) assert.notEqual(r.report, baseline.report, 'the result changed but the report does not say why');
        } catch (e) {
          if (!(e instanceof LmmkitError)) throw e;
          assert.doesNotMatch(e.message, /\n/, 'one line');
          assert.deepEqual(readdirSync(out), [], 'no output and no temporary file after an error');
        } finally {
          clearTimeout(timer);
        }
      },
    ),
    { numRuns: 300, seed: 13 },
  );
});
