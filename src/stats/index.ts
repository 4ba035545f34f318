/** Distribution functions accurate far into the tails (p-values below 1e-300). */

export { chi2Cdf, chi2Isf, chi2IsfLog10, chi2Log10Sf, chi2LogPdf, chi2LogSf, chi2Pdf, chi2Quantile, chi2Sf } from './chi2.js';
export { fCdf, fIsf, fIsfLog10, fLog10Sf, fLogPdf, fLogSf, fPdf, fQuantile, fSf } from './f.js';
export {
  normalCdf,
  normalIsf,
  normalIsfLog10,
  normalLog10Sf,
  normalLogPdf,
  normalLogSf,
  normalPdf,
  normalQuantile,
  normalSf,
} from './normal.js';
export {
  tCdf,
  tIsf,
  tIsfLog10,
  tLog10Sf,
  tLogPdf,
  tLogSf,
  tPdf,
  tQuantile,
  tSf,
  tTwoSidedLog10Sf,
  tTwoSidedLogSf,
  tTwoSidedSf,
} from './t.js';
