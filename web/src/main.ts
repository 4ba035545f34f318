// The web app's page: the inputs (file pickers and a drop zone; the
// genotype fileset recognised by extension), the run (in a Web Worker, its
// scan split over several: stages, progress and ETA, cancel), and the results
// (interactive Manhattan, QQ with lambda_GC, sortable top hits, the null
// model, downloads). The main thread only draws: every computation, the
// tables written for download included, happens in the worker.
import type { OutFormat } from '../../src/data/gwas-dialects.js';
import type { VcfDosage } from '../../src/data/vcf.js';
import { GENOTYPE_FILE, type GenotypeFileset, recogniseGenotypes, filesetFiles } from '../../src/workflow/web-filesets.js';
import type { JobEvent, JobRequest } from '../../src/workflow/web-job.js';
import type { NullModelReport } from '../../src/workflow/gwas-report.js';
import type { FromWorker, RunSummary, ToWorker } from './protocol.js';
import { phenotypeColumns } from './table-header.js';

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

/** The files chosen or dropped, by name (a later file of the same name replaces the earlier). */
const files = new Map<string, File>();
let worker: Worker | undefined;
let running = false;
let summary: RunSummary | undefined;
let stageStart = 0;

/**
 * Workers the scan's batches are dealt to: ?workers=K in the page's
 * address (K - 1 scan workers beside the job's), else 1 on up to 3 cores
 * and min(cores, 4) from 4 cores on. On the project's idle 2-core machine
 * (npm run bench:web, bench/web-app.ts) 2 workers made the scan stage
 * 1.09-1.17x faster but Run to results 0.97-1.03x, the extra worker's start
 * eating the gain: so one worker there. With 4 cores or more the scan's
 * share can be split without taking the core the kinship and null fit
 * (one worker whatever K) need; not measured here (no such machine). The
 * tables are the same bytes whatever K (test/web).
 */
const cores = navigator.hardwareConcurrency || 1;
const askedWorkers = Math.floor(Number(new URLSearchParams(location.search).get('workers')));
const SCAN_WORKERS = askedWorkers >= 1 ? askedWorkers : cores >= 4 ? Math.min(cores, 4) : 1;

const ui = {
  drop: $<HTMLDivElement>('drop'),
  input: $<HTMLInputElement>('files'),
  list: $<HTMLUListElement>('file-list'),
  fileset: $<HTMLParagraphElement>('fileset'),
  vcfDosage: $<HTMLSelectElement>('vcf-dosage'),
  bgenRef: $<HTMLSelectElement>('bgen-ref'),
  pheno: $<HTMLSelectElement>('pheno'),
  trait: $<HTMLSelectElement>('trait'),
  covar: $<HTMLSelectElement>('covar'),
  kinship: $<HTMLSelectElement>('kinship'),
  test: $<HTMLSelectElement>('test'),
  maf: $<HTMLInputElement>('maf'),
  missing: $<HTMLInputElement>('missing'),
  run: $<HTMLButtonElement>('run'),
  example: $<HTMLButtonElement>('example'),
  cancel: $<HTMLButtonElement>('cancel'),
  status: $<HTMLDivElement>('status'),
  bar: $<HTMLDivElement>('bar'),
  eta: $<HTMLDivElement>('eta'),
  error: $<HTMLDivElement>('error'),
  samplesBox: $<HTMLDetailsElement>('samples-box'),
  samples: $<HTMLPreElement>('samples'),
  nullBox: $<HTMLDivElement>('null-box'),
  null: $<HTMLTableElement>('null'),
  results: $<HTMLElement>('results'),
  placeholder: $<HTMLElement>('placeholder'),
  format: $<HTMLSelectElement>('format'),
  gz: $<HTMLInputElement>('gz'),
  manhattan: $<HTMLIFrameElement>('manhattan'),
  qq: $<HTMLDivElement>('qq'),
  lambda: $<HTMLElement>('lambda'),
  hits: $<HTMLTableElement>('hits'),
};

// Inputs.

function addFiles(list: FileList | null): void {
  for (const f of Array.from(list ?? [])) files.set(f.name, f);
  void refreshInputs();
}

ui.input.addEventListener('change', () => addFiles(ui.input.files));
ui.drop.addEventListener('dragover', (e) => {
  e.preventDefault();
  ui.drop.classList.add('over');
});
ui.drop.addEventListener('dragleave', () => ui.drop.classList.remove('over'));
ui.drop.addEventListener('drop', (e) => {
  e.preventDefault();
  ui.drop.classList.remove('over');
  addFiles(e.dataTransfer?.files ?? null);
});

/** The genotype fileset among the files, with the VCF dosage field and BGEN REF allele chosen, if one complete set is there. */
function fileset(): GenotypeFileset | undefined {
  const set = recogniseGenotypes([...files.keys()]).fileset;
  if (set !== undefined && 'vcf' in set && ui.vcfDosage.value !== '') return { ...set, dosage: ui.vcfDosage.value as VcfDosage };
  if (set !== undefined && 'bgen' in set) return { ...set, ref: ui.bgenRef.value as 'first' | 'last' };
  return set;
}

/** Shows which fileset was recognised (or what is missing), and the options of its format only. */
function showFileset(): void {
  const r = recogniseGenotypes([...files.keys()]);
  ui.fileset.hidden = r.label === undefined && r.problem === undefined;
  ui.fileset.textContent = r.problem ?? (r.label === undefined ? '' : `Genotypes: ${r.label}`);
  ui.fileset.className = r.problem === undefined ? 'fileset' : 'fileset problem';
  const vcf = r.fileset !== undefined && 'vcf' in r.fileset;
  const bgen = r.fileset !== undefined && 'bgen' in r.fileset;
  for (const el of document.querySelectorAll<HTMLElement>('.vcf-only')) el.hidden = !vcf;
  for (const el of document.querySelectorAll<HTMLElement>('.bgen-only')) el.hidden = !bgen;
}

function options(select: HTMLSelectElement, items: [string, string][], keep = true): void {
  const was = select.value;
  select.replaceChildren(...items.map(([value, label]) => new Option(label, value)));
  if (keep && items.some(([v]) => v === was)) select.value = was;
}

async function refreshInputs(): Promise<void> {
  const set = fileset();
  ui.list.replaceChildren(
    ...[...files.values()].map((f) => {
      const li = document.createElement('li');
      li.textContent = `${f.name} (${(f.size / 1024).toFixed(f.size < 10240 ? 1 : 0)} KiB)`;
      return li;
    }),
  );
  showFileset();
  const tables = [...files.keys()].filter((n) => !GENOTYPE_FILE.test(n));
  options(
    ui.pheno,
    tables.map((t) => [t, t]),
  );
  options(ui.covar, [
    ['', 'none'],
    ...tables.map((t): [string, string] => [t, t]),
  ]);
  options(ui.kinship, [
    ['', 'compute from the genotypes'],
    ...tables.map((t): [string, string] => [t, t]),
  ]);
  await refreshTraits();
  ui.run.disabled = running || set === undefined || ui.pheno.value === '';
  if (!running && set === undefined && files.size > 0) {
    setStatus('Choose one genotype fileset (.bed .bim .fam, .pgen .pvar .psam, .bgen with its .sample, or a .vcf / .vcf.gz) and a phenotype table.');
  } else if (!running && set !== undefined && ui.pheno.value !== '') setStatus(`Ready: ${filesetFiles(set)[0]} with phenotypes from ${ui.pheno.value}.`);
}

async function refreshTraits(): Promise<void> {
  const f = files.get(ui.pheno.value);
  const cols = f === undefined ? [] : phenotypeColumns(await f.slice(0, 1 << 16).text());
  options(
    ui.trait,
    cols.map((c) => [c, c]),
  );
  ui.trait.disabled = cols.length === 0;
}

ui.pheno.addEventListener('change', () => void refreshInputs());

// The run.

function setStatus(text: string): void {
  ui.status.textContent = text;
}

function showError(message: string): void {
  ui.error.textContent = message;
  ui.error.hidden = false;
}

function setRunning(on: boolean): void {
  running = on;
  ui.cancel.disabled = !on;
  ui.example.disabled = on;
  ui.run.disabled = on || fileset() === undefined || ui.pheno.value === '';
}

function startWorker(): Worker {
  if (worker !== undefined) return worker;
  const w = new Worker('worker.js');
  w.onmessage = (e: MessageEvent<FromWorker>) => onWorker(e.data);
  w.onerror = (e) => {
    e.preventDefault();
    failed(e.message || 'the worker failed');
  };
  worker = w;
  return w;
}

function post(m: ToWorker): void {
  startWorker().postMessage(m);
}

function start(req: JobRequest, label: string): void {
  summary = undefined;
  ui.error.hidden = true;
  ui.results.hidden = true;
  ui.placeholder.hidden = true;
  ui.samplesBox.hidden = true;
  ui.nullBox.hidden = true;
  ui.bar.style.width = '0';
  ui.eta.textContent = '';
  setRunning(true);
  setStatus(`Starting ${label}...`);
  stageStart = performance.now();
  post({ type: 'run', req, workers: SCAN_WORKERS });
}

ui.run.addEventListener('click', () => {
  const set = fileset();
  if (set === undefined) return;
  start(
    {
      files: new Map([...files].filter(([n]) => [...filesetFiles(set), ui.pheno.value, ui.covar.value, ui.kinship.value].includes(n))),
      genotypes: set,
      pheno: ui.pheno.value,
      ...(ui.trait.value === '' ? {} : { trait: ui.trait.value }),
      ...(ui.covar.value === '' ? {} : { covar: ui.covar.value }),
      ...(ui.kinship.value === '' ? {} : { kinship: ui.kinship.value }),
      test: ui.test.value as 'fixed' | 'exact',
      maf: Number(ui.maf.value),
      maxMissing: Number(ui.missing.value),
    },
    'the scan',
  );
});

ui.example.addEventListener('click', () => {
  start(
    {
      files: new Map(),
      genotypes: { example: { samples: 1000, variants: 10000, seed: 1 } },
      test: ui.test.value as 'fixed' | 'exact',
      maf: Number(ui.maf.value),
      maxMissing: Number(ui.missing.value),
    },
    'the example',
  );
});

ui.cancel.addEventListener('click', () => {
  // terminate() stops the worker where it is, mid-batch included, and with it the scan workers it started.
  worker?.terminate();
  worker = undefined;
  setRunning(false);
  ui.bar.style.width = '0';
  ui.eta.textContent = '';
  setStatus('Cancelled. Ready.');
});

function failed(message: string): void {
  showError(message);
  setRunning(false);
  ui.eta.textContent = '';
  setStatus('Stopped on an error. Ready.');
}

function onWorker(m: FromWorker): void {
  if (m.type === 'event') onEvent(m.event);
  else if (m.type === 'error') failed(m.message);
  else if (m.type === 'file') save(m.name, m.blob);
  else void done(m.summary);
}

function onEvent(e: JobEvent): void {
  if (e.type === 'stage') {
    stageStart = performance.now();
    setStatus(`${e.stage[0]!.toUpperCase()}${e.stage.slice(1)}...`);
    ui.bar.style.width = '0';
    ui.eta.textContent = '';
  } else if (e.type === 'progress') {
    ui.bar.style.width = `${(100 * e.fraction).toFixed(1)}%`;
    const spent = (performance.now() - stageStart) / 1000;
    const eta = e.fraction > 0 ? (spent * (1 - e.fraction)) / e.fraction : Number.NaN;
    ui.eta.textContent = `${e.stage}: ${e.done.toLocaleString('en')} of ${e.total.toLocaleString('en')}${Number.isFinite(eta) && e.fraction < 1 ? `, about ${eta < 1 ? '<1' : Math.round(eta)} s left` : ''}`;
  } else if (e.type === 'samples') {
    ui.samples.textContent = [e.text, ...e.reasons].join('\n');
    ui.samplesBox.hidden = false;
  } else if (e.type === 'null') {
    showNull(e.report);
  }
}

function showNull(r: NullModelReport): void {
  const g = (x: number): string => x.toPrecision(4);
  const rows: [string, string][] =
    r.model === 'kinship'
      ? [
          ['model', 'kinship, REML'],
          ['sigma_g^2', g(r.sigmaG2)],
          ['sigma_e^2', g(r.sigmaE2)],
          ['h2', g(r.h2)],
          ['log-likelihood', g(r.logLik)],
        ]
      : r.model === 'lowrank'
        ? [
            ['model', 'low rank, REML'],
            ['cr', g(r.cr)],
            ['cn', g(r.cn)],
          ]
        : r.model === 'inf'
          ? [
              ['model', 'infinitesimal, Monte Carlo REML'],
              ['sigma_g^2', g(r.sigmaG2)],
              ['sigma_e^2', g(r.sigmaE2)],
              ['h2', g(r.h2)],
            ]
          : [
              ['model', 'none (OLS)'],
              ['sigma^2', g(r.sigma2)],
            ];
  ui.null.replaceChildren(
    ...rows.map(([k, v]) => {
      const tr = document.createElement('tr');
      for (const t of [k, v]) tr.appendChild(document.createElement('td')).textContent = t;
      return tr;
    }),
  );
  ui.nullBox.hidden = false;
}

// Results.

/** The next task of the page's event loop: drawing the results in steps keeps each main-thread task short. */
const nextTask = (): Promise<void> => new Promise((ok) => setTimeout(ok, 0));

async function done(s: RunSummary): Promise<void> {
  ui.results.dataset.received = String(performance.now());
  summary = s;
  setRunning(false);
  ui.bar.style.width = '100%';
  const v = s.report.variants;
  setStatus(`Done: ${v.tests.toLocaleString('en')} tests of trait '${s.trait}' on ${s.report.samples} samples in ${s.report.seconds.toFixed(1)} s.`);
  ui.eta.textContent = `${v.filtered.toLocaleString('en')} of ${v.selected.toLocaleString('en')} variants left out by the filters`;
  options(
    ui.format,
    s.formats.map((f) => [f, f]),
  );
  await nextTask();
  ui.manhattan.srcdoc = new TextDecoder().decode(s.manhattanHtml);
  await nextTask();
  ui.qq.innerHTML = s.qqShown;
  ui.lambda.textContent = `QQ plot; lambda_GC = ${s.lambdaGc.toFixed(4)}`;
  await nextTask();
  showHits(s, 'log10p', 1);
  ui.results.hidden = false;
  ui.results.dataset.done = String(performance.now());
}

// The interactive page shows id, position and p on hover; alleles and beta are added here.
ui.manhattan.addEventListener('load', () => {
  const doc = ui.manhattan.contentDocument;
  const tip = doc?.getElementById('lmk-tip');
  if (doc === null || doc === undefined || tip === null || tip === undefined) return;
  doc.addEventListener('mouseover', (e) => {
    const more = (e.target as Element).getAttribute?.('data-more');
    if (typeof more === 'string') tip.textContent = `${tip.textContent}  ${more}`;
  });
});

type HitKey = 'chrom' | 'pos' | 'id' | 'a1' | 'a2' | 'af' | 'beta' | 'se' | 'pvalue' | 'log10p';
const HIT_COLUMNS: [HitKey, string][] = [
  ['chrom', 'chrom'],
  ['pos', 'pos'],
  ['id', 'id'],
  ['a1', 'EA'],
  ['a2', 'OA'],
  ['af', 'eaf'],
  ['beta', 'beta'],
  ['se', 'se'],
  ['pvalue', 'p'],
  ['log10p', '-log10 p'],
];

const hitsCaption = ui.hits.caption ?? ui.hits.createCaption();

function showHits(s: RunSummary, key: HitKey, dir: 1 | -1): void {
  const hits = [...s.hits].sort((a, b) => {
    const x = a[key];
    const y = b[key];
    return dir * (typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y), 'en', { numeric: true }));
  });
  const head = document.createElement('tr');
  for (const [k, label] of HIT_COLUMNS) {
    const th = head.appendChild(document.createElement('th'));
    th.textContent = label;
    if (k === key) th.setAttribute('aria-sort', (k === 'log10p' ? -dir : dir) > 0 ? 'ascending' : 'descending');
    th.addEventListener('click', () => showHits(s, k, k === key ? (-dir as 1 | -1) : 1));
  }
  const g = (x: number): string => (Number.isFinite(x) ? x.toPrecision(4) : 'NA');
  const rows = hits.map((h) => {
    const tr = document.createElement('tr');
    const p = h.pvalue < 1e-3 ? h.pvalue.toExponential(2) : g(h.pvalue);
    const cells = [h.chrom, String(h.pos), h.id, h.a1, h.a2, g(h.af), g(h.beta), g(h.se), p, g(-h.log10p)];
    for (const c of cells) tr.appendChild(document.createElement('td')).textContent = c;
    return tr;
  });
  ui.hits.replaceChildren(hitsCaption, head, ...rows);
}

function save(name: string, blob: Blob): void {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

/** A PNG of an SVG document, drawn on a canvas at twice its size. */
async function pngOf(svg: Uint8Array<ArrayBuffer>): Promise<Blob> {
  const url = URL.createObjectURL(new Blob([svg], { type: 'image/svg+xml' }));
  try {
    const img = new Image();
    img.src = url;
    await img.decode();
    const canvas = document.createElement('canvas');
    canvas.width = img.naturalWidth * 2;
    canvas.height = img.naturalHeight * 2;
    const ctx = canvas.getContext('2d')!;
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
    return await new Promise<Blob>((ok, no) => canvas.toBlob((b) => (b === null ? no(new Error('PNG encoding failed')) : ok(b)), 'image/png'));
  } finally {
    URL.revokeObjectURL(url);
  }
}

const base = (): string => `lmmkit-web.${summary?.trait.replace(/[^A-Za-z0-9._-]/g, '_') ?? 'results'}`;
$('dl-table').addEventListener('click', () => post({ type: 'table', format: ui.format.value as OutFormat, gz: ui.gz.checked }));
$('dl-json').addEventListener('click', () => post({ type: 'report' }));
$('dl-man-svg').addEventListener('click', () => summary && save(`${base()}.manhattan.svg`, new Blob([summary.manhattanSvg], { type: 'image/svg+xml' })));
$('dl-qq-svg').addEventListener('click', () => summary && save(`${base()}.qq.svg`, new Blob([summary.qqSvg], { type: 'image/svg+xml' })));
$('dl-man-png').addEventListener('click', () => summary && void pngOf(summary.manhattanSvg).then((b) => save(`${base()}.manhattan.png`, b), (e: Error) => showError(e.message)));
$('dl-qq-png').addEventListener('click', () => summary && void pngOf(summary.qqSvg).then((b) => save(`${base()}.qq.png`, b), (e: Error) => showError(e.message)));

void refreshInputs();
