use std::time::Instant;
fn main() {
    let q = "select=id,name,owner:users!todos_owner_fkey(id,%22full+name%22),tags!inner(*),...profile(bio)&done=eq.false&status=in.(a,%22b,c%22,%22x(y)%22)&x=is.null&y=not.is.null&tags.or=(a.eq.1,b.gt.2)&order=created_at.desc.nullslast,id.asc&tags.order=name.asc&tags.limit=5&offset=10&limit=10";
    let n = 20000;
    let t = Instant::now();
    for _ in 0..n { let _ = bucketbase_grammar::parse_query_string(q, false).unwrap(); }
    println!("{:.1} us/query", t.elapsed().as_secs_f64() * 1e6 / n as f64);
}
