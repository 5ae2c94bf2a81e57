fn main() {
    let path = std::env::args().nth(1).unwrap();
    let src = std::fs::read_to_string(&path).unwrap();
    match mmlab_litmus::parse_and_render(&path, &src) {
        Ok(t) => print!("{}", mmlab_litmus::format(&t)),
        Err(e) => print!("{e}"),
    }
}
