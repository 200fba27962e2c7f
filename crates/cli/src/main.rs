//! `valentine`: see `valentine --help`.

/// mimalloc instead of the system allocator: projection allocates many small strings on one
/// thread and frees them on another, which glibc's allocator handles poorly (measured in
/// docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    valentine_cli::main()
}
