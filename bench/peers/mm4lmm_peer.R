# Runs MM4LMM's MMEst on data a bench wrote and prints one line
# "LMMKIT_PEER {json}" of timings. Driven by bench/peers.ts:
#
#   Rscript mm4lmm_peer.R LIB JOB DIR N [M]
#
# LIB: the R library holding MM4LMM (scripts/setup-peers.sh). DIR holds raw
# little-endian float64 column-major files: y.f64 (N) and
#   gwas   K.f64 (N x N), X.f64 (N x M): MMEst(y, X = X, VarList = list(Additive = K,
#          Error = I), Method = "Reml", NbCores = 1), one model per marker;
#          writes each marker's Wald chi2 (beta^2 / var) to DIR/wald.f64
#   three  K1.f64, K2.f64, K3.f64 (N x N): MMEst(y, VarList = list(K1, K2, K3, Error = I),
#          Method = "Reml")
# Only the MMEst call is timed (elapsed seconds); reading the files is not.
args <- commandArgs(trailingOnly = TRUE)
lib <- args[1]
job <- args[2]
dir <- args[3]
n <- as.integer(args[4])
suppressMessages(library(MM4LMM, lib.loc = lib))

rd <- function(name, len) {
  path <- file.path(dir, name)
  x <- readBin(path, "double", n = len + 1, size = 8, endian = "little")
  if (length(x) != len) stop(sprintf("%s: expected %d values, found %d", path, len, length(x)))
  x
}
y <- rd("y.f64", n)
num <- function(x) formatC(x, digits = 17, format = "g")

if (job == "gwas") {
  m <- as.integer(args[5])
  k <- matrix(rd("K.f64", n * n), n, n)
  x <- matrix(rd("X.f64", n * m), n, m)
  colnames(x) <- paste0("X", seq_len(m))
  t <- system.time(res <- MMEst(Y = y, X = x, VarList = list(Additive = k, Error = diag(n)), Method = "Reml", NbCores = 1, Verbose = FALSE))[["elapsed"]]
  wald <- vapply(res, function(r) {
    p <- length(r$Beta)
    r$Beta[p]^2 / r$VarBeta[p, p]
  }, 0)
  writeBin(as.double(wald), file.path(dir, "wald.f64"), size = 8, endian = "little")
  it <- vapply(res, function(r) as.double(r$NbIt), 0)
  cat(sprintf("LMMKIT_PEER {\"seconds\": %s, \"models\": %d, \"meanNbIt\": %s}\n", num(t), length(res), num(mean(it))))
} else if (job == "three") {
  ks <- lapply(1:3, function(i) matrix(rd(sprintf("K%d.f64", i), n * n), n, n))
  vl <- list(K1 = ks[[1]], K2 = ks[[2]], K3 = ks[[3]], Error = diag(n))
  t <- system.time(res <- MMEst(Y = y, VarList = vl, Method = "Reml", Verbose = FALSE))[["elapsed"]]
  r <- res[[1]]
  cat(sprintf(
    "LMMKIT_PEER {\"seconds\": %s, \"nbIt\": %d, \"logLik\": %s, \"sigma2\": [%s]}\n",
    num(t), as.integer(r$NbIt), num(r$LogLik), paste(num(r$Sigma2), collapse = ", ")
  ))
} else {
  stop(sprintf("unknown job '%s' (expected gwas or three)", job))
}
