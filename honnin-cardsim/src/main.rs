//! `honnin-cardsim`: see `honnin-cardsim --help` and the crate's README.

fn main() -> std::process::ExitCode {
    honnin_cardsim::cli::main()
}
