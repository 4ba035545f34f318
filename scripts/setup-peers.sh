#!/usr/bin/env bash
# Sets up the peers that `npm run bench` runs on the same data in the same
# run: limix-lmm 0.1.2 + limix-core 1.0.2 (Python) and MM4LMM 3.0.3 (R), from
# source directories you give it. It installs nothing system-wide and never
# edits the peers' sources.
#
#   scripts/setup-peers.sh --limix-lmm DIR --limix-core DIR --mm4lmm DIR [--lib DIR]
#
# --limix-lmm, --limix-core  source trees of https://github.com/limix/limix-lmm
#                            (0.1.2, commit 0f0a987) and https://github.com/limix/limix-core
#                            (1.0.2, commit 5c590b4); nothing is built: they run from
#                            PYTHONPATH with scripts/limix_compat.py imported first.
# --mm4lmm                   the CRAN sources of MM4LMM 3.0.3 (e.g. https://github.com/cran/MM4LMM
#                            at tag 3.0.3, or the CRAN tarball unpacked); installed with
#                            `R CMD INSTALL -l LIB` into a private library.
# --lib                      that library (default: ./.peers/R-lib under the repository).
# Either peer may be left out; the bench then says it is not set up.
#
# What the peers need from the system (Debian 12 package names):
#   limix:  python3 python3-numpy python3-scipy python3-pandas (limix_lmm.util imports pandas);
#           scikit-learn is not needed by the bench (only by limix's quick start)
#   MM4LMM: r-base-dev (R, a C++ compiler) r-cran-rcpp r-cran-rcppeigen r-cran-matrix
#           r-cran-mass r-cran-dplyr r-cran-purrr r-cran-corpcor
#
# At the end it prints the environment variables the bench reads:
#   LMMKIT_PYTHON       the Python with numpy/scipy/pandas (default /usr/bin/python3)
#   LMMKIT_LIMIX_PATH   PYTHONPATH entries: limix-lmm and limix-core source trees
#   LMMKIT_MM4LMM_LIB   the R library that holds MM4LMM
# Set PYTHON=... to use another Python.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
python=${PYTHON:-/usr/bin/python3}
lmm='' core='' mm='' lib="$repo/.peers/R-lib"

die() { echo "setup-peers: $*" >&2; exit 1; }
while [ $# -gt 0 ]; do
  case "$1" in
    --limix-lmm) lmm=${2:?}; shift 2 ;;
    --limix-core) core=${2:?}; shift 2 ;;
    --mm4lmm) mm=${2:?}; shift 2 ;;
    --lib) lib=${2:?}; shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
[ -n "$lmm$core$mm" ] || die "give --limix-lmm DIR --limix-core DIR and/or --mm4lmm DIR (see --help)"

exports=()

if [ -n "$lmm$core" ]; then
  [ -n "$lmm" ] && [ -n "$core" ] || die "limix needs both --limix-lmm and --limix-core"
  lmm=$(cd "$lmm" && pwd) core=$(cd "$core" && pwd)
  [ -f "$lmm/limix_lmm/__init__.py" ] || die "$lmm: expected limix_lmm/__init__.py (a limix-lmm source tree), found none"
  [ -f "$core/limix_core/__init__.py" ] || die "$core: expected limix_core/__init__.py (a limix-core source tree), found none"
  [ -x "$python" ] || die "$python: not found (install python3, or set PYTHON)"
  for m in numpy scipy pandas; do
    "$python" -c "import $m" 2>/dev/null || die "$python lacks $m (Debian: apt-get install python3-$m)"
  done
  # limix-core reads its version from the installed distribution; from a source tree it says 'unknown'.
  version=$(PYTHONPATH="$here:$lmm:$core" "$python" -c '
import limix_compat
import limix_lmm, limix_core
from limix_lmm import LMM, MTLMM
from limix_core.gp import GP2KronSum, GP2KronSumLR
from limix_core.covar import FreeFormCov
import numpy, scipy
print(f"limix-lmm {limix_lmm.__version__} (numpy {numpy.__version__}, scipy {scipy.__version__})")
') || die "limix-lmm/limix-core do not import with $python (see the error above)"
  echo "setup-peers: $version imports under $python"
  grep -q "version='1.0.2'" "$core/setup.py" || echo "setup-peers: warning: $core/setup.py is not limix-core 1.0.2"
  exports+=("export LMMKIT_PYTHON=$python" "export LMMKIT_LIMIX_PATH=$lmm:$core")
fi

if [ -n "$mm" ]; then
  mm=$(cd "$mm" && pwd)
  [ -f "$mm/DESCRIPTION" ] || die "$mm: expected an R package source (DESCRIPTION), found none"
  v=$(sed -n 's/^Version: *//p' "$mm/DESCRIPTION")
  [ "$v" = 3.0.3 ] || echo "setup-peers: warning: $mm is MM4LMM $v, the bench's figures are for 3.0.3"
  command -v Rscript >/dev/null || die "Rscript not found (Debian: apt-get install r-base-dev)"
  missing=$(Rscript -e 'p <- c("Rcpp","RcppEigen","Matrix","MASS","dplyr","purrr","corpcor"); cat(p[!sapply(p, requireNamespace, quietly = TRUE)])')
  [ -z "$missing" ] || die "R lacks: $missing (Debian: apt-get install $(for p in $missing; do printf 'r-cran-%s ' "$(echo "$p" | tr A-Z a-z)"; done))"
  mkdir -p "$lib"
  lib=$(cd "$lib" && pwd)
  installed=$(Rscript -e "cat(tryCatch(as.character(packageVersion('MM4LMM', lib.loc = '$lib')), error = function(e) ''))")
  if [ "$installed" = "$v" ]; then
    echo "setup-peers: MM4LMM $v already in $lib"
  else
    echo "setup-peers: R CMD INSTALL -l $lib $mm (a minute or two) ..."
    R CMD INSTALL -l "$lib" "$mm" >"$lib/install-MM4LMM.log" 2>&1 || die "R CMD INSTALL failed; see $lib/install-MM4LMM.log"
  fi
  Rscript -e "suppressMessages(library(MM4LMM, lib.loc = '$lib')); cat('setup-peers: MM4LMM', as.character(packageVersion('MM4LMM', lib.loc = '$lib')), 'loads from $lib\n')"
  exports+=("export LMMKIT_MM4LMM_LIB=$lib")
fi

echo
echo "# for npm run bench:"
printf '%s\n' "${exports[@]}"
