//! The OpenAPI document at `GET /rest/v1/`: the Swagger 2.0 description PostgREST's
//! `Response/OpenAPI.hs` serves for the selected schema (paths for every relation and function,
//! definitions with column types, formats, defaults and descriptions), which the Supabase CLI and
//! type generators read. `info.version` reports a PostgREST 13-style version.

use serde_json::{json, Map, Value};

use crate::schema::{Column, ReturnShape, SchemaCache, Table};

/// The PostgREST version we answer as.
pub const POSTGREST_VERSION: &str = "13.0.5";

fn swagger_type(c: &Column) -> (&'static str, Option<Value>) {
    let t = c.data_type.as_str();
    if t.ends_with("[]") {
        return ("array", Some(json!({"type": "string"})));
    }
    let ty = match c.base_type.as_str() {
        "int2" | "int4" | "int8" => "integer",
        "float4" | "float8" | "numeric" => "number",
        "bool" => "boolean",
        "json" | "jsonb" => "object",
        _ => "string",
    };
    // json/jsonb have no "type" in PostgREST's output, only a format.
    (ty, None)
}

fn definition(t: &Table) -> Value {
    let mut props = Map::new();
    let mut required = Vec::new();
    for c in &t.columns {
        let (ty, items) = swagger_type(c);
        let mut p = Map::new();
        let mut description = c.description.clone().unwrap_or_default();
        if t.primary_key.contains(&c.name) {
            if !description.is_empty() {
                description.push_str("\n\n");
            }
            description.push_str("Note:\nThis is a Primary Key.<pk/>");
        }
        if let Some(d) = &c.default {
            p.insert("default".into(), Value::String(d.clone()));
        }
        if !description.is_empty() {
            p.insert("description".into(), Value::String(description));
        }
        if !c.enum_values.is_empty() {
            p.insert("enum".into(), json!(c.enum_values));
        }
        p.insert("format".into(), Value::String(c.data_type.clone()));
        if let Some(m) = c.max_length {
            p.insert("maxLength".into(), json!(m));
        }
        if !c.is_json() {
            p.insert("type".into(), Value::String(ty.into()));
        }
        if let Some(i) = items {
            p.insert("items".into(), i);
        }
        if !c.nullable && c.default.is_none() {
            required.push(c.name.clone());
        }
        props.insert(c.name.clone(), Value::Object(p));
    }
    let mut d = json!({"properties": props, "type": "object"});
    if !required.is_empty() {
        d["required"] = json!(required);
    }
    if let Some(desc) = &t.description {
        d["description"] = json!(desc);
    }
    d
}

/// The Swagger 2.0 document for `schema`.
pub fn document(cache: &SchemaCache, schema: &str, host: &str) -> Value {
    let mut tables: Vec<&Table> = cache
        .tables
        .values()
        .filter(|t| t.name.schema == schema)
        .collect();
    tables.sort_by(|a, b| a.name.name.cmp(&b.name.name));
    let mut paths = Map::new();
    paths.insert(
        "/".into(),
        json!({"get": {"produces": ["application/openapi+json", "application/json"], "responses": {"200": {"description": "OK"}}, "summary": "OpenAPI description (this document)", "tags": ["Introspection"]}}),
    );
    let mut definitions = Map::new();
    for t in &tables {
        let name = &t.name.name;
        let reference = format!("#/definitions/{name}");
        let mut ops = Map::new();
        ops.insert(
            "get".into(),
            json!({
                "parameters": [{"$ref": "#/parameters/select"}, {"$ref": "#/parameters/order"}, {"$ref": "#/parameters/range"}, {"$ref": "#/parameters/rangeUnit"}, {"$ref": "#/parameters/offset"}, {"$ref": "#/parameters/limit"}, {"$ref": "#/parameters/preferCount"}],
                "responses": {"200": {"description": "OK", "schema": {"items": {"$ref": reference}, "type": "array"}}, "206": {"description": "Partial Content"}},
                "tags": [name],
            }),
        );
        if t.insertable {
            ops.insert("post".into(), json!({"parameters": [{"$ref": format!("#/parameters/body.{name}")}, {"$ref": "#/parameters/select"}, {"$ref": "#/parameters/preferPost"}], "responses": {"201": {"description": "Created"}}, "tags": [name]}));
        }
        if t.updatable {
            ops.insert("patch".into(), json!({"parameters": [{"$ref": format!("#/parameters/body.{name}")}, {"$ref": "#/parameters/preferReturn"}], "responses": {"204": {"description": "No Content"}}, "tags": [name]}));
        }
        if t.deletable {
            ops.insert("delete".into(), json!({"parameters": [{"$ref": "#/parameters/preferReturn"}], "responses": {"204": {"description": "No Content"}}, "tags": [name]}));
        }
        if let Some(d) = &t.description {
            ops.insert("summary".into(), json!(d));
        }
        paths.insert(format!("/{name}"), Value::Object(ops));
        definitions.insert(name.clone(), definition(t));
    }
    let mut functions: Vec<_> = cache
        .functions
        .iter()
        .filter(|(k, _)| k.schema == schema)
        .collect();
    functions.sort_by(|a, b| a.0.name.cmp(&b.0.name));
    for (name, overloads) in functions {
        let Some(f) = overloads.first() else { continue };
        let mut props = Map::new();
        let mut required = Vec::new();
        for a in &f.arguments {
            props.insert(
                a.name.clone(),
                json!({"format": a.data_type, "type": "string"}),
            );
            if a.required {
                required.push(a.name.clone());
            }
        }
        let body = json!({"in": "body", "name": "args", "required": true, "schema": {"properties": props, "required": required, "type": "object"}});
        let mut ops = json!({
            "post": {"parameters": [body, {"$ref": "#/parameters/preferParams"}], "produces": ["application/json", "application/vnd.pgrst.object+json"], "responses": {"200": {"description": "OK"}}, "tags": ["(rpc) ".to_string() + &name.name]},
        });
        if !f.is_volatile() || matches!(f.returns, ReturnShape::Void) {
            ops["get"] = json!({"parameters": [], "produces": ["application/json", "application/vnd.pgrst.object+json"], "responses": {"200": {"description": "OK"}}, "tags": ["(rpc) ".to_string() + &name.name]});
        }
        if let Some(d) = &f.description {
            ops["post"]["summary"] = json!(d);
        }
        paths.insert(format!("/rpc/{}", name.name), ops);
    }
    let mut parameters = json!({
        "preferParams": {"name": "Prefer", "description": "Preference", "required": false, "enum": ["params=single-object"], "in": "header", "type": "string"},
        "preferReturn": {"name": "Prefer", "description": "Preference", "required": false, "enum": ["return=representation", "return=minimal", "return=none"], "in": "header", "type": "string"},
        "preferCount": {"name": "Prefer", "description": "Preference", "required": false, "enum": ["count=none"], "in": "header", "type": "string"},
        "preferPost": {"name": "Prefer", "description": "Preference", "required": false, "enum": ["return=representation", "return=minimal", "return=none", "resolution=ignore-duplicates", "resolution=merge-duplicates"], "in": "header", "type": "string"},
        "select": {"name": "select", "description": "Filtering Columns", "required": false, "in": "query", "type": "string"},
        "on_conflict": {"name": "on_conflict", "description": "On Conflict", "required": false, "in": "query", "type": "string"},
        "order": {"name": "order", "description": "Ordering", "required": false, "in": "query", "type": "string"},
        "range": {"name": "Range", "description": "Limiting and Pagination", "required": false, "in": "header", "type": "string"},
        "rangeUnit": {"name": "Range-Unit", "description": "Limiting and Pagination", "required": false, "default": "items", "in": "header", "type": "string"},
        "offset": {"name": "offset", "description": "Limiting and Pagination", "required": false, "in": "query", "type": "string"},
        "limit": {"name": "limit", "description": "Limiting and Pagination", "required": false, "in": "query", "type": "string"},
    });
    for t in &tables {
        parameters[format!("body.{}", t.name.name)] = json!({"name": t.name.name, "description": t.name.name, "required": false, "in": "body", "schema": {"$ref": format!("#/definitions/{}", t.name.name)}});
    }
    json!({
        "swagger": "2.0",
        "info": {"description": "", "title": "standard public schema", "version": POSTGREST_VERSION},
        "host": host,
        "basePath": "/",
        "schemes": ["http"],
        "consumes": ["application/json", "application/vnd.pgrst.object+json;nulls=stripped", "application/vnd.pgrst.object+json", "text/csv"],
        "produces": ["application/json", "application/vnd.pgrst.object+json;nulls=stripped", "application/vnd.pgrst.object+json", "text/csv"],
        "paths": paths,
        "definitions": definitions,
        "parameters": parameters,
    })
}
