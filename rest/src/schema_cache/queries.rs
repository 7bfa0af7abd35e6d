//! The catalog queries behind the schema cache, each the counterpart of one of PostgREST's
//! `SchemaCache.hs` queries (`tablesSqlQuery`, `columnsSqlQuery`, `allM2OandO2ORels`,
//! `allViewsKeyDependencies`, `funcsSqlQuery`, `allComputedRels`) or of its in-database
//! configuration (`Config/Database.hs`). `$1` is always the list of exposed schemas.

/// Relations of the exposed schemas with their capabilities (`tablesSqlQuery`).
pub(super) const RELATIONS_SQL: &str = r#"
select n.nspname::text, c.relname::text, c.relkind::text,
  c.relkind in ('r','p') or (pg_catalog.pg_relation_is_updatable(c.oid::regclass, true) & 8) = 8,
  c.relkind in ('r','p') or (pg_catalog.pg_relation_is_updatable(c.oid::regclass, true) & 4) = 4,
  c.relkind in ('r','p') or (pg_catalog.pg_relation_is_updatable(c.oid::regclass, true) & 16) = 16,
  pg_catalog.obj_description(c.oid, 'pg_class')
from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
where c.relkind in ('r','v','m','f','p') and not c.relispartition and n.nspname = any($1)
"#;

/// Columns of those relations, domains resolved to their base type (`columnsSqlQuery`).
pub(super) const COLUMNS_SQL: &str = r#"
select n.nspname::text, c.relname::text, a.attname::text,
  pg_catalog.format_type(a.atttypid, a.atttypmod),
  coalesce(bt.typname, t.typname)::text,
  not a.attnotnull,
  case when a.attidentity <> '' then 'nextval(''' || c.relname || '_' || a.attname || '_seq''::regclass)'
       else pg_catalog.pg_get_expr(d.adbin, d.adrelid) end,
  a.attgenerated <> '' or a.attidentity = 'a',
  array(select e.enumlabel::text from pg_catalog.pg_enum e where e.enumtypid = a.atttypid order by e.enumsortorder),
  pg_catalog.col_description(c.oid, a.attnum),
  case when a.atttypmod > 4 and t.typname in ('varchar', 'bpchar') then a.atttypmod - 4 end
from pg_catalog.pg_attribute a
join pg_catalog.pg_class c on c.oid = a.attrelid
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
join pg_catalog.pg_type t on t.oid = a.atttypid
left join pg_catalog.pg_type bt on t.typtype = 'd' and bt.oid = t.typbasetype
left join pg_catalog.pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
where a.attnum > 0 and not a.attisdropped and c.relkind in ('r','v','m','f','p')
  and not c.relispartition and n.nspname = any($1)
order by n.nspname, c.relname, a.attnum
"#;

/// Keys and foreign keys of every table (in any schema: a view or FK may reach a base table in
/// a schema that is not exposed).
pub(super) const CONSTRAINTS_SQL: &str = r#"
select con.conname::text, con.contype::text, n.nspname::text, c.relname::text,
  array(select a.attname::text from unnest(con.conkey) with ordinality k(num, ord)
        join pg_catalog.pg_attribute a on a.attrelid = con.conrelid and a.attnum = k.num order by k.ord),
  fn.nspname::text, fc.relname::text,
  array(select a.attname::text from unnest(con.confkey) with ordinality k(num, ord)
        join pg_catalog.pg_attribute a on a.attrelid = con.confrelid and a.attnum = k.num order by k.ord)
from pg_catalog.pg_constraint con
join pg_catalog.pg_class c on c.oid = con.conrelid
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
left join pg_catalog.pg_class fc on fc.oid = con.confrelid
left join pg_catalog.pg_namespace fn on fn.oid = fc.relnamespace
where con.contype in ('p', 'u', 'f') and n.nspname not in ('pg_catalog', 'information_schema')
union all
select i.indexrelid::regclass::text, 'u', n.nspname::text, c.relname::text,
  array(select a.attname::text from unnest(i.indkey) with ordinality k(num, ord)
        join pg_catalog.pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.num order by k.ord),
  null, null, null
from pg_catalog.pg_index i
join pg_catalog.pg_class c on c.oid = i.indrelid
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
where i.indisunique and i.indpred is null and 0 <> all(i.indkey)
  and not exists (select 1 from pg_catalog.pg_constraint con where con.conindid = i.indexrelid)
  and n.nspname not in ('pg_catalog', 'information_schema')
"#;

/// Every view's `_RETURN` rule and its column names by position (views in any schema: an
/// exposed view may be built on a private one).
pub(super) const VIEW_RULES_SQL: &str = r#"
select n.nspname::text, v.relname::text, r.ev_action::text,
  array(select a.attname::text from pg_catalog.pg_attribute a
        where a.attrelid = v.oid and a.attnum > 0 order by a.attnum)
from pg_catalog.pg_rewrite r
join pg_catalog.pg_class v on v.oid = r.ev_class
join pg_catalog.pg_namespace n on n.oid = v.relnamespace
where v.relkind in ('v', 'm') and r.rulename = '_RETURN'
  and n.nspname not in ('pg_catalog', 'information_schema')
"#;

/// The relations and columns the views' target lists point at.
pub(super) const ORIGIN_COLUMNS_SQL: &str = r#"
select c.oid::int8, a.attnum::int4, n.nspname::text, c.relname::text, a.attname::text
from pg_catalog.pg_attribute a
join pg_catalog.pg_class c on c.oid = a.attrelid
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
where c.oid::int8 = any($1) and a.attnum > 0 and not a.attisdropped
"#;

/// The zone names `Prefer: timezone=` accepts.
pub(super) const TIMEZONES_SQL: &str = "select name::text from pg_catalog.pg_timezone_names";

/// PostgREST's `funcsSqlQuery`: input arguments with `type::regtype` names, and only the
/// callable functions (every argument named, or one unnamed bytea/json/jsonb/text/xml one).
pub(super) const FUNCTIONS_SQL: &str = r#"
with arguments as (
  select oid,
    array_agg(coalesce(name, '')::text order by idx) as names,
    array_agg(type::regtype::text order by idx) as types,
    array_agg((idx <= (pronargs - pronargdefaults)) order by idx) as required,
    array_agg(coalesce(mode = 'v', false) order by idx) as variadic,
    case count(*) - count(name)
      when 0 then true
      when 1 then (array_agg(type))[1] in ('bytea'::regtype, 'json'::regtype, 'jsonb'::regtype, 'text'::regtype, 'xml'::regtype)
      else false
    end as callable
  from pg_catalog.pg_proc,
    unnest(proargnames, proargtypes, proargmodes) with ordinality as _ (name, type, mode, idx)
  where type is not null
    and pronamespace in (select oid from pg_catalog.pg_namespace where nspname = any($1))
  group by oid
)
select n.nspname::text, p.proname::text,
  coalesce(a.names, '{}'), coalesce(a.types, '{}'), coalesce(a.required, '{}'), coalesce(a.variadic, '{}'),
  p.provolatile::text, p.proretset,
  (rt.typtype = 'c' or coalesce(p.proargmodes::text[] && '{t,b,o}', false)),
  pg_catalog.format_type(p.prorettype, null), rn.nspname::text, rc.relname::text,
  pg_catalog.obj_description(p.oid, 'pg_proc'), p.oid::int8, p.prorows::float8
from pg_catalog.pg_proc p
left join arguments a on a.oid = p.oid
join pg_catalog.pg_namespace n on n.oid = p.pronamespace
join pg_catalog.pg_type rt on rt.oid = p.prorettype
left join pg_catalog.pg_class rc on rc.oid = rt.typrelid and rc.relkind in ('r','v','m','f','p')
left join pg_catalog.pg_namespace rn on rn.oid = rc.relnamespace
where n.nspname = any($1) and p.prokind = 'f' and rt.typname not in ('trigger', 'event_trigger')
  and coalesce(a.callable, true)
order by p.oid
"#;

/// PostgREST's `allComputedRels`: `f(tbl) returns [setof] other_tbl` defines `tbl -> other_tbl`
/// named `f`, to-one unless it returns a set of more than one row.
pub(super) const COMPUTED_RELS_SQL: &str = r#"
with all_relations as (
  select reltype from pg_catalog.pg_class where relkind in ('v','r','m','f','p')
)
select pn.nspname::text, p.proname::text, arg_schema.nspname::text, arg_rel.relname::text,
  ret_schema.nspname::text, ret_rel.relname::text, (not p.proretset or p.prorows = 1)
from pg_catalog.pg_proc p
join pg_catalog.pg_namespace pn on pn.oid = p.pronamespace
join pg_catalog.pg_type arg_name on arg_name.oid = p.proargtypes[0]
join pg_catalog.pg_class arg_rel on arg_rel.oid = arg_name.typrelid
join pg_catalog.pg_namespace arg_schema on arg_schema.oid = arg_rel.relnamespace
join pg_catalog.pg_type ret_name on ret_name.oid = p.prorettype
join pg_catalog.pg_class ret_rel on ret_rel.oid = ret_name.typrelid
join pg_catalog.pg_namespace ret_schema on ret_schema.oid = ret_rel.relnamespace
where p.pronargs = 1
  and p.proargtypes[0] in (select reltype from all_relations)
  and p.prorettype in (select reltype from all_relations)
  and pn.nspname = any($1)
order by p.oid
"#;

/// PostgREST's in-database configuration (`db-config`): `ALTER ROLE authenticator SET pgrst.x`.
pub(super) const IN_DB_CONFIG_SQL: &str = r#"
select substr(kv, 1, strpos(kv, '=') - 1), substr(kv, strpos(kv, '=') + 1)
from pg_catalog.pg_db_role_setting s
join pg_catalog.pg_roles r on r.oid = s.setrole
cross join lateral unnest(s.setconfig) kv
where r.rolname = 'authenticator' and kv like 'pgrst.%'
  and (s.setdatabase = 0 or s.setdatabase = (select oid from pg_catalog.pg_database where datname = current_database()))
order by s.setdatabase
"#;
