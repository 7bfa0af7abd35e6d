//! The `select` parameter, ported from `ApiRequest/QueryParams.hs`: `pFieldForest`,
//! `pFieldTree`, `pRelationSelect`, `pSpreadRelationSelect`, `pEmbedParams` and
//! `pFieldSelect`.
//!
//! As upstream, the forest is not required to reach the end of the input: parsing stops
//! after the last item that is not followed by `,` (so `a,b)x` and `rel(*)x` are accepted
//! and the rest ignored), while a plain column must be followed by `,`, `)` or the end.

use crate::ast::{Aggregate, JoinType, SelectItem};
use crate::parsec::{
    alt, attempt, fatal, look_ahead, map, option_maybe, sep_by, zero, Input, Reply, Seq,
};
use crate::MAX_NESTING_DEPTH;

/// The part of an embed before its parenthesised select list.
struct EmbedHead {
    relation: String,
    alias: Option<String>,
    hint: Option<String>,
    join: Option<JoinType>,
    spread: bool,
}

/// One `!param` of an embed.
enum EmbedParam {
    Join(JoinType),
    Hint(String),
}

impl Input<'_> {
    /// `pFieldForest = pFieldTree `sepBy` lexeme (char ',')`; `depth` counts enclosing
    /// embeds and is capped at [`MAX_NESTING_DEPTH`].
    pub(crate) fn field_forest(&self, pos: usize, depth: usize) -> Reply<Vec<SelectItem>> {
        sep_by(
            pos,
            |p| self.field_tree(p, depth),
            |p| self.lexeme(p, |q| self.char_(q, ',')),
        )
    }

    /// `pFieldTree`: a spread, an embed, or a plain field, tried in that order.
    fn field_tree(&self, pos: usize, depth: usize) -> Reply<SelectItem> {
        let embed = |head: Reply<EmbedHead>| -> Reply<SelectItem> {
            let mut s = Seq::new(pos);
            let head = s.run(attempt(head))?;
            let select = s.run(self.embed_body(s.pos(), depth))?;
            s.done(SelectItem::Embed {
                relation: head.relation,
                alias: head.alias,
                hint: head.hint,
                join: head.join,
                spread: head.spread,
                select,
            })
        };
        alt(embed(self.spread_relation_select(pos)), || {
            alt(embed(self.relation_select(pos)), || self.field_select(pos))
        })
    }

    /// `between (char '(') (char ')') pFieldForest`, one level deeper.
    fn embed_body(&self, pos: usize, depth: usize) -> Reply<Vec<SelectItem>> {
        let mut s = Seq::new(pos);
        s.run(self.char_(s.pos(), '('))?;
        if depth >= MAX_NESTING_DEPTH {
            return fatal(
                s.pos(),
                format!("embedding nested deeper than {MAX_NESTING_DEPTH} levels"),
            );
        }
        let items = s.run(self.field_forest(s.pos(), depth + 1))?;
        s.run(self.char_(s.pos(), ')'))?;
        s.done(items)
    }

    /// `pRelationSelect`: `[alias:]name[!param[!param]]` followed by `(`.
    fn relation_select(&self, pos: usize) -> Reply<EmbedHead> {
        self.lexeme(pos, |p| {
            let mut s = Seq::new(p);
            let alias = s.run(option_maybe(s.pos(), self.alias_prefix(s.pos())))?;
            let relation = s.run(self.field_name(s.pos()))?;
            if relation == "count" {
                // `guard (name /= "count")`: `count()` is the aggregate, not an embed.
                s.run(zero::<()>(s.pos()))?;
            }
            let (hint, join) = s.run(self.embed_params(s.pos()))?;
            let at = s.pos();
            s.run(attempt(look_ahead(at, self.string(at, "("))))?;
            s.done(EmbedHead {
                relation,
                alias,
                hint,
                join,
                spread: false,
            })
        })
    }

    /// `pSpreadRelationSelect`: `...name[!param[!param]]` followed by `(`.
    fn spread_relation_select(&self, pos: usize) -> Reply<EmbedHead> {
        self.lexeme(pos, |p| {
            let mut s = Seq::new(p);
            s.run(self.string(s.pos(), "..."))?;
            let relation = s.run(self.field_name(s.pos()))?;
            let (hint, join) = s.run(self.embed_params(s.pos()))?;
            let at = s.pos();
            s.run(attempt(look_ahead(at, self.string(at, "("))))?;
            s.done(EmbedHead {
                relation,
                alias: None,
                hint,
                join,
                spread: true,
            })
        })
    }

    /// `pEmbedParams`: up to two `!` params; the first hint and the first join type win.
    fn embed_params(&self, pos: usize) -> Reply<(Option<String>, Option<JoinType>)> {
        let mut s = Seq::new(pos);
        let first = s.run(option_maybe(s.pos(), self.embed_param(s.pos())))?;
        let second = s.run(option_maybe(s.pos(), self.embed_param(s.pos())))?;
        let (mut hint, mut join) = (None, None);
        for param in [first, second].into_iter().flatten() {
            match param {
                EmbedParam::Hint(h) => {
                    hint.get_or_insert(h);
                }
                EmbedParam::Join(j) => {
                    join.get_or_insert(j);
                }
            }
        }
        s.done((hint, join))
    }

    /// `pEmbedParam`: `!left`, `!inner` or `!hint` (so a hint starting with `left` or
    /// `inner` must be quoted, as upstream).
    fn embed_param(&self, pos: usize) -> Reply<EmbedParam> {
        let mut s = Seq::new(pos);
        s.run(self.char_(s.pos(), '!'))?;
        let at = s.pos();
        let param = s.run(alt(
            attempt(map(self.string(at, "left"), |_| {
                EmbedParam::Join(JoinType::Left)
            })),
            || {
                alt(
                    attempt(map(self.string(at, "inner"), |_| {
                        EmbedParam::Join(JoinType::Inner)
                    })),
                    || attempt(map(self.field_name(at), EmbedParam::Hint)),
                )
            },
        ))?;
        s.done(param)
    }

    /// `pEnd` of a select item: `)`, `,` or end of input must follow.
    fn select_end(&self, pos: usize) -> Reply<()> {
        alt(attempt(look_ahead(pos, self.string(pos, ")"))), || {
            alt(attempt(look_ahead(pos, self.string(pos, ","))), || {
                attempt(self.eof(pos))
            })
        })
    }

    /// `optionMaybe (string "::" *> pIdentifier)`.
    fn cast(&self, pos: usize) -> Reply<Option<String>> {
        option_maybe(
            pos,
            (|| {
                let mut s = Seq::new(pos);
                s.run(self.string(s.pos(), "::"))?;
                let ty = s.run(self.identifier(s.pos()))?;
                s.done(ty)
            })(),
        )
    }

    /// `pAggregation`: `sum`, `avg` and `count` are not backtracked, `max`/`min` are.
    fn aggregation(&self, pos: usize) -> Reply<Aggregate> {
        let agg = |name: &str, a: Aggregate| map(self.string(pos, name), move |_| a);
        alt(agg("sum", Aggregate::Sum), || {
            alt(agg("avg", Aggregate::Avg), || {
                alt(agg("count", Aggregate::Count), || {
                    alt(attempt(agg("max", Aggregate::Max)), || {
                        attempt(agg("min", Aggregate::Min))
                    })
                })
            })
        })
    }

    /// `pFieldSelect`: `*`, `[alias:]count()[::cast]` or
    /// `[alias:]field[::cast][.agg()[::cast]]`.
    fn field_select(&self, pos: usize) -> Reply<SelectItem> {
        self.lexeme(pos, |p| {
            alt(attempt(self.star(p)), || {
                alt(attempt(self.count_all(p)), || self.column(p))
            })
        })
    }

    fn star(&self, pos: usize) -> Reply<SelectItem> {
        let mut s = Seq::new(pos);
        s.run(self.string(s.pos(), "*"))?;
        s.run(self.select_end(s.pos()))?;
        s.done(SelectItem::Star)
    }

    fn count_all(&self, pos: usize) -> Reply<SelectItem> {
        let mut s = Seq::new(pos);
        let alias = s.run(option_maybe(s.pos(), self.alias_prefix(s.pos())))?;
        s.run(self.string(s.pos(), "count()"))?;
        let cast = s.run(self.cast(s.pos()))?;
        s.run(self.select_end(s.pos()))?;
        s.done(SelectItem::Count { alias, cast })
    }

    fn column(&self, pos: usize) -> Reply<SelectItem> {
        let mut s = Seq::new(pos);
        let alias = s.run(option_maybe(s.pos(), self.alias_prefix(s.pos())))?;
        let field = s.run(self.field(s.pos()))?;
        let cast = s.run(self.cast(s.pos()))?;
        let at = s.pos();
        let aggregate = s.run(option_maybe(
            at,
            attempt((|| {
                let mut a = Seq::new(at);
                a.run(self.char_(a.pos(), '.'))?;
                let agg = a.run(self.aggregation(a.pos()))?;
                a.run(self.string(a.pos(), "()"))?;
                a.done(agg)
            })()),
        ))?;
        let aggregate_cast = s.run(self.cast(s.pos()))?;
        s.run(self.select_end(s.pos()))?;
        let bare = field.json_path.is_empty()
            && alias.is_none()
            && cast.is_none()
            && aggregate.is_none()
            && aggregate_cast.is_none();
        if bare && field.name == "*" {
            // A quoted "*" is the same `("*", [])` field as the star upstream.
            return s.done(SelectItem::Star);
        }
        s.done(SelectItem::Column {
            field,
            alias,
            cast,
            aggregate,
            aggregate_cast,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests;
