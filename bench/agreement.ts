// How two sets of association statistics agree (the infinitesimal model's
// bench and tests: lmmkit against BOLT-LMM or against the exact path).

/** Pearson's correlation of two equally long series. */
export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i]! / n;
    mb += b[i]! / n;
  }
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (a[i]! - ma) * (b[i]! - mb);
    saa += (a[i]! - ma) ** 2;
    sbb += (b[i]! - mb) ** 2;
  }
  return sab / Math.sqrt(saa * sbb);
}

/** Statistics by variant id compared over the ids both have (finite values): correlation, mean of a over mean of b, and the count. */
export function statAgreement(a: ReadonlyMap<string, number>, b: ReadonlyMap<string, number>): { corr: number; meanRatio: number; n: number } {
  const xs: number[] = [];
  const ys: number[] = [];
  for (const [id, x] of a) {
    const y = b.get(id);
    if (y !== undefined && Number.isFinite(x) && Number.isFinite(y)) {
      xs.push(x);
      ys.push(y);
    }
  }
  const mean = (v: number[]): number => v.reduce((t, x) => t + x, 0) / v.length;
  return { corr: pearson(xs, ys), meanRatio: mean(xs) / mean(ys), n: xs.length };
}
