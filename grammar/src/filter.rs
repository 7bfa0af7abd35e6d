//! Horizontal filter values `[not.]op[(modifier)].value`, ported from
//! `ApiRequest/QueryParams.hs`: `pOpExpr`, `simpleOperator`, `quantOperator`, `pListVal`,
//! `pListElement`, `pSingleVal` and `pLogicSingleVal`; the `*` → `%` of like patterns is
//! the `star` of `Query/SqlFragment.hs`.
//!
//! As upstream, only the operator part must be well formed: a filter value runs to the end
//! of the input, and text after a complete `in.(…)` list or `is.<value>` is ignored.

use crate::ast::{CompareOp, FtsKind, IsValue, Operation, Quantifier, RangeOp};
use crate::parsec::{
    alt, attempt, label, many, map, not_followed_by, option_maybe, pure, sep_by1, Input, Reply, Seq,
};
use crate::show::show_char;

/// Where an operand ends: at the end of input (a query parameter) or before `,` / `)` (a
/// leaf of a logic tree).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ValueMode {
    /// `pSingleVal = many anyChar`.
    Param,
    /// `pLogicSingleVal`: quoted, a `{…}` array literal, or up to `,` / `)`.
    Logic,
}

/// `simpleOperator`, in upstream's order.
const SIMPLE_OPERATORS: [(&str, Simple); 9] = [
    ("neq", Simple::Neq),
    ("cs", Simple::Range(RangeOp::Contains)),
    ("cd", Simple::Range(RangeOp::ContainedIn)),
    ("ov", Simple::Range(RangeOp::Overlap)),
    ("sl", Simple::Range(RangeOp::StrictlyLeft)),
    ("sr", Simple::Range(RangeOp::StrictlyRight)),
    ("nxr", Simple::Range(RangeOp::NotExtendRight)),
    ("nxl", Simple::Range(RangeOp::NotExtendLeft)),
    ("adj", Simple::Range(RangeOp::Adjacent)),
];

/// `quantOperator`, in upstream's order (`gte` before `gt`, `like` before `ilike`, …).
const QUANT_OPERATORS: [(&str, CompareOp); 9] = [
    ("eq", CompareOp::Eq),
    ("gte", CompareOp::Gte),
    ("gt", CompareOp::Gt),
    ("lte", CompareOp::Lte),
    ("lt", CompareOp::Lt),
    ("like", CompareOp::Like),
    ("ilike", CompareOp::Ilike),
    ("match", CompareOp::Match),
    ("imatch", CompareOp::Imatch),
];

const FTS_OPERATORS: [(&str, FtsKind); 4] = [
    ("fts", FtsKind::Fts),
    ("plfts", FtsKind::Plain),
    ("phfts", FtsKind::Phrase),
    ("wfts", FtsKind::Websearch),
];

const IS_VALUES: [(&str, IsValue); 5] = [
    ("null", IsValue::Null),
    ("not_null", IsValue::NotNull),
    ("true", IsValue::True),
    ("false", IsValue::False),
    ("unknown", IsValue::Unknown),
];

#[derive(Debug, Clone, Copy)]
enum Simple {
    Neq,
    Range(RangeOp),
}

/// Try each `(text, value)` with `try (string text $> value)`, in order.
fn keyword<T: Copy>(inp: &Input<'_>, pos: usize, table: &[(&str, T)]) -> Reply<T> {
    match table.split_first() {
        None => crate::parsec::zero(pos),
        Some(((text, val), rest)) => {
            let val = *val;
            alt(attempt(map(inp.string(pos, text), move |_| val)), || {
                keyword(inp, pos, rest)
            })
        }
    }
}

impl Input<'_> {
    /// `pOpExpr`: `[not.]` then an operation; returns (negated, operation).
    pub(crate) fn op_expr(&self, pos: usize, mode: ValueMode) -> Reply<(bool, Operation)> {
        let mut s = Seq::new(pos);
        let at = s.pos();
        let negated = s.run(alt(attempt(self.keyword_dot(at, "not")), || {
            pure(at, false)
        }))?;
        let operation = s.run(self.operation(s.pos(), mode))?;
        s.done((negated, operation))
    }

    /// `string word *> pDelimiter $> True`.
    fn keyword_dot(&self, pos: usize, word: &str) -> Reply<bool> {
        let mut s = Seq::new(pos);
        s.run(self.string(s.pos(), word))?;
        s.run(self.delimiter(s.pos()))?;
        s.done(true)
    }

    /// `pOperation = pIn <|> pIs <|> pIsDist <|> try pFts <|> try pSimpleOp <|> try pQuantOp
    /// <?> "operator (eq, gt, ...)"`.
    fn operation(&self, pos: usize, mode: ValueMode) -> Reply<Operation> {
        let r = alt(self.op_in(pos), || {
            alt(self.op_is(pos), || {
                alt(self.op_is_distinct(pos, mode), || {
                    alt(attempt(self.op_fts(pos, mode)), || {
                        alt(attempt(self.op_simple(pos, mode)), || {
                            attempt(self.op_quant(pos, mode))
                        })
                    })
                })
            })
        });
        label(r, "operator (eq, gt, ...)")
    }

    fn op_in(&self, pos: usize) -> Reply<Operation> {
        let mut s = Seq::new(pos);
        s.run(attempt(self.keyword_dot(s.pos(), "in")))?;
        let mut items = s.run(self.list_val(s.pos()))?;
        // `in.()` parses as one empty element, rendered by upstream as `= ANY('{}')`.
        if matches!(items.as_slice(), [only] if only.is_empty()) {
            items.clear();
        }
        s.done(Operation::In(items))
    }

    fn op_is(&self, pos: usize) -> Reply<Operation> {
        let mut s = Seq::new(pos);
        s.run(attempt(self.keyword_dot(s.pos(), "is")))?;
        let at = s.pos();
        let v = s.run(label(
            self.is_value(at, &IS_VALUES),
            "isVal: (null, not_null, true, false, unknown)",
        ))?;
        s.done(Operation::Is(v))
    }

    /// `try (ciString w $> v) <|> …`: each char in lower or upper case.
    fn is_value(&self, pos: usize, table: &[(&str, IsValue)]) -> Reply<IsValue> {
        match table.split_first() {
            None => crate::parsec::zero(pos),
            Some(((word, val), rest)) => {
                let val = *val;
                let ci = (|| {
                    let mut s = Seq::new(pos);
                    for c in word.chars() {
                        let at = s.pos();
                        let upper = c.to_ascii_uppercase();
                        s.run(alt(self.char_(at, c), || self.char_(at, upper)))?;
                    }
                    s.done(val)
                })();
                alt(attempt(ci), || self.is_value(pos, rest))
            }
        }
    }

    fn op_is_distinct(&self, pos: usize, mode: ValueMode) -> Reply<Operation> {
        let mut s = Seq::new(pos);
        s.run(attempt(self.keyword_dot(s.pos(), "isdistinct")))?;
        let v = s.run(self.single_val(s.pos(), mode))?;
        s.done(Operation::IsDistinct(v))
    }

    fn op_fts(&self, pos: usize, mode: ValueMode) -> Reply<Operation> {
        let mut s = Seq::new(pos);
        let kind = s.run(keyword(self, s.pos(), &FTS_OPERATORS))?;
        let at = s.pos();
        let config = s.run(option_maybe(
            at,
            attempt((|| {
                let mut c = Seq::new(at);
                c.run(self.char_(c.pos(), '('))?;
                let lang = c.run(self.identifier(c.pos()))?;
                c.run(self.char_(c.pos(), ')'))?;
                c.done(lang)
            })()),
        ))?;
        s.run(self.delimiter(s.pos()))?;
        let value = s.run(self.single_val(s.pos(), mode))?;
        s.done(Operation::Fts {
            kind,
            config,
            value,
        })
    }

    fn op_simple(&self, pos: usize, mode: ValueMode) -> Reply<Operation> {
        let mut s = Seq::new(pos);
        let at = s.pos();
        let op = s.run(label(
            keyword(self, at, &SIMPLE_OPERATORS),
            "unknown single value operator",
        ))?;
        s.run(self.delimiter(s.pos()))?;
        let value = s.run(self.single_val(s.pos(), mode))?;
        s.done(match op {
            Simple::Neq => Operation::Compare {
                op: CompareOp::Neq,
                quantifier: None,
                value,
            },
            Simple::Range(op) => Operation::Range { op, value },
        })
    }

    fn op_quant(&self, pos: usize, mode: ValueMode) -> Reply<Operation> {
        let mut s = Seq::new(pos);
        let at = s.pos();
        let op = s.run(label(
            keyword(self, at, &QUANT_OPERATORS),
            "unknown single value operator",
        ))?;
        let at = s.pos();
        let quantifier = s.run(option_maybe(
            at,
            attempt((|| {
                let mut q = Seq::new(at);
                q.run(self.char_(q.pos(), '('))?;
                let qat = q.pos();
                let quant = q.run(alt(
                    attempt(map(self.string(qat, "any"), |_| Quantifier::Any)),
                    || map(self.string(qat, "all"), |_| Quantifier::All),
                ))?;
                q.run(self.char_(q.pos(), ')'))?;
                q.done(quant)
            })()),
        ))?;
        s.run(self.delimiter(s.pos()))?;
        let value = s.run(self.single_val(s.pos(), mode))?;
        let value = match op {
            CompareOp::Like | CompareOp::Ilike => value.replace('*', "%"),
            _ => value,
        };
        s.done(Operation::Compare {
            op,
            quantifier,
            value,
        })
    }

    /// The operand: `pSingleVal` or `pLogicSingleVal`.
    fn single_val(&self, pos: usize, mode: ValueMode) -> Reply<String> {
        match mode {
            ValueMode::Param => self.rest(pos),
            ValueMode::Logic => self.logic_single_val(pos),
        }
    }

    /// `try (pQuotedValue <* notFollowedBy (noneOf ",)"))`: a quoted operand that ends at a
    /// separator.
    fn quoted_operand(&self, pos: usize) -> Reply<String> {
        attempt((|| {
            let mut s = Seq::new(pos);
            let v = s.run(self.quoted_value(s.pos()))?;
            let at = s.pos();
            s.run(not_followed_by(self, at, self.none_of(at, ",)"), |c| {
                show_char(*c)
            }))?;
            s.done(v)
        })())
    }

    /// `many (noneOf ",)")`.
    fn bare_operand(&self, pos: usize) -> Reply<String> {
        map(many(pos, |p| self.none_of(p, ",)")), |cs| {
            cs.into_iter().collect()
        })
    }

    /// `pListVal`: `(a,"b,c",d)` with blanks allowed around the parentheses.
    fn list_val(&self, pos: usize) -> Reply<Vec<String>> {
        let mut s = Seq::new(pos);
        s.run(self.lexeme(s.pos(), |p| self.char_(p, '(')))?;
        let items = s.run(sep_by1(
            s.pos(),
            |p| alt(self.quoted_operand(p), || self.bare_operand(p)),
            |p| self.char_(p, ','),
        ))?;
        s.run(self.lexeme(s.pos(), |p| self.char_(p, ')')))?;
        s.done(items)
    }

    /// `pLogicSingleVal`: quoted, else a `{…}` array literal, else up to `,` or `)`.
    fn logic_single_val(&self, pos: usize) -> Reply<String> {
        alt(self.quoted_operand(pos), || {
            alt(
                attempt((|| {
                    let mut s = Seq::new(pos);
                    s.run(self.string(s.pos(), "{"))?;
                    let body = s.run(many(s.pos(), |p| self.none_of(p, "{}")))?;
                    s.run(self.string(s.pos(), "}"))?;
                    let body: String = body.into_iter().collect();
                    s.done(format!("{{{body}}}"))
                })()),
                || self.bare_operand(pos),
            )
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests;
