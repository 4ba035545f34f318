// Numbers as the written tables hold them (browser-safe).

/** A number as text that parses back to the same double; NaN is `NA`. */
export function formatNumber(x: number): string {
  return Number.isNaN(x) ? 'NA' : String(x);
}
