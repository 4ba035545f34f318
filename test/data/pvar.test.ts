// The .pvar parser's positions and blank lines, on text (the plink2
// filesets of test/cli/pgen.test.ts cover the layouts): a position is a
// non-negative decimal integer below 2^53, whatever its length, and a line
// of whitespace alone is skipped, one with text after the whitespace not.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseLines } from '../../src/data/lines.js';
import { PvarParser } from '../../src/data/plink2/pvar.js';

const HEAD = '#CHROM\tPOS\tID\tREF\tALT\n';
const parse = (body: string) => parseLines(HEAD + body, new PvarParser('t.pvar'));

test('.pvar positions: decimal digits of any length up to 2^53 - 1', () => {
  const pos = ['0', '7', '000123', '123456789012345', '1234567890123456', '9007199254740991'];
  const t = parse(pos.map((p, i) => `1\t${p}\tv${i}\tA\tC`).join('\n'));
  assert.deepEqual([...t.pos], [0, 7, 123, 123456789012345, 1234567890123456, 9007199254740991]);
  assert.deepEqual([...t.line], [2, 3, 4, 5, 6, 7]);
});

test('.pvar positions: anything but digits, or 2^53 and over, is one error naming line and column', () => {
  for (const bad of ['', '-1', '+1', '1e3', '0x10', '12a', ' 12', '1.0', '9007199254740992', '１２']) {
    assert.throws(
      () => parse(`1\t5\tv0\tA\tC\n1\t${bad}\tv1\tA\tC\n`),
      (e: Error) => e.message === `t.pvar:3 (column 2): expected a base-pair position written as a non-negative decimal integer, found '${bad}'`,
      `position '${bad}'`,
    );
  }
});

test('.pvar blank lines: empty or whitespace alone skipped, a line starting with a space read', () => {
  const t = parse('1\t5\tv0\tA\tC\n\n \t \r\n1\t6\tv1\tA\tC\r\n');
  assert.deepEqual(t.id, ['v0', 'v1']);
  assert.throws(() => parse(' 1\t5\tv0\tA'), /t\.pvar:2: expected at least 5 fields, found 4/);
});
