// R model formulas, the subset MM4LMM's MMEst needs: parsing with R's
// operator precedence, R's deparse (MM4LMM derives its `Factors` from the
// deparsed text), and the expansion of `terms(formula, keep.order = TRUE)`
// (term list, intercept, variable order, contrast codes), reproducing the
// algorithm of R's C function `termsform` (stats/src/model.c).
import { DesignError, type LmmkitError } from '../errors.js';

/**
 * An expanded one-sided model formula, as R's `terms(formula, keep.order = TRUE)`
 * sees it.
 */
export interface Formula {
  /**
   * The terms in keep.order order (R's expansion order, duplicates removed).
   * Each term lists its variables in R's variable order (order of first
   * appearance in the formula), which is the order R uses for the term label
   * and the model-matrix column names: `~ a + b + b:a` has the term `['a','b']`,
   * labelled `a:b`.
   */
  terms: string[][];
  /** Whether the model has an intercept (no `-1` / `+0`, or a later `+1`). */
  intercept: boolean;
  /** The text as given. */
  text: string;
  /** R's `attr(terms, 'variables')`: every variable named, in order of first appearance (deleted terms included). */
  variables: string[];
  /** R's `attr(terms, 'term.labels')`, e.g. `'Trial:Xeffect'` (non-syntactic names backquoted). */
  labels: string[];
  /**
   * R's `attr(terms, 'factors')` restricted to each term's variables (same
   * order as `terms[t]`): 1 = coded by contrasts, 2 = by full dummy coding
   * (the margin without that variable is not an earlier term). model.matrix
   * further recodes the first factor of a model without intercept to 2.
   */
  codes: (1 | 2)[][];
  /** R's deparse of the right-hand side (`as.character(formula)[2]` for a one-sided formula). */
  rhs: string;
}

/** A node of the parsed formula (R's call tree for the operators lmmkit supports). */
export type FormulaNode =
  | { kind: 'var'; name: string; pos: number }
  | { kind: 'num'; value: number; text: string; pos: number }
  | { kind: 'paren'; body: FormulaNode; pos: number }
  | { kind: 'unary'; op: '-' | '+' | '~'; arg: FormulaNode; pos: number }
  | { kind: 'binary'; op: BinaryOp; left: FormulaNode; right: FormulaNode; pos: number };

type BinaryOp = '+' | '-' | '*' | '/' | ':' | '^' | '%in%' | '~';

interface Token {
  kind: 'name' | 'num' | 'op' | 'lparen' | 'rparen' | 'end';
  text: string;
  pos: number;
}

const RESERVED = new Set([
  'if',
  'else',
  'repeat',
  'while',
  'function',
  'for',
  'next',
  'break',
  'in',
  'TRUE',
  'FALSE',
  'NULL',
  'Inf',
  'NaN',
  'NA',
  'NA_integer_',
  'NA_real_',
  'NA_character_',
  'NA_complex_',
]);

/** An R syntactic name (letters, digits, '.', '_'; not starting with a digit, '_' or '.digit'; not reserved). */
export function isSyntacticName(s: string): boolean {
  if (RESERVED.has(s)) return false;
  return /^(?:\p{L}|\.(?![0-9]))[\p{L}\p{N}._]*$/u.test(s);
}

function formulaError(text: string, pos: number, what: string): LmmkitError {
  const where = pos >= text.length ? 'at the end' : `at column ${pos + 1}`;
  return new DesignError('BAD_FORMULA', `bad formula "${text}" ${where}: ${what}`);
}

function describe(tok: Token): string {
  return tok.kind === 'end' ? 'the end of the formula' : `'${tok.text}'`;
}

/** Splits formula text into tokens; positions are 0-based offsets into `text`. */
function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '(') {
      out.push({ kind: 'lparen', text: c, pos: i++ });
      continue;
    }
    if (c === ')') {
      out.push({ kind: 'rparen', text: c, pos: i++ });
      continue;
    }
    if ('+-*/:^~'.includes(c)) {
      out.push({ kind: 'op', text: c, pos: i++ });
      continue;
    }
    if (c === '%') {
      const end = text.indexOf('%', i + 1);
      if (end < 0) throw formulaError(text, i, "unterminated '%' operator");
      const op = text.slice(i, end + 1);
      if (op !== '%in%') throw formulaError(text, i, `the operator '${op}' is not supported (only + - * / : ^ %in% and parentheses)`);
      out.push({ kind: 'op', text: op, pos: i });
      i = end + 1;
      continue;
    }
    if (c === '`') {
      const end = text.indexOf('`', i + 1);
      if (end < 0) throw formulaError(text, i, 'unterminated backquoted name');
      if (end === i + 1) throw formulaError(text, i, 'empty backquoted name');
      out.push({ kind: 'name', text: text.slice(i + 1, end), pos: i });
      i = end + 1;
      continue;
    }
    const num = /^(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?L?/.exec(text.slice(i));
    if (num) {
      out.push({ kind: 'num', text: num[0], pos: i });
      i += num[0].length;
      continue;
    }
    const name = /^(?:[\p{L}.])[\p{L}\p{N}._]*/u.exec(text.slice(i));
    if (name) {
      if (RESERVED.has(name[0]) || name[0] === '.') {
        throw formulaError(text, i, `'${name[0]}' cannot be used in a model formula`);
      }
      out.push({ kind: 'name', text: name[0], pos: i });
      i += name[0].length;
      continue;
    }
    throw formulaError(text, i, `unexpected character '${c}'`);
  }
  out.push({ kind: 'end', text: '', pos: text.length });
  return out;
}

// Binding powers following R's ?Syntax, from loose to tight:
// ~  <  + - (binary)  <  * /  <  %in%  <  :  <  unary + -  <  ^ (right-assoc).
const BINARY_POWER: Record<string, number> = { '+': 2, '-': 2, '*': 3, '/': 3, '%in%': 4, ':': 5, '^': 7 };
const UNARY_POWER = 6;

class Parser {
  private i = 0;
  constructor(
    private readonly text: string,
    private readonly toks: Token[],
  ) {}

  // tokenize ends the list with an 'end' token, which no rule consumes.
  private peek(): Token {
    return this.at(this.i);
  }
  private next(): Token {
    return this.at(this.i++);
  }
  private at(i: number): Token {
    const t = this.toks[i];
    if (t === undefined) throw formulaError(this.text, this.text.length, 'unexpected end of the formula');
    return t;
  }

  /** The whole formula: `~ rhs` or `lhs ~ rhs`. */
  parseTop(): { lhs: FormulaNode | undefined; rhs: FormulaNode } {
    let lhs: FormulaNode | undefined;
    const first = this.peek();
    if (!(first.kind === 'op' && first.text === '~')) {
      if (first.kind === 'end') throw formulaError(this.text, 0, "empty formula (expected '~ terms')");
      lhs = this.parseExpr(0);
      const t = this.peek();
      if (!(t.kind === 'op' && t.text === '~')) throw formulaError(this.text, t.pos, `expected '~', found ${describe(t)}`);
    }
    this.next(); // '~'
    const rhs = this.parseTilde();
    const t = this.peek();
    if (t.kind !== 'end') throw formulaError(this.text, t.pos, `unexpected ${describe(t)}`);
    return { lhs, rhs };
  }

  /** An operand that may be an inner unary `~` (lowest precedence, it takes everything to its right). */
  private parseTilde(): FormulaNode {
    const t = this.peek();
    if (t.kind === 'op' && t.text === '~') {
      this.next();
      return { kind: 'unary', op: '~', arg: this.parseTilde(), pos: t.pos };
    }
    const e = this.parseExpr(0);
    const after = this.peek();
    if (after.kind === 'op' && after.text === '~') {
      throw formulaError(this.text, after.pos, "a two-sided '~' inside the right-hand side is not supported");
    }
    return e;
  }

  /** Precedence climbing over the binary operators binding tighter than `minPower`. */
  private parseExpr(minPower: number): FormulaNode {
    let left = this.parseUnary();
    for (;;) {
      const t = this.peek();
      if (t.kind !== 'op' || t.text === '~') return left;
      const power = BINARY_POWER[t.text];
      if (power === undefined) throw formulaError(this.text, t.pos, `unexpected operator '${t.text}'`);
      if (power <= minPower) return left;
      this.next();
      // '^' is right-associative and its right operand may carry a unary sign.
      const right = t.text === '^' ? this.parseExprOrTilde(power - 1) : this.parseExprOrTilde(power);
      left = { kind: 'binary', op: t.text as BinaryOp, left, right, pos: t.pos };
    }
  }

  /** A right operand: R lets a unary `~` start any operand (`a + ~b` is `a + ~(b)`). */
  private parseExprOrTilde(minPower: number): FormulaNode {
    const t = this.peek();
    if (t.kind === 'op' && t.text === '~') return this.parseTilde();
    return this.parseExpr(minPower);
  }

  private parseUnary(): FormulaNode {
    const t = this.peek();
    if (t.kind === 'op' && (t.text === '-' || t.text === '+')) {
      this.next();
      // In R unary minus binds looser than '^' and tighter than ':' (so -a:b is (-a):b).
      const arg = this.parseExpr(UNARY_POWER);
      return { kind: 'unary', op: t.text, arg, pos: t.pos };
    }
    if (t.kind === 'op' && t.text === '~') return this.parseTilde();
    return this.parsePrimary();
  }

  private parsePrimary(): FormulaNode {
    const t = this.next();
    if (t.kind === 'name') {
      const after = this.peek();
      if (after.kind === 'lparen') {
        throw formulaError(this.text, t.pos, `function calls such as '${t.text}(...)' are not supported in a formula; compute the column beforehand`);
      }
      return { kind: 'var', name: t.text, pos: t.pos };
    }
    if (t.kind === 'num') return { kind: 'num', value: Number(t.text.replace(/L$/, '')), text: t.text, pos: t.pos };
    if (t.kind === 'lparen') {
      const body = this.parseTilde();
      const close = this.next();
      if (close.kind !== 'rparen') throw formulaError(this.text, close.pos, `expected ')' to close the '(' at column ${t.pos + 1}, found ${describe(close)}`);
      return { kind: 'paren', body, pos: t.pos };
    }
    throw formulaError(this.text, t.pos, `expected a term (a variable name, 0, 1 or '('), found ${describe(t)}`);
  }
}

/** Parses formula text into its call tree (left-hand side, if any, and right-hand side). */
export function parseFormulaTree(text: string): { lhs: FormulaNode | undefined; rhs: FormulaNode } {
  return new Parser(text, tokenize(text)).parseTop();
}

/** A variable name as R's deparse writes it: backquoted unless syntactic. */
export function deparseName(name: string): string {
  return isSyntacticName(name) ? name : `\`${name}\``;
}

function deparseNumber(value: number): string {
  return String(value);
}

/**
 * R's deparse of a formula call tree: spaces around binary `+ - * ~ %in%`,
 * none around `: / ^`, none after a unary operator, parentheses as written.
 */
export function deparseFormula(node: FormulaNode): string {
  switch (node.kind) {
    case 'var':
      return deparseName(node.name);
    case 'num':
      return deparseNumber(node.value);
    case 'paren':
      return `(${deparseFormula(node.body)})`;
    case 'unary':
      return node.op + deparseFormula(node.arg);
    case 'binary': {
      const tight = node.op === ':' || node.op === '/' || node.op === '^';
      const sep = tight ? node.op : ` ${node.op} `;
      return deparseFormula(node.left) + sep + deparseFormula(node.right);
    }
  }
}

// ---------------------------------------------------------------------------
// Term expansion (R's EncodeVars): a term is the sorted list of its variables'
// indices (R's bit set); every operator maps lists of terms to a list of terms.

type Term = number[];

function termKey(t: Term): string {
  return t.join(',');
}

function orTerms(a: Term, b: Term): Term {
  const s = new Set([...a, ...b]);
  return [...s].sort((x, y) => x - y);
}

/** R's TrimRepeats: drop empty terms and later duplicates, keeping first occurrences. */
function trimRepeats(list: Term[]): Term[] {
  const seen = new Set<string>();
  const out: Term[] = [];
  for (const t of list) {
    if (t.length === 0) continue;
    const k = termKey(t);
    if (!seen.has(k)) {
      seen.add(k);
      out.push(t);
    }
  }
  return out;
}

class Encoder {
  readonly variables: string[] = [];
  intercept = true;
  private parity = true;

  constructor(private readonly text: string) {}

  private install(name: string): number {
    let i = this.variables.indexOf(name);
    if (i < 0) {
      i = this.variables.length;
      this.variables.push(name);
    }
    return i;
  }

  encode(node: FormulaNode): Term[] {
    switch (node.kind) {
      case 'var':
        return [[this.install(node.name)]];
      case 'num': {
        // `1` asks for the intercept and `0` removes it; inside a deletion
        // (odd parity) their meaning flips, as in R.
        if (node.value === 1) this.intercept = this.parity;
        else if (node.value === 0) this.intercept = !this.parity;
        else throw formulaError(this.text, node.pos, `only 0 and 1 may appear as numbers in a formula, found ${node.text}`);
        return [];
      }
      case 'paren':
        return this.encode(node.body);
      case 'unary': {
        if (node.op === '-') {
          this.deleteFrom([], node.arg);
          return [];
        }
        return this.encode(node.arg);
      }
      case 'binary':
        return this.encodeBinary(node);
    }
  }

  private encodeBinary(node: Extract<FormulaNode, { kind: 'binary' }>): Term[] {
    switch (node.op) {
      case '+': {
        const l = this.encode(node.left);
        return trimRepeats([...l, ...this.encode(node.right)]);
      }
      case '-':
        return this.deleteFrom(this.encode(node.left), node.right);
      case ':': {
        const l = this.encode(node.left);
        const r = this.encode(node.right);
        const out: Term[] = [];
        for (const a of l) for (const b of r) out.push(orTerms(a, b));
        return trimRepeats(out);
      }
      case '*': {
        const l = this.encode(node.left);
        const r = this.encode(node.right);
        const out: Term[] = [...l, ...r];
        for (const a of l) for (const b of r) out.push(orTerms(a, b));
        return trimRepeats(out);
      }
      case '/': {
        // a/b: every left term, then each right term joined with all left variables.
        const l = this.encode(node.left);
        const r = this.encode(node.right);
        const all = l.reduce<Term>((acc, t) => orTerms(acc, t), []);
        return trimRepeats([...l, ...r.map((t) => orTerms(all, t))]);
      }
      case '%in%': {
        const l = this.encode(node.left);
        const r = this.encode(node.right);
        const all = r.reduce<Term>((acc, t) => orTerms(acc, t), []);
        return trimRepeats(l.map((t) => orTerms(all, t)));
      }
      case '^': {
        const l = this.encode(node.left);
        const p = node.right.kind === 'num' ? Math.trunc(node.right.value) : NaN;
        if (!(p >= 2)) throw formulaError(this.text, node.pos, 'invalid power in formula (the exponent must be a whole number >= 2)');
        let right = l;
        for (let k = 1; k < p; k++) {
          const out: Term[] = [];
          for (const a of l) for (const b of right) out.push(orTerms(a, b));
          right = trimRepeats(out);
        }
        return right;
      }
      case '~':
        throw formulaError(this.text, node.pos, "a two-sided '~' inside the right-hand side is not supported");
    }
  }

  /** R's DeleteTerms: encode `what` with flipped parity and strip its terms from `from`. */
  private deleteFrom(from: Term[], what: FormulaNode): Term[] {
    this.parity = !this.parity;
    const del = this.encode(what);
    this.parity = !this.parity;
    const gone = new Set(del.map(termKey));
    return from.filter((t) => !gone.has(termKey(t)));
  }
}

/**
 * R's TermCode: variable `v` of term `t` is coded by contrasts (1) when the
 * term without `v` is empty or is contained in an earlier term, else by
 * dummy variables (2) (Chambers & Hastie, Statistical Models in S, p. 38).
 */
function termCode(terms: Term[], index: number, v: number): 1 | 2 {
  const margin = terms[index]!.filter((x) => x !== v);
  if (margin.length === 0) return 1;
  for (let j = 0; j < index; j++) {
    const earlier = new Set(terms[j]!);
    if (margin.every((x) => earlier.has(x))) return 1;
  }
  return 2;
}

/**
 * Parses a one-sided R model formula (`~ a + b + a:b`) and expands it as
 * R's `terms(formula, keep.order = TRUE)` does: `+`, `-`, `:`, `*`, `/`,
 * `%in%`, `^n`, parentheses, `0`/`1`/`-1`/`+0` for the intercept, backquoted
 * names, and the inner `~` that MM4LMM's rebuilt formulas contain
 * (`~a+~b` reads as `~ a + b`). A left-hand side, if given, is ignored, as
 * MMEst rebuilds the formula from its right-hand side. Function calls
 * (`log(x)`, `I(x^2)`), `.` and other operators are rejected.
 * Throws `LmmkitError` with code `'BAD_FORMULA'` naming the column of the problem.
 */
export function parseFormula(text: string): Formula {
  const { rhs } = parseFormulaTree(text);
  const enc = new Encoder(text);
  const terms = enc.encode(rhs);
  const names = enc.variables;
  return {
    terms: terms.map((t) => t.map((v) => names[v]!)),
    intercept: enc.intercept,
    text,
    variables: [...names],
    labels: terms.map((t) => t.map((v) => deparseName(names[v]!)).join(':')),
    codes: terms.map((t, i) => t.map((v) => termCode(terms, i, v))),
    rhs: deparseFormula(rhs),
  };
}
