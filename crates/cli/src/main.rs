//! `valentine`: see `valentine --help`.

fn main() -> std::process::ExitCode {
    valentine_cli::main()
}
