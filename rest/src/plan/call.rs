//! The call plan, as PostgREST's `Plan.hs` (`callPlan`, `findProc`): the overload whose
//! parameters match the request's argument names (`PGRST202` with PostgREST's hints, `PGRST203`),
//! or the function with one unnamed parameter that takes the whole body; the arguments it is
//! called with; whether it may write; and the read plan of its result.
//! The plan holds no SQL; `render::call` turns it into a statement.

use std::collections::BTreeSet;

use bucketbase_grammar::QueryParams;
use serde_json::{Map, Value};

use super::read::{plan_read, ReadPlan};
use crate::api::media::Media;
use crate::api::prefer::Preferences;
use crate::error::fuzzy::{FuzzySet, DEFAULT_MIN_SCORE, NAME_MIN_SCORE};
use crate::error::{Error, ErrorCode};
use crate::render::sql_text::is_safe_type_name;
use crate::schema_cache::{Function, QualifiedName, ReturnShape, SchemaCache};

/// The arguments of a call, as the request brought them.
#[derive(Debug)]
pub(crate) struct CallArgs {
    /// Named arguments: the JSON body's object, or the query's non-filter parameters.
    pub(crate) named: Map<String, Value>,
    /// The body text of a POST (`{}` for an empty JSON body).
    pub(crate) raw_body: Option<String>,
    /// How the POST body was read (`None` for GET/HEAD).
    pub(crate) body_kind: Option<BodyKind>,
}

/// What the function is called with.
#[derive(Debug)]
pub(crate) enum CallArguments<'a> {
    /// One unnamed parameter takes the whole body (PostgREST's `OnePosParam`).
    Whole {
        /// The body text.
        value: String,
        /// The parameter's type (checked safe to paste).
        data_type: &'a str,
    },
    /// Named parameters, passed as `name := value` from a record built of the JSON object.
    Named {
        /// The object of the given keys (`None` when the function takes none of them).
        json: Option<String>,
        /// The parameters given, in declaration order, with their types (checked safe).
        parameters: Vec<&'a crate::schema_cache::Argument>,
    },
}

/// The shape of the answer.
#[derive(Debug)]
pub(crate) enum CallResult<'a> {
    /// `void` or one scalar: no read plan.
    Value,
    /// `SETOF scalar`: read like rows of one column named after the function.
    Scalars(ReadPlan<'a>),
    /// A row (`single`) or rows of a composite type.
    Rows {
        /// The read plan over the result.
        plan: ReadPlan<'a>,
        /// One row (not SETOF): the answer is an object.
        single: bool,
    },
}

/// A planned call.
#[derive(Debug)]
pub(crate) struct CallPlan<'a> {
    /// The overload called.
    pub(crate) function: &'a Function,
    /// Its arguments.
    pub(crate) arguments: CallArguments<'a>,
    /// GET/HEAD, and STABLE/IMMUTABLE functions, run read-only.
    pub(crate) read_only: bool,
    /// The answer's shape.
    pub(crate) result: CallResult<'a>,
}

/// The request parts a call is planned from.
pub(crate) struct CallRequest<'a> {
    /// The schema cache.
    pub(crate) cache: &'a SchemaCache,
    /// The parsed query string.
    pub(crate) query: &'a QueryParams,
    /// The `Prefer` header.
    pub(crate) prefer: &'a Preferences,
    /// The negotiated media type.
    pub(crate) media: Media,
    /// `db-max-rows`.
    pub(crate) max_rows: Option<i64>,
}

/// Plans the call of `name` with `args`.
pub(crate) fn plan_call<'a>(
    req: &CallRequest<'a>,
    name: &QualifiedName,
    args: CallArgs,
) -> Result<CallPlan<'a>, Error> {
    let is_get = args.body_kind.is_none();
    let keys: Vec<String> = match &req.query.columns {
        Some(cols) if !is_get => cols.clone(),
        _ => args.named.keys().cloned().collect(),
    };
    let function = resolve(req.cache, name, &keys, args.body_kind)?;
    if req.prefer.strict
        && req.prefer.max_affected.is_some()
        && !matches!(
            function.returns,
            ReturnShape::SetOfScalar | ReturnShape::SetOfComposite { .. }
        )
    {
        return Err(Error::new(
            ErrorCode::MaxAffectedNotSetof,
            "Function must return SETOF or TABLE when max-affected preference is used with handling=strict",
        ));
    }
    let arguments = match function.arguments.as_slice() {
        [only] if only.name.is_empty() => {
            let ty = only.data_type.as_str();
            if !is_safe_type_name(ty) {
                return Err(Error::internal(format!("unexpected type name {ty}")));
            }
            let value = args
                .raw_body
                .unwrap_or_else(|| Value::Object(args.named.clone()).to_string());
            CallArguments::Whole {
                value,
                data_type: ty,
            }
        }
        all => {
            let parameters: Vec<_> = all.iter().filter(|a| keys.contains(&a.name)).collect();
            if let Some(a) = parameters.iter().find(|a| !is_safe_type_name(&a.data_type)) {
                return Err(Error::internal(format!(
                    "unexpected type name {}",
                    a.data_type
                )));
            }
            let json = (!parameters.is_empty()).then(|| {
                let mut only: Map<String, Value> = Map::new();
                for k in &keys {
                    only.insert(k.clone(), args.named.get(k).cloned().unwrap_or(Value::Null));
                }
                Value::Object(only).to_string()
            });
            CallArguments::Named { json, parameters }
        }
    };
    let result = match &function.returns {
        ReturnShape::Void | ReturnShape::Scalar => {
            // A single value is not rows: no CSV or GeoJSON of it.
            let unavailable = match req.media {
                Media::Csv => Some("text/csv"),
                Media::GeoJson => Some("application/geo+json"),
                _ => None,
            };
            if let Some(media) = unavailable {
                return Err(Error::new(
                    ErrorCode::MediaTypeNotAvailable,
                    format!("None of these media types are available: {media}"),
                ));
            }
            CallResult::Value
        }
        ReturnShape::SetOfScalar => CallResult::Scalars(plan_read(
            req.cache,
            req.query,
            &function.name,
            None,
            req.max_rows,
            true,
        )?),
        ReturnShape::Composite { relation } | ReturnShape::SetOfComposite { relation } => {
            let table = relation.as_ref().and_then(|r| req.cache.tables.get(r));
            let origin = relation.as_ref().unwrap_or(&function.name);
            CallResult::Rows {
                plan: plan_read(req.cache, req.query, origin, table, req.max_rows, true)?,
                single: matches!(function.returns, ReturnShape::Composite { .. }),
            }
        }
    };
    Ok(CallPlan {
        function,
        arguments,
        read_only: is_get || !function.is_volatile(),
        result,
    })
}

/// How a POST body is to be read (its `Content-Type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyKind {
    /// `application/json`: named arguments, or one unnamed json/jsonb parameter.
    Json,
    /// `text/plain`: one unnamed text parameter.
    Text,
    /// `text/xml`: one unnamed xml parameter.
    Xml,
    /// `application/octet-stream`: one unnamed bytea parameter.
    Bytes,
}

/// PostgREST's `findProc`: the overload whose parameters match `keys` (all required ones
/// present, the rest optional; an unnamed parameter is named `""`), else a function with a
/// single unnamed parameter that takes the POST body as a whole.
fn resolve<'c>(
    cache: &'c SchemaCache,
    name: &QualifiedName,
    keys: &[String],
    post: Option<BodyKind>,
) -> Result<&'c Function, Error> {
    let overloads: &[Function] = cache.functions.get(name).map(Vec::as_slice).unwrap_or(&[]);
    let key_set: BTreeSet<&str> = keys.iter().map(String::as_str).collect();
    let raw_body = matches!(post, Some(BodyKind::Text | BodyKind::Xml | BodyKind::Bytes));
    let matches_params = |f: &Function| {
        if f.arguments.is_empty() {
            return key_set.is_empty() && !raw_body;
        }
        let required: BTreeSet<&str> = f
            .arguments
            .iter()
            .filter(|a| a.required)
            .map(|a| a.name.as_str())
            .collect();
        let optional: BTreeSet<&str> = f
            .arguments
            .iter()
            .filter(|a| !a.required)
            .map(|a| a.name.as_str())
            .collect();
        if optional.is_empty() {
            key_set == required
        } else if required.is_empty() {
            key_set.is_subset(&optional)
        } else {
            key_set
                .difference(&optional)
                .copied()
                .collect::<BTreeSet<&str>>()
                == required
        }
    };
    let single_unnamed = |f: &Function| {
        let [a] = f.arguments.as_slice() else {
            return false;
        };
        a.name.is_empty()
            && matches!(
                (post, a.data_type.as_str()),
                (Some(BodyKind::Json), "json" | "jsonb")
                    | (Some(BodyKind::Text), "text")
                    | (Some(BodyKind::Xml), "xml")
                    | (Some(BodyKind::Bytes), "bytea")
            )
    };
    let mut matched = Vec::new();
    let mut fallback = Vec::new();
    for f in overloads {
        if matches_params(f) {
            matched.push(f);
        } else if single_unnamed(f) {
            fallback.push(f);
        }
    }
    let found = if matched.is_empty() {
        fallback
    } else {
        matched
    };
    match found.len() {
        1 => Ok(found[0]),
        0 => {
            let list = keys.join(", ");
            let func = name.to_string();
            let message = match (raw_body, keys.is_empty()) {
                (true, _) => format!("Could not find the function {func} in the schema cache"),
                (false, true) => {
                    format!(
                        "Could not find the function {func} without parameters in the schema cache"
                    )
                }
                (false, false) => {
                    format!("Could not find the function {func}({list}) in the schema cache")
                }
            };
            let params = if keys.is_empty() {
                " without parameters".to_string()
            } else {
                format!(
                    " with parameter{} {list}",
                    if keys.len() > 1 { "s" } else { "" }
                )
            };
            let searched = match post {
                Some(BodyKind::Text) => " with a single unnamed text parameter".to_string(),
                Some(BodyKind::Xml) => " with a single unnamed xml parameter".to_string(),
                Some(BodyKind::Bytes) => " with a single unnamed bytea parameter".to_string(),
                Some(BodyKind::Json) => {
                    format!("{params} or with a single unnamed json/jsonb parameter")
                }
                None => params,
            };
            let mut err = Error::new(ErrorCode::FunctionNotFound, message).details(format!(
                "Searched for the function {func}{searched}, but no matches were found in the schema cache."
            ));
            if !raw_body {
                if let Some(hint) = no_rpc_hint(cache, name, keys, overloads) {
                    err = err.hint(hint);
                }
            }
            Err(err)
        }
        _ => {
            let sigs: Vec<String> = found
                .iter()
                .map(|f| {
                    let args: Vec<String> = f
                        .arguments
                        .iter()
                        .map(|a| format!("{} => {}", a.name, a.data_type))
                        .collect();
                    format!("{}({})", f.name, args.join(", "))
                })
                .collect();
            Err(Error::new(ErrorCode::AmbiguousFunction,
                format!(
                    "Could not choose the best candidate function between: {}",
                    sigs.join(", ")
                ),
            )
            .hint("Try renaming the parameters or the function itself in the database so function overloading can be resolved"))
        }
    }
}

/// `noRpcHint`: a close function name when none is called so, else the closest parameter
/// list among the overloads.
fn no_rpc_hint(
    cache: &SchemaCache,
    name: &QualifiedName,
    keys: &[String],
    overloads: &[Function],
) -> Option<String> {
    let prefix = format!("Perhaps you meant to call the function {}.", name.schema);
    if overloads.is_empty() {
        let names = cache
            .functions
            .keys()
            .filter(|k| k.schema == name.schema)
            .map(|k| k.name.as_str());
        let set = FuzzySet::new(names);
        let best = set.get_one(&name.name, NAME_MIN_SCORE)?;
        return Some(format!("{prefix}{best}"));
    }
    let list_text = |names: Vec<&str>| {
        let mut names = names;
        names.sort_unstable();
        format!("({})", names.join(", "))
    };
    let wanted = list_text(keys.iter().map(String::as_str).collect());
    let candidates: Vec<String> = overloads
        .iter()
        .map(|f| list_text(f.arguments.iter().map(|a| a.name.as_str()).collect()))
        .collect();
    let set = FuzzySet::new(candidates.iter().map(String::as_str));
    let best = set.get_one(&wanted, DEFAULT_MIN_SCORE)?;
    Some(format!("{prefix}{}{best}", name.name))
}
