//! The `leakwarden` binary: everything lives in the library; this only hands
//! the process over to the CLI and turns its result into an exit code.
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    leakwarden::cli::main()
}
