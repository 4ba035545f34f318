// `lmmkit web`: serves the web app on 127.0.0.1 until interrupted.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { ArgumentError } from '../errors.js';
import { startWebServer, WEB_ROOT } from '../workflow/web-server.js';
import { printLine } from './common.js';

/** Parses a TCP port (0: any free one), else a BAD_ARGUMENT. */
function port(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isInteger(n) || n < 0 || n > 65535) throw new ArgumentError(`--port: expected an integer from 0 to 65535, found '${v}'`);
  return n;
}

/** Opens `url` in the desktop's browser (best effort: the URL is printed either way). */
function openBrowser(url: string): void {
  const cmd = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  const child = spawn(cmd, [url], { stdio: 'ignore', detached: true });
  child.on('error', () => printLine(`lmmkit web: could not start ${cmd}; open ${url} yourself`));
  child.unref();
}

/** `lmmkit web`. */
export function webCommand(): Command {
  return new Command('web')
    .description('serve the web app (a GWAS in a browser tab; the data never leave the machine) on 127.0.0.1')
    .option('--port <p>', 'TCP port (0: any free port)', port, 8765)
    .option('--open', 'open the page in the default browser')
    .action(async (opts: { port: number; open?: boolean }) => {
      if (!existsSync(join(WEB_ROOT, 'index.html'))) throw new ArgumentError(`web: the built page is missing (${WEB_ROOT}); run 'npm run build'`);
      const web = await startWebServer({ port: opts.port });
      printLine(`lmmkit web: serving ${web.url} (only this machine can reach it; Ctrl-C stops it)`);
      if (opts.open === true) openBrowser(web.url);
      // Serves until the server closes; Ctrl-C (SIGINT) ends lmmkit as for every command.
      await new Promise<void>((done) => web.server.once('close', () => done()));
    });
}
