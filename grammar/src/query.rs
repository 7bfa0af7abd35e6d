//! Classification of a whole query string, mirroring `parse` and the `pRequest*` functions
//! of PostgREST's `ApiRequest/QueryParams.hs` (plus the limit/offset reading that
//! `RangeQuery.hs` and `ApiRequest.getRanges` do with it).
//!
//! Errors are reported in upstream's order: order, logic trees, columns, select, filters,
//! on_conflict, then limits (a negative `limit` is `getRanges`' range error, `PGRST103`).

use std::collections::{HashMap, HashSet};

use crate::ast::{EmbedPath, Filter, LogicTree, OrderTerm, QueryParams, SelectItem};
use crate::error::ParseError;
use crate::filter::ValueMode;
use crate::memo::Memo;
use crate::message::render;
use crate::parsec::{sep_by1, Input, Reply};
use crate::urlencoded::{query_pairs, RawPair};
use crate::MAX_INPUT_LEN;

/// Keys reserved at the root only.
const RESERVED: [&str; 3] = ["select", "columns", "on_conflict"];

/// Run `p` on `text` as `P.parse p "failed to parse <what> (<shown>)" text` does: the
/// parser need not reach the end of the input. The first pass is silent; a failing input
/// is parsed again with messages to render the error.
fn run<T>(
    what: &str,
    shown: &str,
    text: &str,
    p: impl Fn(&Input<'_>, usize) -> Reply<T>,
) -> Result<T, ParseError> {
    if text.len() > MAX_INPUT_LEN {
        return Err(ParseError::too_long(what));
    }
    let chars: Vec<char> = text.chars().collect();
    match p(&Input::new(&chars, false), 0) {
        Ok(parsed) => Ok(parsed.val),
        Err(_) => Err(explain(
            &format!("failed to parse {what} ({shown})"),
            &chars,
            p,
        )),
    }
}

/// The error of a parse known to fail, rendered from a second pass with messages.
fn explain<T>(
    source_name: &str,
    chars: &[char],
    p: impl Fn(&Input<'_>, usize) -> Reply<T>,
) -> ParseError {
    match p(&Input::new(chars, true), 0) {
        Err(f) => render(source_name, chars, &f.err),
        // Unreachable: both passes take the same path.
        Ok(_) => ParseError {
            message: format!("\"{source_name}\""),
            details: None,
        },
    }
}

/// Parse a `select` value (`pRequestSelect`); `""` is an empty list.
pub fn parse_select(s: &str) -> Result<Vec<SelectItem>, ParseError> {
    static MEMO: Memo<Vec<SelectItem>> = Memo::new();
    MEMO.get_or_parse(s, |s| {
        run("select parameter", s, s, |i, p| i.field_forest(p, 0))
    })
}

/// Parse a `columns` value (`pRequestColumns`): names separated by commas.
pub fn parse_columns(s: &str) -> Result<Vec<String>, ParseError> {
    run("columns parameter", s, s, columns)
}

/// Parse an `on_conflict` value (`pRequestOnConflict`): names separated by commas.
pub fn parse_on_conflict(s: &str) -> Result<Vec<String>, ParseError> {
    run("on_conflict parameter", s, s, columns)
}

/// `pColumns = pFieldName `sepBy1` lexeme (char ',')`.
fn columns(i: &Input<'_>, pos: usize) -> Reply<Vec<String>> {
    sep_by1(
        pos,
        |p| i.field_name(p),
        |p| i.lexeme(p, |q| i.char_(q, ',')),
    )
}

/// Parse an `order` value (`pOrder`).
pub fn parse_order(s: &str) -> Result<Vec<OrderTerm>, ParseError> {
    static MEMO: Memo<Vec<OrderTerm>> = Memo::new();
    MEMO.get_or_parse(s, |s| run("order", s, s, |i, p| i.order(p)))
}

/// Parse a key as `pTreePath` (`rel.rel2.field->json`).
fn tree_path(key: &str) -> Result<(EmbedPath, crate::ast::Field), ParseError> {
    static MEMO: Memo<(EmbedPath, crate::ast::Field)> = Memo::new();
    MEMO.get_or_parse(key, |key| run("tree path", key, key, |i, p| i.tree_path(p)))
}

/// Parse a filter `field_key=value` (`pRequestFilter False`): the key is
/// `[embed.path.]field[->json]`, the value `[not.]op[(modifier)].value`.
pub fn parse_filter(field_key: &str, value: &str) -> Result<(EmbedPath, Filter), ParseError> {
    match filter_or_argument(field_key, value, false)? {
        FilterParam::Filter(path, filter) => Ok((path, filter)),
        // Unreachable: arguments are only produced when `rpc_get` is true.
        FilterParam::Argument(name, _) => Err(ParseError {
            message: format!("failed to parse filter ({name})"),
            details: None,
        }),
    }
}

/// What a non-reserved parameter turned out to be.
enum FilterParam {
    Filter(EmbedPath, Filter),
    Argument(String, String),
}

/// `pRequestFilter isRpcRead`: on an RPC read, a value whose operator part fails without
/// consuming input (`pOpExpr pSingleVal <|> pure (NoOpExpr v)`) is a function argument
/// named by the key's last field name; one that fails after consuming (`not.x`, `in.x`,
/// `is.x`) is still an error.
fn filter_or_argument(key: &str, value: &str, rpc_get: bool) -> Result<FilterParam, ParseError> {
    let (path, field) = tree_path(key)?;
    if value.len() > MAX_INPUT_LEN {
        return Err(ParseError::too_long("filter"));
    }
    let chars: Vec<char> = value.chars().collect();
    match Input::new(&chars, false).op_expr(0, ValueMode::Param) {
        Ok(parsed) => {
            let (negated, operation) = parsed.val;
            Ok(FilterParam::Filter(
                path,
                Filter {
                    field,
                    negated,
                    operation,
                },
            ))
        }
        Err(f) if rpc_get && !f.consumed => {
            Ok(FilterParam::Argument(field.name, value.to_string()))
        }
        Err(_) => Err(explain(
            &format!("failed to parse filter ({value})"),
            &chars,
            |i, p| i.op_expr(p, ValueMode::Param),
        )),
    }
}

/// Parse a logic tree (`pRequestLogicTree`): `key` is `[embed.path.][not.]or|and`, `value`
/// the parenthesised list, e.g. (`"not.or"`, `"(a.eq.1,b.gt.2)"`).
pub fn parse_logic(key: &str, value: &str) -> Result<(EmbedPath, LogicTree), ParseError> {
    let (path, op) = run("logic path", key, key, |i, p| i.logic_path(p))?;
    let text = format!("{op}{value}");
    let tree = run("logic tree", value, &text, |i, p| i.logic_tree(p, 0))?;
    Ok((path, tree))
}

/// Haskell's `readMaybe :: Maybe Integer` for decimal text, saturated to `i64`.
fn read_integer(v: &str) -> Option<i64> {
    let t = v.trim();
    let (negative, digits) = match t.strip_prefix('-') {
        Some(rest) => (true, rest.trim_start()),
        None => (false, t),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let magnitude = digits.trim_start_matches('0');
    let parsed = if magnitude.is_empty() {
        Some(0)
    } else {
        magnitude.parse::<i64>().ok()
    };
    Some(match (parsed, negative) {
        (Some(n), false) => n,
        (Some(n), true) => -n,
        (None, false) => i64::MAX,
        (None, true) => i64::MIN,
    })
}

/// The last segment of a dotted key (`a.b.order` → `order`), split on every dot as
/// upstream's `endingIn` does (dots inside quotes included).
fn last_segment(key: &str) -> &str {
    key.rsplit('.').next().unwrap_or(key)
}

/// Replace the last dotted segment of `key` (upstream rewrites `x.offset` to `x.limit`).
fn replace_last(key: &str, with: &str) -> String {
    match key.rsplit_once('.') {
        Some((init, _)) => format!("{init}.{with}"),
        None => with.to_string(),
    }
}

/// `HM.fromList`: the last value of each key wins, keys in first-seen order.
fn last_wins<'a>(pairs: impl Iterator<Item = (String, &'a str)>) -> Vec<(String, &'a str)> {
    let mut out: Vec<(String, &'a str)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for (k, v) in pairs {
        match index.get(&k) {
            Some(&i) => {
                if let Some(slot) = out.get_mut(i) {
                    slot.1 = v;
                }
            }
            None => {
                index.insert(k.clone(), out.len());
                out.push((k, v));
            }
        }
    }
    out
}

/// Parse a raw query string (without or with its leading `?`) into [`QueryParams`].
///
/// `rpc_get` is true for `GET`/`HEAD /rpc/fn`: non-reserved params whose value is not an
/// operator expression become [`QueryParams::rpc_args`] instead of errors.
///
/// A negative `limit` (root or embedded) is reported as a range error
/// ([`ParseError::is_range_error`], message `Requested range not satisfiable`) for the
/// caller to answer 416 `PGRST103`; every other error is a 400 `PGRST100`. A `limit` or
/// `offset` that is not an integer is ignored, and a negative `offset` counts as 0, both
/// as upstream.
pub fn parse_query_string(raw_query: &str, rpc_get: bool) -> Result<QueryParams, ParseError> {
    if raw_query.len() > MAX_INPUT_LEN {
        return Err(ParseError::too_long("query string"));
    }
    let pairs: Vec<RawPair> = query_pairs(raw_query);
    // `lookupParam`: the first pair with that key decides, even if it has no `=`.
    let lookup = |name: &str| -> Option<&str> {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| v.as_deref())
    };
    let with_value: Vec<(&str, &str)> = pairs
        .iter()
        .filter_map(|(k, v)| v.as_deref().map(|v| (k.as_str(), v)))
        .collect();
    let ending_in = |words: &[&str]| -> Vec<(&str, &str)> {
        with_value
            .iter()
            .filter(|(k, _)| words.contains(&last_segment(k)))
            .copied()
            .collect()
    };

    let mut out = QueryParams::default();
    for (k, v) in ending_in(&["order"]) {
        let (path, _) = tree_path(k)?;
        out.order.push((path, parse_order(v)?));
    }
    for (k, v) in ending_in(&["and", "or"]) {
        out.logic.push(parse_logic(k, v)?);
    }
    if let Some(v) = lookup("columns") {
        // Upstream keeps a Set; keep the first occurrence of each name.
        let mut seen: HashSet<String> = HashSet::new();
        let cols = parse_columns(v)?
            .into_iter()
            .filter(|c| seen.insert(c.clone()))
            .collect();
        out.columns = Some(cols);
    }
    if let Some(v) = lookup("select") {
        out.select = Some(parse_select(v)?);
    }
    let embeddable = ["order", "limit", "offset", "and", "or"];
    for (k, v) in with_value.iter().copied() {
        if embeddable.contains(&last_segment(k)) || RESERVED.contains(&k) {
            continue;
        }
        match filter_or_argument(k, v, rpc_get)? {
            FilterParam::Filter(path, filter) => out.filters.push((path, filter)),
            FilterParam::Argument(name, value) => out.rpc_args.push((name, value)),
        }
    }
    if let Some(v) = lookup("on_conflict") {
        out.on_conflict = Some(parse_on_conflict(v)?);
    }

    let limits = last_wins(
        ending_in(&["limit"])
            .into_iter()
            .map(|(k, v)| (k.to_string(), v)),
    );
    let offsets = last_wins(
        ending_in(&["offset"])
            .into_iter()
            .map(|(k, v)| (replace_last(k, "limit"), v)),
    );
    if limits
        .iter()
        .any(|(_, v)| read_integer(v).is_some_and(|n| n < 0))
    {
        return Err(ParseError::negative_limit());
    }
    out.limit = per_path(&limits, |n| n)?;
    out.offset = per_path(&offsets, |n| n.max(0))?;
    Ok(out)
}

/// Integer values by embed path, the last one winning (`"a".limit` and `a.limit` name the
/// same path); values that are not integers are skipped.
fn per_path(
    params: &[(String, &str)],
    adjust: impl Fn(i64) -> i64,
) -> Result<Vec<(EmbedPath, i64)>, ParseError> {
    let mut out: Vec<(EmbedPath, i64)> = Vec::new();
    let mut index: HashMap<EmbedPath, usize> = HashMap::new();
    for (k, v) in params {
        let (path, _) = tree_path(k)?;
        let Some(n) = read_integer(v).map(&adjust) else {
            continue;
        };
        match index.get(&path) {
            Some(&i) => {
                if let Some(slot) = out.get_mut(i) {
                    slot.1 = n;
                }
            }
            None => {
                index.insert(path.clone(), out.len());
                out.push((path, n));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
