//! The `leakwarden` binary: everything lives in the library; this only hands
//! the process over to the CLI and turns its result into an exit code.
#![forbid(unsafe_code)]

/// mimalloc rather than the system allocator: see Cargo.toml. Only the
/// binary sets it; the library leaves the choice to whoever embeds it.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    leakwarden::cli::main()
}
