//! The `order` parameter, ported from `pOrder` in `ApiRequest/QueryParams.hs`:
//! `term(,term)*` with `term := [relation(]field[)][.asc|.desc][.nullsfirst|.nullslast]`,
//! each term followed by `,` or the end of input.

use crate::ast::{Direction, Field, Nulls, OrderTerm};
use crate::parsec::{alt, attempt, look_ahead, map, option_maybe, sep_by1, Input, Reply, Seq};

impl Input<'_> {
    /// `pOrder = lexeme (try pOrderRelationTerm <|> pOrderTerm) `sepBy1` char ','`.
    pub(crate) fn order(&self, pos: usize) -> Reply<Vec<OrderTerm>> {
        sep_by1(
            pos,
            |p| {
                self.lexeme(p, |q| {
                    alt(attempt(self.order_relation_term(q)), || self.order_term(q))
                })
            },
            |p| self.char_(p, ','),
        )
    }

    /// `pOrderTerm`: `field[.dir][.nulls]`.
    fn order_term(&self, pos: usize) -> Reply<OrderTerm> {
        let mut s = Seq::new(pos);
        let field = s.run(self.field(s.pos()))?;
        self.order_suffix(s, field, None)
    }

    /// `pOrderRelationTerm`: `relation(field)[.dir][.nulls]`.
    fn order_relation_term(&self, pos: usize) -> Reply<OrderTerm> {
        let mut s = Seq::new(pos);
        let relation = s.run(self.field_name(s.pos()))?;
        s.run(self.char_(s.pos(), '('))?;
        let field = s.run(self.field(s.pos()))?;
        s.run(self.char_(s.pos(), ')'))?;
        self.order_suffix(s, field, Some(relation))
    }

    /// The shared tail: `optionMaybe pOrdDir`, then
    /// `optionMaybe pNulls <* pEnd <|> pEnd $> Nothing`.
    fn order_suffix(&self, mut s: Seq, field: Field, relation: Option<String>) -> Reply<OrderTerm> {
        let at = s.pos();
        let direction = s.run(option_maybe(
            at,
            alt(attempt(self.dotted(at, "asc", Direction::Asc)), || {
                attempt(self.dotted(at, "desc", Direction::Desc))
            }),
        ))?;
        let at = s.pos();
        let nulls = s.run(alt(
            (|| {
                let mut n = Seq::new(at);
                let nat = n.pos();
                let nulls = n.run(option_maybe(
                    nat,
                    alt(
                        attempt(self.dotted(nat, "nullsfirst", Nulls::First)),
                        || attempt(self.dotted(nat, "nullslast", Nulls::Last)),
                    ),
                ))?;
                n.run(self.order_end(n.pos()))?;
                n.done(nulls)
            })(),
            || map(self.order_end(at), |()| None),
        ))?;
        s.done(OrderTerm {
            field,
            relation,
            direction,
            nulls,
        })
    }

    /// `pDelimiter *> string word $> val`.
    fn dotted<T>(&self, pos: usize, word: &str, val: T) -> Reply<T> {
        let mut s = Seq::new(pos);
        s.run(self.delimiter(s.pos()))?;
        s.run(self.string(s.pos(), word))?;
        s.done(val)
    }

    /// `pEnd = try (void $ lookAhead (char ',')) <|> try eof`.
    fn order_end(&self, pos: usize) -> Reply<()> {
        alt(
            attempt(look_ahead(pos, map(self.char_(pos, ','), |_| ()))),
            || attempt(self.eof(pos)),
        )
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests;
