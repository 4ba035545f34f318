// MMEst's formulas: the formula text split on " + " (MM4LMM's Factors) and
// rebuilt as "~p1+~p2+...", the complete model's formula and the
// cofactor-only one it fits first for Init.
import { DesignError, LmmkitError } from '../errors.js';
import { parseFormula, type Formula } from './formula.js';

/** R's grep(name, piece): the name is a regular expression; plain R names are matched as such, anything else literally. */
function pieceMentions(piece: string, name: string): boolean {
  if (/^[\p{L}\p{N}._]+$/u.test(name)) return new RegExp(name, 'u').test(piece);
  return piece.includes(name);
}

function rebuild(pieces: readonly string[], what: string): Formula {
  const text = pieces.map((p) => `~${p}`).join('+');
  try {
    return parseFormula(text);
  } catch (e) {
    if (e instanceof LmmkitError && e.code === 'BAD_FORMULA') {
      throw new DesignError(
        'BAD_FORMULA',
        `MMEst rebuilds the ${what} formula from the pieces of the formula text between ' + ' (${pieces.map((p) => `'${p}'`).join(', ')}), and the result does not parse: ${e.message}`,
      );
    }
    throw e;
  }
}

/**
 * MMEst's formulas: the complete one (formulaComp), the cofactor-only one it
 * fits for Init (formulaCof) and Factors.
 */
export function mm4lmmFormulas(
  cofNames: readonly string[],
  xnames: readonly string[] | undefined,
  formula: string | undefined,
): {
  comp: Formula;
  cof: Formula;
  factors: string[];
} {
  if (formula === undefined) {
    const all = [...cofNames, ...(xnames ?? [])];
    if (all.length === 0) {
      throw new DesignError('EMPTY_DESIGN', "the Cofactor has no column and there is no marker: MMEst's default formula would be empty; give a formula");
    }
    const comp = parseFormula(`~${all.join('+')}`);
    const cof = xnames === undefined ? comp : parseFormula(`~${cofNames.join('+')}`);
    return { comp, cof, factors: all };
  }
  // The formula is validated as written, then MMEst's text round trip:
  // pieces = strsplit(deparse(rhs), " + "), rebuilt as "~p1+~p2+...".
  const pieces = parseFormula(formula).rhs.split(' + ');
  const comp = rebuild(pieces, 'complete');
  if (xnames === undefined) return { comp, cof: comp, factors: pieces };
  const rest = pieces.filter((p) => !xnames.some((x) => pieceMentions(p, x)));
  const cof = rest.length === pieces.length ? comp : rest.length === 0 ? parseFormula('~ 1') : rebuild(rest, 'cofactor-only');
  return { comp, cof, factors: pieces };
}
