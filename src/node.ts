/**
 * lmmkit/node: everything of `lmmkit` (src/index.ts) plus what needs Node:
 * files by path, writers, PNG rendering, worker threads, terminal progress
 * bars, and the native OpenBLAS/LAPACKE backend, registered on import so that
 * `getBackend()` picks it when it loads. A Node user imports from here only.
 */
// First, so that the native backend is known before anything chooses one.
import './linalg/native/register.js';

export * from './index.js';

// Readers by path.
export { openFileSource } from './data/node/files.js';
export { openBed } from './data/node/bed.js';
export { openPgen } from './data/node/pgen.js';
export { openBgen, type OpenBgenOptions } from './data/node/bgen.js';
export { readFrame, readKinship, readTable } from './data/node/tables.js';
export { openBimbam, BimbamReader, type OpenBimbamOptions } from './data/bimbam.js';
export { openVcf } from './data/node/vcf.js';
export { readAssocFile } from './plot/node.js';

// Null-model files.
export { loadNullModel, saveNullModel } from './nullmodel/node.js';

// Writers of files.
export { StagedFile, StagedOutputs, withStagedOutputs, writeAtomically } from './data/atomic.js';
export { formatNumber, writeMatrixTsv, writeTsv, type Column } from './data/write-tsv.js';
export { writeBed } from './data/plink/write-bed.js';

// PNG rendering and plot files.
export { plotBytes, plotFormat, renderPng, writePlot, type PngOptions } from './plot/node.js';

// Worker threads, terminal progress.
export { mmEstParallel, type MmEstParallelOptions } from './varcomp/mmest-parallel.js';
export { progressReporter, type ProgressReporter, type ProgressStream } from './data/node/progress.js';

// The workflows: what each `lmmkit` command runs, from files to files, in one call.
export * from './workflow/index.js';
