// The plot layer: Manhattan and QQ plots as SVG strings, in Node and in a
// browser. Rasterising to PNG and reading/writing files are Node-only and
// live in `./png.js` and `./node.js`.
export { AssocTsvParser, compareChrom, parseAssocTsv, toAssocData } from './data.js';
export type { AssocColumns, AssocData, AssocInput, AssocRow, AssocTable, AssocTsvOptions, ChromCodes } from './data.js';
export { MANHATTAN_COLORS, formatMinusLog10p, manhattanPlot } from './manhattan.js';
export { interactiveManhattanHtml, type InteractivePageOptions } from './interactive.js';
export { ASSOC_DIALECTS, matchDialect, scaleOfColumn, type AssocDialect, type DialectMatch, type PColumn, type PScale } from './dialects.js';
export type { ManhattanChromosome, ManhattanOptions, ManhattanResult, PlotResult } from './manhattan.js';
export { CHI2_1_MEDIAN, QQ_COLORS, lambdaGc, lambdaGcLog10, qqBand, qqPlot } from './qq.js';
export type { QqOptions, QqResult, QqSeries, QqSeriesContext } from './qq.js';
export { FONT_FAMILY, type PlotArea } from './svg.js';
export { dosageR2, LEAD_COLOR, R2_BINS, R2_MISSING_COLOR, regionalPlot, type RegionalOptions, type RegionalResult } from './regional.js';
