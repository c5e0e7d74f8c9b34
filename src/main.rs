//! The `seddbio` command line. Each subcommand is a thin layer over the library.

mod cli;

use std::process::ExitCode;

use clap::Parser;

/// Keeps freed memory inside glibc's heap instead of handing it back to the kernel.
///
/// burn's CPU backend allocates and frees tensors of tens of megabytes on every step. By default
/// glibc serves each from a fresh `mmap` and unmaps it on free, so every step pays for
/// millions of zero-filled page faults. Measured with `seddbio bench train` (d_model 128,
/// 4 blocks, batch 32 x 256, 2 cores): 1,764 tokens/s with 3.9 M minor faults and 10.9 s of
/// kernel time in 33 s, against 2,596 tokens/s, 0.25 M faults and 0.8 s with these settings
/// (mimalloc and jemalloc through `LD_PRELOAD` changed nothing). One arena, because only the
/// main arena grows without `mmap`; the heap keeps the peak of one step, which the next reuses.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn tune_allocator() {
    // SAFETY: mallopt only changes malloc parameters; it is called before any other thread
    // exists. A rejected value leaves glibc's default, which is merely slower.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
        libc::mallopt(libc::M_MMAP_MAX, 0);
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
        libc::mallopt(libc::M_TOP_PAD, 256 << 20);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune_allocator() {}

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    // Only where burn's tensors dominate: RDKit's many small allocations from several threads
    // (eval of molecules, data preparation) queue on the single arena, and searching the
    // large kept heap took over half the time of an evaluation of 10,000 molecules.
    if args.runs_the_network() {
        tune_allocator();
    }
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // One line: the error and its causes, never a backtrace; then the flag that
            // handles it, where there is one.
            let hint = cli::flag_hint(&err)
                .map(|h| format!("; {h}"))
                .unwrap_or_default();
            eprintln!("error: {}{hint}", cli::error_line(&err));
            ExitCode::FAILURE
        }
    }
}
