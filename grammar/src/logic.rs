//! Logic trees `or=(…)`, `and=(…)`, `not.or=(…)`, `rel.or=(…)`, ported from
//! `ApiRequest/QueryParams.hs`: `pLogicTree`, `pLogicPath` and the way `pRequestLogicTree`
//! glues the key's operator to the value (`or` + `(a.eq.1)` is parsed as `or(a.eq.1)`, so
//! error columns count the operator too, exactly as upstream reports them).

use crate::ast::{EmbedPath, Filter, LogicOp, LogicTree};
use crate::filter::ValueMode;
use crate::parsec::{alt, attempt, fatal, label, map, pure, sep_by1, Input, Reply, Seq};
use crate::MAX_NESTING_DEPTH;

impl Input<'_> {
    /// `pLogicTree`: a leaf `field.op.value`, or `[not.]and|or(tree, …)`; `depth` counts
    /// enclosing expressions and is capped at [`MAX_NESTING_DEPTH`].
    pub(crate) fn logic_tree(&self, pos: usize, depth: usize) -> Reply<LogicTree> {
        alt(
            map(attempt(self.logic_filter(pos)), LogicTree::Leaf),
            || self.logic_expr(pos, depth),
        )
    }

    /// `Filter <$> pField <* pDelimiter <*> pOpExpr pLogicSingleVal`.
    fn logic_filter(&self, pos: usize) -> Reply<Filter> {
        let mut s = Seq::new(pos);
        let field = s.run(self.field(s.pos()))?;
        s.run(self.delimiter(s.pos()))?;
        let (negated, operation) = s.run(self.op_expr(s.pos(), ValueMode::Logic))?;
        s.done(Filter {
            field,
            negated,
            operation,
        })
    }

    fn logic_expr(&self, pos: usize, depth: usize) -> Reply<LogicTree> {
        let mut s = Seq::new(pos);
        let at = s.pos();
        let negated = s.run(label(
            alt(
                attempt((|| {
                    let mut n = Seq::new(at);
                    n.run(self.string(n.pos(), "not"))?;
                    n.run(self.delimiter(n.pos()))?;
                    n.done(true)
                })()),
                || pure(at, false),
            ),
            "negation operator (not)",
        ))?;
        let at = s.pos();
        let op = s.run(label(
            alt(
                attempt(map(self.string(at, "and"), |_| LogicOp::And)),
                || map(self.string(at, "or"), |_| LogicOp::Or),
            ),
            "logic operator (and, or)",
        ))?;
        s.run(self.lexeme(s.pos(), |p| self.char_(p, '(')))?;
        if depth >= MAX_NESTING_DEPTH {
            return fatal(
                s.pos(),
                format!("logic tree nested deeper than {MAX_NESTING_DEPTH} levels"),
            );
        }
        let children = s.run(sep_by1(
            s.pos(),
            |p| self.logic_tree(p, depth + 1),
            |p| self.lexeme(p, |q| self.char_(q, ',')),
        ))?;
        s.run(self.lexeme(s.pos(), |p| self.char_(p, ')')))?;
        s.done(LogicTree::Expr {
            negated,
            op,
            children,
        })
    }

    /// `pLogicPath`: `a.b.not.or` → (`["a","b"]`, `"not.or"`). Every `not` segment is
    /// dropped from the path and negates the operator, wherever it stands.
    pub(crate) fn logic_path(&self, pos: usize) -> Reply<(EmbedPath, String)> {
        let mut s = Seq::new(pos);
        let mut names = s.run(sep_by1(
            s.pos(),
            |p| self.field_name(p),
            |p| self.delimiter(p),
        ))?;
        let negated = names.iter().any(|n| n == "not");
        let op = names.pop().unwrap_or_default();
        let path = names.into_iter().filter(|n| n != "not").collect();
        let op = if negated { format!("not.{op}") } else { op };
        s.done((path, op))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests;
