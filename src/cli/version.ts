import { readFileSync } from 'node:fs';

/**
 * lmmkit's version, read from the package's own package.json (the one place
 * it is written), which sits three folders above this compiled module
 * (dist/src/cli/version.js).
 */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  if (typeof pkg.version !== 'string') throw new Error('lmmkit: package.json has no version');
  return pkg.version;
}
