// The regional plot: points of the region only, coloured by their r^2 with
// the lead in LocusZoom's bins; r^2 from the genotype file checked against
// plink 1.9 --r2 on the chr22 data (a phenotype with one causal variant,
// scanned by plink2 --glm, whose output the plot reads); bad options refused.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { openBed } from '../../src/data/node/bed.js';
import { Rng } from '../../src/sim/rng.js';
import { dosageR2, LEAD_COLOR, R2_BINS, R2_MISSING_COLOR, regionalPlot } from '../../src/plot/regional.js';
import { assertRejected, lmmkit, scratchDir } from '../cli-support.js';
import { requireTool, SHARED, sharedTest } from '../support.js';

const dir = scratchDir('lmmkit-regional-');
const BED = 'data/structlmm/chrom22_subsample20_maf0.10';

/** The r^2 written in each point's title, by id. */
function titleR2(svg: string): Map<string, number> {
  return new Map([...svg.matchAll(/<title>(\S+) \S+ p=\S+ r2=([0-9.e-]+)<\/title>/g)].map((m) => [m[1]!, Number(m[2])]));
}

describe('regional plot', () => {
  test('points of the region only, coloured by r^2 bin, the lead a diamond', () => {
    const chrom = ['chr1', 'chr1', 'chr1', 'chr1', 'chr1', 'chr1', 'chr1', 'chr2'];
    const pos = [50, 100, 200, 300, 400, 500, 900, 150];
    const log10p = [-20, -3, -12, -5, -2, -1, -30, -40];
    const id = pos.map((p, i) => `v${i}_${p}`);
    const r2 = [0.9, 0.1, 0.85, 0.5, Number.NaN, 0.3, 0.95, 0.99];
    // Region 1:100-600 (END exclusive): rows 1..5; the lead is the best of them (row 2), not row 6 or 7 outside.
    const r = regionalPlot({ chrom, pos, id, log10p }, { region: { chrom: '1', start: 100, end: 600 }, r2, title: 't' });
    assert.deepEqual(r.lead, { row: 2, id: 'v2_200', chrom: 'chr1', pos: 200, minusLog10p: 12 });
    assert.deepEqual(r.points, { inRegion: 5, drawn: 5, withR2: 3 });
    // Bins: [0,0.2) v1, [0.2,0.4) v5, [0.4,0.6) v3, none v4 (the lead is not counted).
    assert.deepEqual(r.bins, [1, 1, 1, 0, 0, 1]);
    const fills = [...r.svg.matchAll(/<circle [^>]*fill="([^"]+)"[^>]*data-id="([^"]+)"/g)].map((m) => [m[2], m[1]]);
    assert.deepEqual(
      new Map(fills as [string, string][]),
      new Map([
        ['v1_100', R2_BINS[0]![1]],
        ['v3_300', R2_BINS[2]![1]],
        ['v4_400', R2_MISSING_COLOR],
        ['v5_500', R2_BINS[1]![1]],
      ]),
    );
    assert.equal(fills[0]![0], 'v4_400', 'points without r^2 drawn first (under the others)');
    assert.match(r.svg, new RegExp(`<path d="M[^"]+Z" fill="${LEAD_COLOR}"[^>]*data-id="v2_200"`));
    assert.ok(r.x(100) < r.x(500) && r.y(12) < r.y(3));
    const lead = regionalPlot({ chrom, pos, id, log10p }, { region: { chrom: 'chr1', start: 100, end: 600 }, lead: 3 });
    assert.equal(lead.lead.id, 'v3_300');
    assert.doesNotMatch(lead.svg, /r2=/);
    assert.throws(() => regionalPlot({ chrom, pos, log10p }, { region: { chrom: '3', start: 1, end: 9 } }), /region 3:1-9: no tested variant lies in it/);
  });

  test('dosageR2: squared correlation over samples observed at both', () => {
    const rng = new Rng(3);
    const a = Float64Array.from({ length: 200 }, () => rng.dosage(0.3));
    const b = a.map((x, i) => (i % 7 === 0 ? rng.dosage(0.3) : x));
    assert.equal(dosageR2(a, a), 1);
    assert.ok(
      Math.abs(
        dosageR2(
          a,
          a.map((x) => 2 - x),
        ) - 1,
      ) < 1e-12,
    );
    const r = dosageR2(a, b);
    assert.ok(r > 0.6 && r < 1);
    // A missing dosage drops that sample from both.
    const am = Float64Array.from(a);
    am[0] = Number.NaN;
    const ma = a.slice(1);
    assert.ok(Math.abs(dosageR2(am, b) - dosageR2(ma, b.slice(1))) < 1e-15);
    assert.ok(Number.isNaN(dosageR2(new Float64Array(200).fill(1), b)));
  });

  sharedTest('lmmkit plot regional --bfile: r^2 as plink 1.9 --r2 computes it', `${BED}.bed`, async (t) => {
    if (!requireTool(t, 'plink2') || !requireTool(t, 'plink1.9')) return;
    const bfile = SHARED + BED;
    // A phenotype driven by one variant of the middle of chr22.
    const src = await openBed(bfile);
    const leadIndex = Math.floor(src.variants.id.length / 2);
    const leadId = src.variants.id[leadIndex]!;
    const leadPos = src.variants.pos[leadIndex]!;
    let d: Float64Array | undefined;
    for await (const b of src.batches({ select: { indices: [leadIndex] } })) d = Float64Array.from(b.dosages.col(0));
    await src.close();
    const rng = new Rng(8);
    const rows = src.samples.iid.map((iid, i) => `${src.samples.fid[i]}\t${iid}\t${(Number.isNaN(d![i]!) ? 1 : d![i]!) * 0.9 + rng.normal()}`);
    writeFileSync(join(dir, 'pheno.tsv'), `FID\tIID\ty\n${rows.join('\n')}\n`);
    const tool = (args: string[]) => {
      const r = spawnSync(args[0]!, args.slice(1), { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
    };
    tool(['plink2', '--bfile', bfile, '--pheno', join(dir, 'pheno.tsv'), '--glm', 'allow-no-covars', '--out', join(dir, 'res'), '--silent']);
    const from = leadPos - 300_000;
    const to = leadPos + 300_000;
    tool([
      'plink1.9',
      '--bfile',
      bfile,
      '--r2',
      '--ld-snp',
      leadId,
      '--ld-window-kb',
      '300',
      '--ld-window',
      '99999',
      '--ld-window-r2',
      '0',
      '--out',
      join(dir, 'ld'),
      '--silent',
    ]);
    const out = join(dir, 'plots');
    mkdirSync(out);
    const r = lmmkit(
      'plot',
      'regional',
      '--in',
      join(dir, 'res.y.glm.linear'),
      '--region',
      `22:${from}-${to}`,
      '--lead',
      leadId,
      '--bfile',
      bfile,
      '--out',
      join(out, 'r.svg'),
      join(out, 'r.png'),
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /plink2 layout, \d+ rows, p from column P \(p-values\), test ADD in 22:/);
    assert.match(r.stdout, new RegExp(`regional: \\d+ variants, lead ${leadId} \\(22:${leadPos}, p=[0-9.]+e-\\d+\\), r\\^2 from 274 samples`));
    const ours = titleR2(readFileSync(join(out, 'r.svg'), 'utf8'));
    const plink = new Map(
      readFileSync(join(dir, 'ld.ld'), 'utf8')
        .trim()
        .split('\n')
        .slice(1)
        .map((l) => l.trim().split(/\s+/))
        .filter((f) => Number(f[4]) >= from && Number(f[4]) < to && f[5] !== leadId)
        .map((f) => [f[5]!, Number(f[6])]),
    );
    assert.ok(plink.size > 500, `${plink.size} variants`);
    assert.equal(ours.size, plink.size);
    let worst = 0;
    for (const [id, v] of plink) worst = Math.max(worst, Math.abs(ours.get(id)! - v));
    assert.ok(worst <= 5.1e-4, `max |r2 - plink| = ${worst} (titles have 3 decimals)`);
    assert.ok(Math.max(...ours.values()) > 0.5, `max r^2 ${Math.max(...ours.values())}: the lead has neighbours in LD`);
    assert.deepEqual([...readFileSync(join(out, 'r.png')).subarray(1, 4)], [...Buffer.from('PNG')]);
  });

  test('bad options: exit 2, one line, nothing written', () => {
    const tsv = join(dir, 'small.tsv');
    writeFileSync(tsv, 'chrom\tpos\tid\tpvalue\tlog10p\n1\t100\tv1\t0.01\t-2\n1\t200\tv2\t0.5\t-0.30103\n');
    const out = join(dir, 'bad');
    mkdirSync(out);
    const o = join(out, 'x.svg');
    assertRejected(lmmkit('plot', 'regional', '--in', tsv, '--out', o), /plot regional: --region CHR:START-END is required/, out);
    assertRejected(
      lmmkit('plot', 'regional', '--in', tsv, '--region', '2:1-500', '--out', o),
      /--region 2:1-500: no variant of .*small\.tsv lies in 2:1-500/,
      out,
    );
    assertRejected(
      lmmkit('plot', 'regional', '--in', tsv, '--region', '1:1-500', '--lead', 'v9', '--out', o),
      /--lead v9: no variant of .*small\.tsv in --region 1:1-500 has this id/,
      out,
    );
    assertRejected(
      lmmkit('plot', 'regional', '--in', tsv, '--region', '1:1-500', '--bfile', 'a', '--vcf', 'b', '--out', o),
      /plot regional: give exactly one of --bfile/,
      out,
    );
    const ok = lmmkit('plot', 'regional', '--in', tsv, '--region', '1:1-500', '--out', o);
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /regional: 2 variants, lead v1 \(1:100, p=0\.01\), no genotypes: no r\^2/);
  });
});
