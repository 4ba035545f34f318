// Numerical failures re-raised in a run's own terms (issue 13, item 11).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ArgumentError, DomainError, NotPositiveDefiniteError, NumericalError } from '../../src/errors.js';
import { fitInContextSync, inContext, withoutInternalNames } from '../../src/workflow/fit-context.js';

test('internal names are dropped from the front of a message, and only there', () => {
  assert.equal(withoutInternalNames('mmRotated: init[0] = 0: every starting variance must be > 0'), 'init[0] = 0: every starting variance must be > 0');
  assert.equal(withoutInternalNames('KronSumCovariance: Cg has a non-finite entry'), 'Cg has a non-finite entry');
  assert.equal(withoutInternalNames('betaIncInverse(1, 2, 0.5, 0.5): no root'), 'no root');
  assert.equal(withoutInternalNames('FreeFormCov.setParams: parameter 2 is not finite'), 'parameter 2 is not finite');
  assert.equal(withoutInternalNames("trait 't1': 4 samples"), "trait 't1': 4 samples");
  assert.equal(withoutInternalNames('y is constant: give init'), 'y is constant: give init');
});

test('numerical failures keep their family and gain the context; other errors pass unchanged', () => {
  const ctx = "trait 't1' of p.tsv (40 samples): cannot fit the null model";
  const n = inContext(new NumericalError('syevd: did not converge'), ctx);
  assert.ok(n instanceof NumericalError);
  assert.equal((n as Error).message, `${ctx}: did not converge`);
  const d = inContext(new DomainError('KinshipCovariance: K is singular'), ctx);
  assert.ok(d instanceof DomainError);
  assert.equal((d as Error).message, `${ctx}: K is singular`);
  const p = inContext(new NotPositiveDefiniteError('potrf', 3, 2), ctx);
  assert.ok(p instanceof NumericalError);
  assert.match((p as Error).message, /^trait 't1' .*: the 3x3 matrix is not positive definite \(leading minor of order 2/);
  const a = new ArgumentError('--maf: expected a number');
  assert.equal(inContext(a, ctx), a);
  assert.throws(
    () =>
      fitInContextSync(ctx, () => {
        throw new NumericalError('mmDense: V is singular');
      }),
    { message: `${ctx}: V is singular` },
  );
  assert.equal(
    fitInContextSync(ctx, () => 7),
    7,
  );
});
