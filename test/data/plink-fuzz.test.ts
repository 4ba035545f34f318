// Fuzzing the PLINK parsers: random bytes as a .bed and random text as .bim
// and .fam must either read or fail with our typed error, never anything
// else, and never hang.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import fc from 'fast-check';
import { LmmkitError } from '../../src/errors.js';
import { openBed } from '../../src/data/node/bed.js';
import { parseBim } from '../../src/data/plink/bim.js';
import { parseFam } from '../../src/data/plink/fam.js';

const dir = mkdtempSync(join(tmpdir(), 'lmmkit-fuzz-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const BIM = '1\trs1\t0\t100\tA\tG\n1\trs2\t0.5\t200\tC\tT\n2\trs3\t0\t50\tG\tA\n';
const FAM = 'F1 I1 0 0 1 -9\nF2 I2 0 0 2 1.5\nF3 I3 0 0 0 NA\nF4 I4 0 0 1 2\nF5 I5 0 0 1 2\n';

function typedOrFine(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof LmmkitError)) throw err;
  }
}

test('random text as .bim or .fam gives a table or an LmmkitError', () => {
  const field = fc.oneof(fc.constantFrom('1', 'rs1', '0', '-9', 'NA', '1e5', 'A', 'x y', '\t', ' ', '', '2.5', '-1'), fc.string());
  const line = fc.tuple(fc.array(field, { maxLength: 8 }), fc.constantFrom('\t', ' ', '  ')).map(([f, sep]) => f.join(sep));
  fc.assert(
    fc.property(fc.array(line, { maxLength: 6 }), (lines) => {
      const text = lines.join('\n');
      typedOrFine(() => parseBim(text, 'fuzz.bim'));
      typedOrFine(() => parseFam(text, 'fuzz.fam'));
    }),
    { numRuns: 400 },
  );
  fc.assert(
    fc.property(fc.string({ maxLength: 200 }), (text) => {
      typedOrFine(() => parseBim(text, 'fuzz.bim'));
      typedOrFine(() => parseFam(text, 'fuzz.fam'));
    }),
    { numRuns: 400 },
  );
});

test('random bytes as a .bed (right or wrong size, right or wrong magic) read or fail with an InputError', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(
        fc.uint8Array({ minLength: 0, maxLength: 12 }),
        fc.uint8Array({ minLength: 6, maxLength: 6 }).map((b) => Uint8Array.of(0x6c, 0x1b, 0x01, ...b)),
      ),
      async (bytes) => {
        const prefix = join(dir, 'f');
        writeFileSync(`${prefix}.bed`, bytes);
        writeFileSync(`${prefix}.bim`, BIM);
        writeFileSync(`${prefix}.fam`, FAM);
        try {
          const bed = await openBed(prefix);
          // Only a well-formed file opens: 3 magic bytes + 2 bytes x 3 variants.
          assert.equal(bytes.length, 9);
          for await (const b of bed.batches({ size: 2 })) {
            for (const v of b.dosages.data) assert.ok(Number.isNaN(v) || v === 0 || v === 1 || v === 2);
          }
          await bed.close();
        } catch (err) {
          if (!(err instanceof LmmkitError)) throw err;
        }
      },
    ),
    { numRuns: 300 },
  );
});
