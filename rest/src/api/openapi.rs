//! The OpenAPI document at `GET /rest/v1/`: the Swagger 2.0 description PostgREST's
//! `Response/OpenAPI.hs` serves for the selected schema (paths for every relation and function,
//! definitions with column types, formats, defaults and descriptions), which the Supabase CLI and
//! type generators read. `info.version` reports a PostgREST 13-style version.

use serde_json::{json, Map, Value};

use crate::schema_cache::{Column, ReturnShape, SchemaCache, Table};

/// The PostgREST version we answer as.
pub(crate) const POSTGREST_VERSION: &str = "13.0.5";

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
pub(crate) fn document(cache: &SchemaCache, schema: &str, host: &str) -> Value {
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

/// Beyond PostgREST: the same description as an OpenAPI 3.1 document (served at
/// `GET /rest/v1/openapi.json`), converted from the Swagger 2.0 one so the two never disagree:
/// `definitions` become `components/schemas`, shared parameters `components/parameters`, body
/// parameters `requestBody`, and every `$ref` is rewritten.
pub(crate) fn document_v3(swagger: &Value) -> Value {
    let host = swagger["host"].as_str().unwrap_or("localhost");
    let mut parameters = Map::new();
    let mut request_bodies = Map::new();
    if let Some(params) = swagger["parameters"].as_object() {
        for (name, p) in params {
            if p["in"] == "body" {
                request_bodies.insert(name.clone(), request_body(p));
            } else {
                parameters.insert(name.clone(), parameter_v3(p));
            }
        }
    }
    let mut paths = Map::new();
    if let Some(swagger_paths) = swagger["paths"].as_object() {
        for (path, ops) in swagger_paths {
            let mut new_ops = Map::new();
            for (verb, op) in ops.as_object().into_iter().flatten() {
                if !op.is_object() {
                    new_ops.insert(verb.clone(), op.clone());
                    continue;
                }
                let mut new_op = Map::new();
                let mut params = Vec::new();
                for p in op["parameters"].as_array().into_iter().flatten() {
                    match p["$ref"].as_str() {
                        Some(r) => {
                            let name = r.trim_start_matches("#/parameters/");
                            if request_bodies.contains_key(name) {
                                new_op.insert(
                                    "requestBody".into(),
                                    json!({"$ref": format!("#/components/requestBodies/{name}")}),
                                );
                            } else {
                                params.push(
                                    json!({"$ref": format!("#/components/parameters/{name}")}),
                                );
                            }
                        }
                        None if p["in"] == "body" => {
                            new_op.insert("requestBody".into(), request_body(p));
                        }
                        None => params.push(parameter_v3(p)),
                    }
                }
                if !params.is_empty() {
                    new_op.insert("parameters".into(), Value::Array(params));
                }
                let mut responses = Map::new();
                for (code, r) in op["responses"].as_object().into_iter().flatten() {
                    let mut resp = json!({"description": r["description"].clone()});
                    if let Some(schema) = r.get("schema") {
                        resp["content"] =
                            json!({"application/json": {"schema": rewrite_refs(schema)}});
                    }
                    responses.insert(code.clone(), resp);
                }
                new_op.insert("responses".into(), Value::Object(responses));
                for key in ["summary", "description", "tags"] {
                    if let Some(v) = op.get(key) {
                        new_op.insert(key.into(), v.clone());
                    }
                }
                new_ops.insert(verb.clone(), Value::Object(new_op));
            }
            paths.insert(path.clone(), Value::Object(new_ops));
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": swagger["info"].clone(),
        "servers": [{"url": format!("http://{host}/rest/v1")}],
        "paths": paths,
        "components": {
            "schemas": rewrite_refs(&swagger["definitions"]),
            "parameters": parameters,
            "requestBodies": request_bodies,
        },
    })
}

fn parameter_v3(p: &Value) -> Value {
    let mut schema = Map::new();
    for key in ["type", "enum", "default", "format"] {
        if let Some(v) = p.get(key) {
            schema.insert(key.into(), v.clone());
        }
    }
    json!({
        "name": p["name"].clone(),
        "in": p["in"].clone(),
        "required": p["required"].as_bool().unwrap_or(false),
        "description": p["description"].clone(),
        "schema": schema,
    })
}

fn request_body(p: &Value) -> Value {
    json!({
        "description": p["description"].clone(),
        "required": p["required"].as_bool().unwrap_or(false),
        "content": {"application/json": {"schema": rewrite_refs(&p["schema"])}},
    })
}

/// Rewrites Swagger `#/definitions/x` references to `#/components/schemas/x`.
fn rewrite_refs(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| match (k.as_str(), v.as_str()) {
                    ("$ref", Some(r)) => (
                        k.clone(),
                        Value::String(r.replacen("#/definitions/", "#/components/schemas/", 1)),
                    ),
                    _ => (k.clone(), rewrite_refs(v)),
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(rewrite_refs).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_swagger_to_openapi_31() {
        let swagger = json!({
            "swagger": "2.0",
            "info": {"title": "standard public schema", "version": POSTGREST_VERSION},
            "host": "h:1",
            "paths": {"/todos": {
                "get": {"parameters": [{"$ref": "#/parameters/select"}], "responses": {"200": {"description": "OK", "schema": {"items": {"$ref": "#/definitions/todos"}, "type": "array"}}}, "tags": ["todos"]},
                "post": {"parameters": [{"$ref": "#/parameters/body.todos"}], "responses": {"201": {"description": "Created"}}}
            }},
            "definitions": {"todos": {"type": "object", "properties": {"id": {"type": "integer", "format": "bigint"}}}},
            "parameters": {
                "select": {"name": "select", "in": "query", "required": false, "type": "string", "description": "Filtering Columns"},
                "body.todos": {"name": "todos", "in": "body", "required": false, "schema": {"$ref": "#/definitions/todos"}}
            }
        });
        let v3 = document_v3(&swagger);
        assert_eq!(v3["openapi"], "3.1.0");
        assert_eq!(v3["servers"][0]["url"], "http://h:1/rest/v1");
        assert_eq!(
            v3["paths"]["/todos"]["get"]["parameters"][0]["$ref"],
            "#/components/parameters/select"
        );
        assert_eq!(
            v3["components"]["parameters"]["select"]["schema"]["type"],
            "string"
        );
        assert_eq!(
            v3["paths"]["/todos"]["get"]["responses"]["200"]["content"]["application/json"]
                ["schema"]["items"]["$ref"],
            "#/components/schemas/todos"
        );
        assert_eq!(
            v3["paths"]["/todos"]["post"]["requestBody"]["$ref"],
            "#/components/requestBodies/body.todos"
        );
        assert_eq!(
            v3["components"]["requestBodies"]["body.todos"]["content"]["application/json"]
                ["schema"]["$ref"],
            "#/components/schemas/todos"
        );
        assert!(!v3.to_string().contains("#/definitions/"));
    }
}
