# Reference values for lmmkit's Kenward-Roger tests (test/kr.test.ts):
# simulates four mixed-model designs with a fixed seed, fits each by REML
# with lme4, and runs pbkrtest::KRmodcomp on every Type III term and on a few
# extra contrasts. Writes, per design, the simulated data (CSV) and the
# results (JSON, numbers with %.17g) into test/fixtures/kr/.
#
#   Rscript scripts/kr-reference.R            (from the repository root)
#
# Needs R with lme4 and pbkrtest (Debian: apt-get install r-cran-lme4
# r-cran-pbkrtest). The tests read the committed files only, so running the
# test suite does not need R.
suppressPackageStartupMessages({
  library(lme4)
  library(pbkrtest)
})

SEED <- 20240611L
set.seed(SEED)
out_dir <- file.path("test", "fixtures", "kr")
dir.create(out_dir, recursive = TRUE, showWarnings = FALSE)

# --- a tiny JSON writer with full precision ------------------------------------
num <- function(x) ifelse(is.na(x), "null", sprintf("%.17g", x))
json <- function(x) {
  if (is.null(x)) return("null")
  if (is.list(x)) {
    if (!is.null(names(x))) {
      items <- vapply(names(x), function(k) paste0('"', k, '": ', json(x[[k]])), "")
      return(paste0("{", paste(items, collapse = ", "), "}"))
    }
    return(paste0("[", paste(vapply(x, json, ""), collapse = ", "), "]"))
  }
  if (is.matrix(x)) {
    rows <- vapply(seq_len(nrow(x)), function(i) json(as.numeric(x[i, ])), "")
    return(paste0("[", paste(rows, collapse = ", "), "]"))
  }
  if (is.character(x)) {
    s <- paste0('"', gsub('"', '\\\\"', x), '"')
    return(if (length(x) == 1 && is.null(attr(x, "array"))) s else paste0("[", paste(s, collapse = ", "), "]"))
  }
  if (is.logical(x) && length(x) == 1) return(if (x) "true" else "false")
  s <- num(as.numeric(x))
  if (length(x) == 1 && is.null(attr(x, "array"))) s else paste0("[", paste(s, collapse = ", "), "]")
}
arr <- function(x) { attr(x, "array") <- TRUE; x }   # a length-1 vector still written as an array

write_csv <- function(df, path) {
  cols <- lapply(df, function(v) if (is.numeric(v)) sprintf("%.17g", v) else as.character(v))
  lines <- c(paste(names(df), collapse = ","), do.call(paste, c(cols, sep = ",")))
  writeLines(lines, path)
}

# --- fit, test, write ------------------------------------------------------------
ctrl <- lmerControl(optimizer = "bobyqa", optCtrl = list(rhoend = 1e-12, maxfun = 1e5))

run_design <- function(name, description, data, lme4_formula, lmmkit_formula, components, extra) {
  fit <- lmer(lme4_formula, data = data, REML = TRUE, control = ctrl)
  vc <- as.data.frame(VarCorr(fit))
  variances <- setNames(as.list(vc$vcov), ifelse(vc$grp == "Residual", "Error", vc$grp))
  X <- getME(fit, "X")
  beta <- fixef(fit)
  p <- length(beta)
  assign <- attr(X, "assign")
  terms_lab <- c("(Intercept)", attr(terms(fit), "term.labels"))
  tests <- list()
  # Type III: one test per term (the identity rows at its coefficients).
  for (a in unique(assign)) {
    idx <- which(assign == a)
    L <- matrix(0, length(idx), p)
    for (r in seq_along(idx)) L[r, idx[r]] <- 1
    tests[[length(tests) + 1]] <- list(name = terms_lab[a + 1], kind = "term", L = L)
  }
  for (nm in names(extra)) tests[[length(tests) + 1]] <- list(name = nm, kind = "contrast", L = extra[[nm]])
  phiA <- as.matrix(vcovAdj(fit))
  results <- lapply(tests, function(t) {
    k <- KRmodcomp(fit, t$L)
    s <- k$stats
    list(name = t$name, kind = t$kind, L = t$L, F = s$Fstat, FUnscaled = s$FstatU, ndf = s$ndf, ddf = s$ddf,
         scaling = s$F.scaling, pValue = s$p.value, pValueUnscaled = s$p.valueU)
  })
  write_csv(data, file.path(out_dir, paste0(name, ".csv")))
  out <- list(
    design = name,
    description = description,
    seed = SEED,
    R = R.version.string,
    lme4 = as.character(packageVersion("lme4")),
    pbkrtest = as.character(packageVersion("pbkrtest")),
    n = nrow(data),
    lme4Formula = paste(deparse(lme4_formula), collapse = ""),
    formula = lmmkit_formula,
    # The variance components in lmmkit's order (random effects, then the
    # error), each with the CSV column that codes its groups.
    components = components,
    variances = variances,
    remlLogLik = as.numeric(logLik(fit)),
    betaNames = arr(names(beta)),
    beta = arr(unname(beta)),
    varBeta = as.matrix(vcov(fit)),
    varBetaAdj = unname(phiA),
    tests = results
  )
  writeLines(json(out), file.path(out_dir, paste0(name, ".json")))
  cat(sprintf("%-11s n=%4d  %s\n", name, nrow(data), paste(sprintf("%s: F=%.6g ddf=%.6g", vapply(results, `[[`, "", "name"),
    vapply(results, function(r) r$F, 0), vapply(results, function(r) r$ddf, 0)), collapse = "; ")))
}

lvl <- function(prefix, k) sprintf("%s%02d", prefix, k)

# 1. Random intercept: 25 groups of 4 to 12, a covariate and a 3-level treatment.
local({
  sizes <- sample(4:12, 25, replace = TRUE)
  g <- rep(lvl("g", 1:25), sizes)
  n <- length(g)
  x1 <- rnorm(n)
  trt <- sample(c("A", "B", "C"), n, replace = TRUE)
  u <- rnorm(25, sd = 1)[match(g, lvl("g", 1:25))]
  y <- 1 + 0.5 * x1 + c(A = 0, B = 0.3, C = -0.2)[trt] + u + rnorm(n, sd = 1.5)
  d <- data.frame(y = y, x1 = x1, trt = trt, g = g, stringsAsFactors = FALSE)
  run_design("ri", "random intercept: 25 groups of 4 to 12 observations; y ~ x1 + trt + (1 | g)",
    d, y ~ x1 + trt + (1 | g), "~ x1 + trt", list(list(name = "g", column = "g"), list(name = "Error")),
    list("B-C" = matrix(c(0, 0, 1, -1), 1), "x1+trt" = rbind(c(0, 1, 0, 0), c(0, 0, 1, 0), c(0, 0, 0, 1))))
})

# 2. Two crossed random intercepts: 24 subjects x 16 items, each subject sees
#    a random 70% of the items; the condition is an item property.
local({
  subj <- lvl("s", 1:24)
  item <- lvl("i", 1:16)
  grid <- expand.grid(item = item, subj = subj, stringsAsFactors = FALSE)
  grid <- grid[runif(nrow(grid)) < 0.7, ]
  n <- nrow(grid)
  cond_item <- setNames(rep(c("ctl", "trt"), each = 8)[sample(16)], item)
  cond <- unname(cond_item[grid$item])
  x <- rnorm(n)
  us <- rnorm(24, sd = 0.8)[match(grid$subj, subj)]
  ui <- rnorm(16, sd = 0.5)[match(grid$item, item)]
  y <- 2 + 0.4 * (cond == "trt") - 0.3 * x + us + ui + rnorm(n, sd = 1)
  d <- data.frame(y = y, cond = cond, x = x, subj = grid$subj, item = grid$item, stringsAsFactors = FALSE)
  run_design("crossed", "two crossed random intercepts: 24 subjects x 16 items, 70% of the cells observed; y ~ cond + x + (1 | subj) + (1 | item)",
    d, y ~ cond + x + (1 | subj) + (1 | item), "~ cond + x", list(list(name = "subj", column = "subj"), list(name = "item", column = "item"), list(name = "Error")),
    list("cond+x" = rbind(c(0, 1, 0), c(0, 0, 1))))
})

# 3. Nested random intercepts: 8 schools, 3 to 5 classes each, 4 to 10
#    pupils per class; the treatment is given to whole classes.
local({
  ncls <- sample(3:5, 8, replace = TRUE)
  school_of_class <- rep(lvl("S", 1:8), ncls)
  class_id <- sprintf("%s.c%d", school_of_class, sequence(ncls))
  trt_class <- sample(c("no", "yes"), length(class_id), replace = TRUE)
  npup <- sample(4:10, length(class_id), replace = TRUE)
  class <- rep(class_id, npup)
  school <- rep(school_of_class, npup)
  trt <- rep(trt_class, npup)
  n <- length(class)
  ses <- rnorm(n)
  y <- 10 + 1.2 * (trt == "yes") + 0.6 * ses + rnorm(8, sd = 1.2)[match(school, lvl("S", 1:8))] +
    rnorm(length(class_id), sd = 0.9)[match(class, class_id)] + rnorm(n, sd = 2)
  d <- data.frame(y = y, trt = trt, ses = ses, school = school, class = class, stringsAsFactors = FALSE)
  run_design("nested", "nested random intercepts: 8 schools, 3 to 5 classes each, 4 to 10 pupils per class, treatment by class; y ~ trt + ses + (1 | school) + (1 | school:class)",
    d, y ~ trt + ses + (1 | school) + (1 | school:class), "~ trt + ses", list(list(name = "school", column = "school"), list(name = "school:class", column = "class"), list(name = "Error")),
    list("trt+ses" = rbind(c(0, 1, 0), c(0, 0, 1))))
})

# 4. Strongly unbalanced groups: 16 groups of 1 to 90 observations, a
#    group-level and an observation-level covariate and a 2-level factor.
local({
  sizes <- c(1, 1, 1, 2, 2, 3, 3, 5, 8, 13, 21, 34, 55, 90, 2, 4)
  gid <- lvl("u", seq_along(sizes))
  g <- rep(gid, sizes)
  n <- length(g)
  zg <- rnorm(length(sizes))[match(g, gid)]
  x <- rnorm(n)
  f <- sample(c("a", "b"), n, replace = TRUE, prob = c(0.8, 0.2))
  y <- -1 + 0.7 * zg + 0.2 * x + 0.5 * (f == "b") + rnorm(length(sizes), sd = 1.5)[match(g, gid)] + rnorm(n, sd = 1)
  d <- data.frame(y = y, x = x, zg = zg, f = f, g = g, stringsAsFactors = FALSE)
  run_design("unbalanced", "strongly unbalanced groups: 16 groups of 1 to 90 observations; y ~ x + zg + f + (1 | g)",
    d, y ~ x + zg + f + (1 | g), "~ x + zg + f", list(list(name = "g", column = "g"), list(name = "Error")),
    list("x-zg" = matrix(c(0, 1, -1, 0), 1), "x+zg+f" = rbind(c(0, 1, 0, 0), c(0, 0, 1, 0), c(0, 0, 0, 1))))
})
