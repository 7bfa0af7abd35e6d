fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_default();
    for s in args {
        match mode.as_str() {
            "select" => println!("{s:?} => {:?}", bucketbase_grammar::parse_select(&s)),
            "filter" => println!("{s:?} => {:?}", bucketbase_grammar::parse_filter("c", &s)),
            "key" => println!("{s:?} => {:?}", bucketbase_grammar::parse_filter(&s, "eq.1")),
            "order" => println!("{s:?} => {:?}", bucketbase_grammar::parse_order(&s)),
            "or" => println!("{s:?} => {:?}", bucketbase_grammar::parse_logic("or", &s)),
            "logic" => { let (k, v) = s.split_once('=').unwrap_or((&s, "")); println!("{s:?} => {:?}", bucketbase_grammar::parse_logic(k, v)) }
            "qs" => println!("{s:?} => {:?}", bucketbase_grammar::parse_query_string(&s, false)),
            "rpc" => println!("{s:?} => {:?}", bucketbase_grammar::parse_query_string(&s, true)),
            _ => {}
        }
    }
}
