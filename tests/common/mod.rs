//! Helpers shared by the tests that run the `seddbio` binary.

#![allow(dead_code)]

use std::process::{Command, Output};

#[path = "../../src/test_dir.rs"]
mod test_dir;
// Each test binary compiles this module and not all of them name the type.
#[allow(unused_imports)]
pub use test_dir::{tempdir, TempDir};

pub fn seddbio(args: &[&str]) -> Output {
    seddbio_with_env(args, &[])
}

/// [`seddbio`] with environment variables set for the run.
pub fn seddbio_with_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_seddbio"))
        .args(args)
        .envs(env.iter().copied())
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the seddbio binary runs")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Runs seddbio with `input` on its standard input; returns (stdout, stderr) of a success.
pub fn with_stdin(args: &[&str], input: &[u8]) -> (String, String) {
    use std::io::Write;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_seddbio"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    let output = child.wait_with_output().unwrap();
    let (stdout, stderr) = (stdout(&output), stderr(&output));
    assert!(output.status.success(), "{args:?}: {stderr}");
    (stdout, stderr)
}

/// Runs a command that must succeed and returns its stdout.
pub fn ok(args: &[&str]) -> String {
    let output = seddbio(args);
    assert!(
        output.status.success(),
        "seddbio {args:?} failed: {}",
        stderr(&output)
    );
    stdout(&output)
}

/// Runs a command that must fail cleanly and returns its single error line.
pub fn fails(args: &[&str]) -> String {
    let output = seddbio(args);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "seddbio {args:?}: {err}");
    assert!(
        !err.contains("panicked"),
        "seddbio {args:?} panicked: {err}"
    );
    assert_eq!(err.lines().count(), 1, "one error line expected: {err}");
    assert!(err.starts_with("error: "), "{err}");
    err
}

/// The cells of one metric row of an `eval` report's `summary.csv` (generated, the floor or
/// reference, published), `None` where the row has no value.
pub fn summary_values(summary: &str, metric: &str) -> Vec<Option<f64>> {
    summary
        .lines()
        .find(|l| l.split(',').next() == Some(metric))
        .unwrap_or_else(|| panic!("no {metric} row in: {summary}"))
        .split(',')
        .skip(1)
        .map(|v| (!v.is_empty()).then(|| v.parse().unwrap()))
        .collect()
}

/// A one-step DNA model (24-token windows of the committed E. coli windows, no end-of-run
/// report) in `dir/model`, for tests of what commands do with a model rather than of what
/// it learned.
pub fn one_step_model(dir: &std::path::Path) -> std::path::PathBuf {
    one_step_run(
        dir,
        "datasets/dna/tiny_ecoli_64x300.fa",
        &["-a", "dna", "--seq-len", "24"],
    )
}

/// The arguments of `seddbio train` on `data` with `options` into `out`, without the
/// end-of-run report, then `extra` (a test's own steps, resume or fine-tune options).
pub fn train_args<'a>(
    data: &'a str,
    options: &[&'a str],
    out: &'a str,
    extra: &[&'a str],
) -> Vec<&'a str> {
    let mut args = vec!["train", data];
    args.extend_from_slice(options);
    args.extend(["--report-samples", "0", "--out", out]);
    args.extend_from_slice(extra);
    args
}

/// A model of one training step (batch 4, no end-of-run report) on `data` with `options` in
/// `dir/model`: what commands do with a model, not what it learned.
pub fn one_step_run(dir: &std::path::Path, data: &str, options: &[&str]) -> std::path::PathBuf {
    let run = dir.join("model");
    let out = run.to_str().unwrap();
    ok(&train_args(
        data,
        options,
        out,
        &["--batch-size", "4", "--steps", "1"],
    ));
    run
}
