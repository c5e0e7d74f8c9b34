//! `metrics.csv` and `loss.svg` of a run: one row per validation, rewritten atomically, so a
//! resumed run continues the same file.

use std::{io::Write, path::Path};

use crate::{io::write_atomically, plot::curves_svg, Error, Result};

/// One row of `metrics.csv`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MetricsRow {
    /// Steps done.
    pub step: u64,
    /// Learning rate of the last step.
    pub lr: f64,
    /// Mean training loss (bits per position, no prior term) since the previous row.
    pub train_bits: f64,
    /// Mean global gradient norm since the previous row.
    pub grad_norm: f64,
    /// Training tokens per second since the previous row.
    pub tokens_per_s: f64,
    /// Validation ELBO bound, bits per token (NaN without validation data).
    pub valid_bits: f64,
    /// Its standard error.
    pub valid_se: f64,
}

const HEADER: &str =
    "step,lr,train_bits_per_token,grad_norm,tokens_per_s,valid_elbo_bits_per_token,valid_se";

/// The rows so far, with the running means of the current interval.
#[derive(Debug, Clone, Default)]
pub struct MetricsLog {
    /// Written rows.
    pub rows: Vec<MetricsRow>,
    sum_loss: f64,
    sum_norm: f64,
    steps: u64,
    tokens: u64,
    seconds: f64,
}

impl MetricsLog {
    /// Reads `metrics.csv` back, keeping rows up to `max_step` (the checkpoint resumed from).
    pub fn read(path: &Path, max_step: u64) -> Result<MetricsLog> {
        let mut log = MetricsLog::default();
        let Ok(text) = std::fs::read_to_string(path) else {
            return Ok(log);
        };
        for (number, line) in text.lines().enumerate().skip(1) {
            let bad = || Error::Format {
                path: path.to_path_buf(),
                message: format!("line {}: not a metrics row", number + 1),
            };
            // An empty cell is a figure that was not measured (no validation data).
            let fields: Vec<f64> = line
                .split(',')
                .map(|f| match f.trim() {
                    "" => Ok(f64::NAN),
                    f => f.parse::<f64>().map_err(|_| bad()),
                })
                .collect::<Result<_>>()?;
            let [step, lr, train_bits, grad_norm, tokens_per_s, valid_bits, valid_se] = fields[..]
            else {
                return Err(bad());
            };
            if step as u64 <= max_step {
                log.rows.push(MetricsRow {
                    step: step as u64,
                    lr,
                    train_bits,
                    grad_norm,
                    tokens_per_s,
                    valid_bits,
                    valid_se,
                });
            }
        }
        Ok(log)
    }

    /// Adds one training step to the running means.
    pub fn add_step(&mut self, loss_bits: f64, grad_norm: f64, tokens: u64, seconds: f64) {
        self.sum_loss += loss_bits;
        self.sum_norm += grad_norm;
        self.steps += 1;
        self.tokens += tokens;
        self.seconds += seconds;
    }

    /// Closes the interval with a validation result and returns the row.
    pub fn close(&mut self, step: u64, lr: f64, valid_bits: f64, valid_se: f64) -> MetricsRow {
        let n = self.steps.max(1) as f64;
        let row = MetricsRow {
            step,
            lr,
            train_bits: self.sum_loss / n,
            grad_norm: self.sum_norm / n,
            tokens_per_s: self.tokens as f64 / self.seconds.max(1e-9),
            valid_bits,
            valid_se,
        };
        self.rows.push(row);
        (
            self.sum_loss,
            self.sum_norm,
            self.steps,
            self.tokens,
            self.seconds,
        ) = (0.0, 0.0, 0, 0, 0.0);
        row
    }

    /// Writes `metrics.csv` and `loss.svg` in `dir`.
    pub fn write(&self, dir: &Path, title: &str) -> Result<()> {
        write_atomically(&dir.join("metrics.csv"), |w| {
            writeln!(w, "{HEADER}")?;
            // Without validation data the validation cells stay empty, not NaN.
            let cell = |value: f64| match value.is_finite() {
                true => format!("{value:.6}"),
                false => String::new(),
            };
            for r in &self.rows {
                writeln!(
                    w,
                    "{},{:e},{:.6},{:.4},{:.1},{},{}",
                    r.step,
                    r.lr,
                    r.train_bits,
                    r.grad_norm,
                    r.tokens_per_s,
                    cell(r.valid_bits),
                    cell(r.valid_se)
                )?;
            }
            Ok(())
        })?;
        let train: Vec<(f64, f64)> = self
            .rows
            .iter()
            .map(|r| (r.step as f64, r.train_bits))
            .collect();
        let valid: Vec<(f64, f64)> = self
            .rows
            .iter()
            .map(|r| (r.step as f64, r.valid_bits))
            .collect();
        let svg = curves_svg(
            &[
                ("train loss (no prior)", &train),
                ("validation ELBO bound", &valid),
            ],
            title,
            "step",
            "bits per token",
        );
        write_atomically(&dir.join("loss.svg"), |w| Ok(w.write_all(svg.as_bytes())?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_round_trip_and_resume_drops_later_rows() {
        let dir = crate::test_dir::tempdir().unwrap();
        let mut log = MetricsLog::default();
        for step in [10, 20, 30] {
            log.add_step(1.5, 2.0, 100, 0.5);
            log.add_step(2.5, 4.0, 100, 0.5);
            log.close(step, 1e-3, 1.9, 0.01);
        }
        assert_eq!(log.rows[0].train_bits, 2.0);
        assert_eq!(log.rows[0].grad_norm, 3.0);
        assert_eq!(log.rows[0].tokens_per_s, 200.0);
        log.write(dir.path(), "run").unwrap();
        let back = MetricsLog::read(&dir.path().join("metrics.csv"), 20).unwrap();
        assert_eq!(back.rows.len(), 2);
        assert_eq!(back.rows[1].step, 20);
        assert!(std::fs::read_to_string(dir.path().join("loss.svg"))
            .unwrap()
            .contains("validation ELBO"));
    }
}
