"""Compatibility shims that let limix-lmm 0.1.2 and limix-core 1.0.2 run
unchanged on today's numpy and scipy. Import this module before limix.

What it does, and why:

1. limix calls numpy's functions through the scipy namespace (``sp.dot``,
   ``sp.zeros``, ``sp.log``, ``sp.randn``, ...). SciPy deprecated these
   aliases in 1.4 (each call then goes through a wrapper that issues a
   DeprecationWarning) and removed them in 1.12. The shim binds each name
   limix uses to numpy's own function, so the code runs on any scipy and
   the bench does not time the deprecation wrappers.
2. ``sp.linalg``, ``sp.stats`` and ``sp.spatial`` are used as attributes of
   ``scipy`` without importing the submodules; the shim imports them.
3. The DeprecationWarnings of limix's own sources (invalid escape sequences
   in docstrings) are silenced so that they do not mix with the bench's output.

The peers' sources are never edited.
"""

import warnings

import numpy
import numpy.random
import scipy
import scipy.linalg
import scipy.spatial
import scipy.stats

warnings.filterwarnings("ignore", category=DeprecationWarning)
warnings.filterwarnings("ignore", category=SyntaxWarning)

# Every scipy.<name> that limix-lmm 0.1.2 and limix-core 1.0.2 use and that is numpy's
# (grep -rhoE '\bsp\.[a-zA-Z_]+' limix_lmm limix_core), less the scipy submodules.
_NUMPY_NAMES = (
    "any arange around array concatenate cov diag diagonal dot einsum exp eye "
    "isnan ix_ kron linspace log nan newaxis ones reshape sign sin sort sqrt sum "
    "tensordot tile trace tril_indices unique where zeros zeros_like "
    "absolute argsort inf isfinite log10 maximum mean minimum pi var"
).split()

for _name in _NUMPY_NAMES:
    setattr(scipy, _name, getattr(numpy, _name))
scipy.rand = numpy.random.rand
scipy.randn = numpy.random.randn
scipy.random = numpy.random
