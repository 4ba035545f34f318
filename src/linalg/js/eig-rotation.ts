/**
 * Plane rotations of two columns, shared by the QL, divide and conquer and
 * bidiagonal QR iterations. No Node APIs are used.
 */

/** Outside this range f^2 + g^2 may have lost accuracy to under- or overflow. */
const SAFE_MIN = 2 ** -960;
const SAFE_MAX = 2 ** 960;

/**
 * sqrt(f^2 + g^2), correctly rounded but for one rounding of the sum, and
 * without spurious over- or underflow. V8's Math.hypot scales its arguments
 * and is biased low by about 0.1 ulp (1.5 ulp at worst); the QR iterations
 * take thousands of rotations from it, and that bias shrank the large
 * singular values of a random 300 x 300 matrix by about 40 eps.
 */
export function hypot(f: number, g: number): number {
  const ss = f * f + g * g;
  return ss > SAFE_MIN && ss < SAFE_MAX ? Math.sqrt(ss) : Math.hypot(f, g);
}

/**
 * (x, y) := (c x + s y, c y - s x) on the columns of length `len` starting at
 * xOff and yOff of `z` (BLAS drot), for c^2 + s^2 = 1.
 *
 * Computed as x - (d x - s y) and y - (d y + s x) with d = 1 - c taken from
 * s, d = s^2 / (1 + c) (for c < 0, the rotation by (-c, -s), negated).
 * Iterations apply most of their rotations late, near the identity, where c
 * rounds to 1 and c^2 + s^2 exceeds 1 by up to an ulp; applied as c x + s y,
 * thousands of them make the column norms drift upwards. In this form the
 * rotation is orthogonal to working precision and each entry receives a
 * small, accurately computed correction: on random 300 x 300 bidiagonals it
 * cut the bidiagonal QR's ||U^T U - I|| threefold, to the level of LAPACK's
 * dbdsqr.
 */
export function rotatePair(len: number, z: Float64Array, xOff: number, yOff: number, c: number, s: number): void {
  const sign = c < 0 ? -1 : 1;
  const sp = sign * s;
  const d = (sp * sp) / (1 + sign * c);
  for (let i = 0; i < len; i++) {
    const x = z[xOff + i]!,
      y = z[yOff + i]!;
    z[xOff + i] = sign * (x - (d * x - sp * y));
    z[yOff + i] = sign * (y - (d * y + sp * x));
  }
}
