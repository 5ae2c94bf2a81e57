//! A small command line for the oracle alone (`setup`, `run`), until the mmlab CLI wraps it.

fn main() {
    if let Err(e) = mmlab_oracle::cli::main(std::env::args().skip(1).collect()) {
        eprintln!("error: {e:#}");
        std::process::exit(2);
    }
}
