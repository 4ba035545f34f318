// The trait columns of a phenotype table, from its first line, for the
// page's trait list (the worker reads the table itself, as the CLI does).

/**
 * The column names after the sample ids of a header line (FID IID ..., or
 * IID ..., tab-, comma- or space-separated, a leading # allowed); none for
 * a table without a header (the CLI then takes its columns in order).
 */
export function phenotypeColumns(text: string): string[] {
  const first = text.replace(/^\uFEFF/, '').split(/\r?\n/, 1)[0] ?? '';
  const fields = first
    .replace(/^#/, '')
    .trim()
    .split(first.includes('\t') ? '\t' : first.includes(',') ? ',' : /\s+/)
    .map((f) => f.trim());
  const ids = ['FID', 'IID'].includes(fields[0]?.toUpperCase() ?? '') ? (fields[1]?.toUpperCase() === 'IID' ? 2 : 1) : 0;
  return ids === 0 ? [] : fields.slice(ids).filter((f) => f !== '');
}
