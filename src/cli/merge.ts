// `lmmkit merge`: joins the parts of a chunked scan (gwas/mtgwas/varcomp fit --chunk).
import { Command } from 'commander';
import { runMerge } from '../workflow/index.js';
import { bad, printLine, runMetadata, warnOnce } from './common.js';

const HELP_AFTER = `
PARTS are part manifests (PREFIX.part-I-of-N.manifest.json), part prefixes
(PREFIX.part-I-of-N) or folders holding them. Every chunk 1..N must be given
exactly once, all from one run (same command, inputs, options); each part
file's sha256 must match its manifest. Any failed check is an error naming
the part, and nothing is written.
The outputs are those one unsplit run with --out PREFIX writes, byte for byte
(every table dialect, --gz with its .tbi, --plot), except in PREFIX.json the
run block (the merge's) and seconds (the parts' sum).
`;

/** The `merge` command. */
export function mergeCommand(): Command {
  return new Command('merge')
    .description('join the parts of a chunked gwas, mtgwas or varcomp fit scan (--chunk I/N) into the outputs of one run')
    .argument('<parts...>', 'part manifests, part prefixes or folders of parts')
    .option('--out <prefix>', 'output prefix (required), as the unsplit run would take')
    .addHelpText('after', HELP_AFTER)
    .action(async (parts: string[], opts: { out?: string }) => {
      if (opts.out === undefined) throw bad('merge: expected --out PREFIX, found none');
      await runMerge({ parts, out: opts.out, log: printLine, warn: warnOnce, run: runMetadata() });
    });
}
