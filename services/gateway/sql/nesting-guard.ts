/*
 * A cheap, conservative bound on how deeply PostgreSQL's parser will nest the parse tree of a text, computed
 * before the text reaches the parser.
 *
 * Why: libpg_query runs in WebAssembly with a small fixed stack and no working stack-depth check. Deep trees
 * (about 180 nested subqueries, 290 nested CASEs, 510 chained IS NULL or 580 chained '+') overflow that stack:
 * the module then traps, calls exit(), or loops forever, in the gateway's process. Texts whose bound exceeds
 * MAX_NESTING_ESTIMATE are refused (a parse_error, so policy fails closed) and never parsed.
 *
 * The bound: tokens are grouped by parentheses, brackets and CASE … END. Within a group, every tree level needs
 * at least one operator or keyword token, so depth(group) <= (operator/keyword tokens directly in the group) +
 * (deepest child group) + GROUP_COST, plus 2 when the group has AND/OR (PostgreSQL flattens AND and OR chains:
 * at most OR over AND). Identifiers, literals, commas and '.' are leaves or list separators and cost nothing;
 * a few keywords that never nest (AS, ASC, DESC, NULLS, …) cost nothing. An operator run costs its length
 * (the lexer may split '*-' into two operators). The WHEN, THEN and ELSE parts of a CASE are siblings: a CASE
 * costs its deepest part + GROUP_COST + 1. Measured against the parser, the estimate at the first failing
 * depth is >= 500 for every construct tried (nested subqueries, EXISTS, IN, CASE, functions, arrays, ROW, casts,
 * JOIN and UNION chains, operator chains, NOT, IS NULL, AT TIME ZONE, COLLATE, nested CTEs); the limit keeps a
 * factor of two below that. See nesting-guard.test.ts.
 *
 * The lexer follows PostgreSQL's: standard-conforming '…' strings, E'…' with backslash escapes, "…" identifiers,
 * $tag$…$tag$ (a tag only where a token starts), nested block comments, -- comments.
 */

/** Estimates above this are refused. Typical statements stay below 60. */
export const MAX_NESTING_ESTIMATE = 250;

const GROUP_COST = 2;
const KIND_TOP = 0;
const KIND_PAREN = 1;
const KIND_BRACKET = 2;
const KIND_CASE = 3;

// prettier-ignore
/** PostgreSQL 17's keywords (kwlist.h). A word not listed is an identifier. */
const KEYWORDS: ReadonlySet<string> = new Set(
  [
  'abort absent absolute access action add admin after aggregate all also alter always analyse analyze',
  'and any array as asc asensitive assertion assignment asymmetric at atomic attach attribute',
  'authorization backward before begin between bigint binary bit boolean both breadth by cache call',
  'called cascade cascaded case cast catalog chain char character characteristics check checkpoint',
  'class close cluster coalesce collate collation column columns comment comments commit committed',
  'compression concurrently conditional configuration conflict connection constraint constraints',
  'content continue conversion copy cost create cross csv cube current current_catalog current_date',
  'current_role current_schema current_time current_timestamp current_user cursor cycle data database',
  'day deallocate dec decimal declare default defaults deferrable deferred definer delete delimiter',
  'delimiters depends depth desc detach dictionary disable discard distinct do document domain double',
  'drop each else empty enable encoding encrypted end enum error escape event except exclude excluding',
  'exclusive execute exists explain expression extension external extract false family fetch filter',
  'finalize first float following for force foreign format forward freeze from full function functions',
  'generated global grant granted greatest group grouping groups handler having header hold hour',
  'identity if ilike immediate immutable implicit import in include including increment indent index',
  'indexes inherit inherits initially inline inner inout input insensitive insert instead int integer',
  'intersect interval into invoker is isnull isolation join json json_array json_arrayagg json_exists',
  'json_object json_objectagg json_query json_scalar json_serialize json_table json_value keep key keys',
  'label language large last lateral leading leakproof least left level like limit listen load local',
  'localtime localtimestamp location lock locked logged mapping match matched materialized maxvalue',
  'merge merge_action method minute minvalue mode month move name names national natural nchar nested',
  'new next nfc nfd nfkc nfkd no none normalize normalized not nothing notify notnull nowait null',
  'nullif nulls numeric object of off offset oids old omit on only operator option options or order',
  'ordinality others out outer over overlaps overlay overriding owned owner parallel parameter parser',
  'partial partition passing password path placing plan plans policy position preceding precision',
  'prepare prepared preserve primary prior privileges procedural procedure procedures program',
  'publication quote quotes range read real reassign recheck recursive ref references referencing',
  'refresh reindex relative release rename repeatable replace replica reset restart restrict return',
  'returning returns revoke right role rollback rollup routine routines row rows rule savepoint scalar',
  'schema schemas scroll search second security select sequence sequences serializable server session',
  'session_user set setof sets share show similar simple skip smallint snapshot some source sql stable',
  'standalone start statement statistics stdin stdout storage stored strict string strip subscription',
  'substring support symmetric sysid system system_user table tables tablesample tablespace target temp',
  'template temporary text then ties time timestamp to trailing transaction transform treat trigger',
  'trim true truncate trusted type types uescape unbounded uncommitted unconditional unencrypted union',
  'unique unknown unlisten unlogged until update user using vacuum valid validate validator value',
  'values varchar variadic varying verbose version view views volatile when where whitespace window',
  'with within without work wrapper write xml xmlattributes xmlconcat xmlelement xmlexists xmlforest',
  'xmlnamespaces xmlparse xmlpi xmlroot xmlserialize xmltable year yes zone',
  ]
    .join(' ')
    .split(' '),
);

/** Keywords that never add a tree level. */
const FREE_KEYWORDS: ReadonlySet<string> = new Set([
  'as',
  'asc',
  'desc',
  'nulls',
  'first',
  'last',
  'null',
  'true',
  'false',
  'by',
  'distinct',
  'all',
]);

interface Frame {
  cost: number;
  maxChild: number;
  andOr: boolean;
  kind: number;
  /** CASE frames: deepest finished WHEN/THEN/ELSE part (the parts are siblings under the CaseExpr). */
  partMax: number;
}

function frame(kind: number): Frame {
  return { cost: 0, maxChild: 0, andOr: false, kind, partMax: 0 };
}

function partDepth(f: Frame): number {
  return f.cost + f.maxChild + (f.andOr ? 2 : 0);
}

function depthOf(f: Frame): number {
  return f.kind === KIND_CASE
    ? Math.max(f.partMax, partDepth(f)) + GROUP_COST + 1
    : partDepth(f) + GROUP_COST;
}

/** Ends one WHEN/THEN/ELSE part of a CASE frame. */
function endCasePart(f: Frame): void {
  f.partMax = Math.max(f.partMax, partDepth(f));
  f.cost = 0;
  f.maxChild = 0;
  f.andOr = false;
}

function isIdentStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c >= 128;
}

function isIdentCont(c: number): boolean {
  return isIdentStart(c) || (c >= 48 && c <= 57) || c === 36;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** PostgreSQL's operator characters. */
function isOpChar(c: number): boolean {
  return (
    c === 43 ||
    c === 45 ||
    c === 42 ||
    c === 47 ||
    c === 60 ||
    c === 62 ||
    c === 61 ||
    c === 126 ||
    c === 33 ||
    c === 64 ||
    c === 35 ||
    c === 37 ||
    c === 94 ||
    c === 38 ||
    c === 124 ||
    c === 96 ||
    c === 63
  );
}

/** Index after a quoted token opened before `i` and closed by `quote` (doubled = escaped); `backslash` for E''. */
function skipQuoted(text: string, i: number, quote: number, backslash: boolean): number {
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (backslash && c === 92) {
      i += 2;
      continue;
    }
    if (c === quote) {
      if (text.charCodeAt(i + 1) === quote) {
        i += 2;
        continue;
      }
      return i + 1;
    }
    i++;
  }
  return n;
}

function skipBlockComment(text: string, i: number): number {
  let depth = 1;
  const n = text.length;
  while (i < n && depth > 0) {
    const c = text.charCodeAt(i);
    if (c === 47 && text.charCodeAt(i + 1) === 42) {
      depth++;
      i += 2;
    } else if (c === 42 && text.charCodeAt(i + 1) === 47) {
      depth--;
      i += 2;
    } else i++;
  }
  return i;
}

/** Index after a $tag$…$tag$ string starting at `i` (a '$'), or -1 when `i` does not start one. */
function skipDollarQuoted(text: string, i: number): number {
  let j = i + 1;
  if (j < text.length && text.charCodeAt(j) !== 36) {
    if (!isIdentStart(text.charCodeAt(j))) return -1;
    while (j < text.length && isIdentCont(text.charCodeAt(j)) && text.charCodeAt(j) !== 36) j++;
    if (text.charCodeAt(j) !== 36) return -1;
  }
  const tag = text.slice(i, j + 1);
  const end = text.indexOf(tag, j + 1);
  return end === -1 ? text.length : end + tag.length;
}

/** The nesting bound of the deepest statement in `text` (see the file comment). Linear in `text.length`. */
export function estimateNestingDepth(text: string): number {
  const stack: Frame[] = [frame(KIND_TOP)];
  let top = stack[0]!;
  let max = 0;
  let afterDot = false;
  const n = text.length;

  const pop = (): void => {
    const done = stack.pop()!;
    top = stack[stack.length - 1]!;
    top.maxChild = Math.max(top.maxChild, depthOf(done));
  };

  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    const dot: boolean = afterDot;
    afterDot = false;
    if (c === 32 || (c >= 9 && c <= 13)) {
      afterDot = dot;
      i++;
    } else if (c === 45 && text.charCodeAt(i + 1) === 45) {
      i += 2;
      while (i < n && text.charCodeAt(i) !== 10 && text.charCodeAt(i) !== 13) i++;
      afterDot = dot;
    } else if (c === 47 && text.charCodeAt(i + 1) === 42) {
      i = skipBlockComment(text, i + 2);
      afterDot = dot;
    } else if (c === 39) {
      i = skipQuoted(text, i + 1, 39, false);
    } else if (c === 34) {
      i = skipQuoted(text, i + 1, 34, false);
    } else if (c === 36) {
      if (isDigit(text.charCodeAt(i + 1))) {
        i++;
        while (i < n && isDigit(text.charCodeAt(i))) i++;
      } else {
        const end = skipDollarQuoted(text, i);
        if (end === -1) {
          top.cost++;
          i++;
        } else i = end;
      }
    } else if (isIdentStart(c)) {
      let j = i + 1;
      while (j < n && isIdentCont(text.charCodeAt(j))) j++;
      const word = text.slice(i, j).toLowerCase();
      const next = text.charCodeAt(j);
      if (next === 39 && (word === 'e' || word === 'b' || word === 'x' || word === 'n')) {
        i = skipQuoted(text, j + 1, 39, word === 'e');
        continue;
      }
      if (word === 'u' && next === 38 && (text.charCodeAt(j + 1) === 39 || text.charCodeAt(j + 1) === 34)) {
        i = skipQuoted(text, j + 2, text.charCodeAt(j + 1), false);
        continue;
      }
      i = j;
      if (dot || !KEYWORDS.has(word) || FREE_KEYWORDS.has(word)) continue;
      if (word === 'case') {
        stack.push((top = frame(KIND_CASE)));
      } else if (word === 'end' && top.kind === KIND_CASE) {
        pop();
      } else if (top.kind === KIND_CASE && (word === 'when' || word === 'then' || word === 'else')) {
        endCasePart(top);
      } else if (word === 'and' || word === 'or') {
        top.andOr = true;
      } else top.cost++;
    } else if (isDigit(c) || (c === 46 && isDigit(text.charCodeAt(i + 1)))) {
      i++;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (isDigit(d) || (d >= 97 && d <= 122) || (d >= 65 && d <= 90) || d === 95 || d === 46) i++;
        else if ((d === 43 || d === 45) && (text.charCodeAt(i - 1) | 32) === 101) i++;
        else break;
      }
    } else if (c === 40 || c === 91) {
      stack.push((top = frame(c === 40 ? KIND_PAREN : KIND_BRACKET)));
      i++;
    } else if (c === 41 || c === 93) {
      if (stack.length > 1) pop();
      else top.cost++;
      i++;
    } else if (c === 44) {
      i++;
    } else if (c === 46) {
      afterDot = true;
      i++;
    } else if (c === 59) {
      if (stack.length === 1) {
        max = Math.max(max, depthOf(top));
        stack[0] = top = frame(KIND_TOP);
      } else top.cost++;
      i++;
    } else if (isOpChar(c) || c === 58) {
      let j = i + 1;
      const colon = c === 58;
      while (j < n) {
        const d = text.charCodeAt(j);
        if (colon ? d !== 58 : !isOpChar(d)) break;
        if (
          !colon &&
          ((d === 45 && text.charCodeAt(j + 1) === 45) || (d === 47 && text.charCodeAt(j + 1) === 42))
        ) {
          break;
        }
        j++;
      }
      top.cost += j - i;
      i = j;
    } else {
      top.cost++;
      i++;
    }
  }
  while (stack.length > 1) pop();
  return Math.max(max, depthOf(top));
}
