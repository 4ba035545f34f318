// Scatter points as one compact SVG path per colour, thinned on a pixel grid.
// Browser-safe.
//
// A point is a zero-length subpath ("m dx dy h0") stroked with round caps:
// ~10 bytes per point instead of ~40 for a <circle>, and one element per
// colour for the renderer. Points marked thinnable (the bulk of a GWAS, p
// above 0.01) are drawn only when no earlier point of the same layer fell in
// their grid cell (1 px by default): with dots 4 px wide, a dropped point
// lies within a pixel of a drawn one, so the picture is the same to the eye,
// and the number drawn is bounded by the pixels of the band they occupy, not
// by the number of variants. Points not marked (the associated tail) are
// always drawn, but a point whose rounded coordinates (0.1 px) repeat those
// of a drawn point is the same dot and is not written twice (a QQ plot's
// tail holds 100 000 points of 10 million null p-values on a few hundred
// pixels of diagonal: ~5000 distinct dots).

/** One colour of points. */
export class DotLayer {
  private readonly grid: Uint8Array;
  private readonly cols: number;
  private readonly rows: number;
  private readonly inv: number;
  private readonly parts: string[] = [];
  private readonly seen = new Set<number>();
  private x = 0;
  private y = 0;
  /** Points written. */
  drawn = 0;
  /** Points not written: thinned on the grid, or repeating a drawn point at 0.1 px. */
  thinned = 0;

  /** A layer over a `width` x `height` picture, thinning on cells of `cell` px. */
  constructor(width: number, height: number, cell: number) {
    this.inv = 1 / cell;
    this.cols = Math.max(1, Math.ceil(width * this.inv) + 1);
    this.rows = Math.max(1, Math.ceil(height * this.inv) + 1);
    this.grid = new Uint8Array(this.cols * this.rows);
  }

  /**
   * Adds a point at pixel (px, py); `thin`: drop it when its cell already
   * holds a point. Returns whether it is drawn.
   */
  add(px: number, py: number, thin: boolean): boolean {
    if (thin) {
      let cx = Math.floor(px * this.inv);
      let cy = Math.floor(py * this.inv);
      cx = cx < 0 ? 0 : cx >= this.cols ? this.cols - 1 : cx;
      cy = cy < 0 ? 0 : cy >= this.rows ? this.rows - 1 : cy;
      const k = cy * this.cols + cx;
      if (this.grid[k] === 1) {
        this.thinned++;
        return false;
      }
      this.grid[k] = 1;
    }
    const x = Math.round(px * 10);
    const y = Math.round(py * 10);
    if (!thin) {
      const key = x * 1048576 + y;
      if (this.seen.has(key)) {
        this.thinned++;
        return false;
      }
      this.seen.add(key);
    }
    if (this.drawn === 0) this.parts.push(`M${x / 10} ${y / 10}h0`);
    else {
      const dy = y - this.y;
      this.parts.push(`m${(x - this.x) / 10}${dy < 0 ? '' : ' '}${dy / 10}h0`);
    }
    this.x = x;
    this.y = y;
    this.drawn++;
    return true;
  }

  /** The layer as a <path> element of dots of `radius` px in `color` (empty when it has no point). */
  svg(color: string, radius: number, extra = ''): string {
    if (this.drawn === 0) return '';
    return `<path fill="none" stroke="${color}" stroke-width="${2 * radius}" stroke-linecap="round"${extra} d="${this.parts.join('')}"/>\n`;
  }
}
