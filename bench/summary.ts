// The last step of `npm run bench`: prints the rows every bench appended to
// $LMMKIT_BENCH_SUMMARY/rows.jsonl as one table (job | lmmkit | peer (same
// run) | ratio | target), then removes that directory.
import { rmSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { collectedRows, summaryTable } from './summary-rows.js';

const dir = process.env.LMMKIT_BENCH_SUMMARY;
if (!dir) {
  console.log('bench summary: LMMKIT_BENCH_SUMMARY is not set (npm run bench sets it): nothing collected');
} else {
  const rows = collectedRows(dir);
  console.log('');
  console.log(`== summary of this run: ${cpus()[0]?.model ?? 'unknown CPU'}, ${availableParallelism()} CPUs, Node ${process.version} ==`);
  console.log(rows.length === 0 ? '(no bench recorded a row)' : summaryTable(rows));
  rmSync(dir, { recursive: true, force: true });
}
