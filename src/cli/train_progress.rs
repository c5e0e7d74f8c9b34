//! `seddbio train`'s progress: the training bar with its metrics file, and the bars of the
//! end-of-run report.

use std::{io::IsTerminal, path::PathBuf, time::Instant};

use anyhow::Result;
use indicatif::{ProgressBar, ProgressStyle};
use seddbio::{
    run::{LrSchedule, RunDir, RunSpec},
    train::{MetricsLog, Observer, ReportProgress, StepStats},
};

/// Progress bar plus metrics file.
pub struct Report {
    bar: ProgressBar,
    /// stderr is not a terminal (nohup, a batch scheduler, `2>log`): indicatif draws nothing
    /// there, so evaluations and a progress line every [`PLAIN_PROGRESS_EVERY`] go out as
    /// plain lines.
    plain: bool,
    last_line: Instant,
    /// The run's total steps are known (false while a time budget is being timed).
    steps_known: bool,
    /// The learning rate decays after the warm-up (not `constant`).
    decays: bool,
    metrics: MetricsLog,
    dir: PathBuf,
    title: String,
    last_step: Instant,
    last_lr: f64,
    last_valid: Option<(f64, f64)>,
}

/// The training bar once the total steps are known.
const BAR_TEMPLATE: &str = "{bar:30} {pos}/{len} steps {per_sec} ETA {eta} | {msg}";

/// How often a log that is not a terminal gets a progress line.
const PLAIN_PROGRESS_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

impl Report {
    /// A line above the bar, or a plain line on stderr when there is no bar.
    fn say(&self, line: String) {
        if self.plain {
            note!("{line}");
        } else {
            self.bar.println(line);
        }
    }
}

impl Report {
    /// The training bar, at the run's current `step`, and its metrics so far.
    pub fn new(spec: &RunSpec, out: &std::path::Path, dir: &RunDir, step: u64) -> Result<Report> {
        let training = &spec.config.training;
        let steps_known = training
            .time_budget
            .is_none_or(|b| b.calibrated_at_step.is_some());
        // Without a known total (a budget being timed) the bar shows steps and rate only.
        let template = match steps_known {
            true => BAR_TEMPLATE,
            false => "{spinner} {pos} steps {per_sec} (timing the steps for the budget) | {msg}",
        };
        let bar = super::progress(Some(training.steps as u64), template)?;
        bar.set_position(step);
        bar.reset_eta();
        Ok(Report {
            plain: !super::quiet() && !std::io::stderr().is_terminal(),
            last_line: Instant::now(),
            steps_known,
            decays: training.lr_schedule != LrSchedule::Constant,
            bar,
            metrics: MetricsLog::read(&dir.path("metrics.csv"), step)?,
            dir: out.to_path_buf(),
            title: format!(
                "{} · {} · {}",
                spec.alphabet,
                spec.graph,
                out.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            ),
            last_step: Instant::now(),
            last_lr: 0.0,
            last_valid: None,
        })
    }
}

impl Report {
    /// Clears the bar once training stops.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }

    /// The metrics so far.
    pub fn metrics(&self) -> &MetricsLog {
        &self.metrics
    }
}

impl Observer for Report {
    fn step(&mut self, stats: &StepStats, tokens: u64) {
        let seconds = self.last_step.elapsed().as_secs_f64();
        self.last_step = Instant::now();
        self.metrics
            .add_step(stats.loss_bits, stats.grad_norm, tokens, seconds);
        self.last_lr = stats.lr;
        let rate = tokens as f64 / seconds.max(1e-9);
        let valid = match self.last_valid {
            Some((bits, se)) => format!(" | valid {bits:.4} ± {se:.4} bits/token"),
            None => String::new(),
        };
        self.bar.set_position(stats.step);
        let message = format!(
            "loss {:.3} bits/token | {rate:.0} tokens/s{valid}",
            stats.loss_bits
        );
        if self.plain && self.last_line.elapsed() >= PLAIN_PROGRESS_EVERY {
            self.last_line = Instant::now();
            let of = match self.steps_known {
                true => {
                    let eta = self.bar.eta().as_secs();
                    let total = self.bar.length().unwrap_or_default();
                    format!("/{total} | {message} | ETA {}:{:02}", eta / 60, eta % 60)
                }
                false => format!(" (timing the steps for the budget) | {message}"),
            };
            note!("step {}{of}", stats.step);
        }
        self.bar.set_message(message);
    }

    fn validation(&mut self, step: u64, bits: f64, std_error: f64) -> seddbio::Result<()> {
        self.last_valid = Some((bits, std_error));
        let row = self.metrics.close(step, self.last_lr, bits, std_error);
        self.say(format!(
            "step {step:>6}: train {:.4} bits/token, validation ELBO {bits:.4} ± {std_error:.4} bits/token, {:.0} tokens/s",
            row.train_bits, row.tokens_per_s
        ));
        // The curve files follow the log; rows past the last checkpoint are dropped again by
        // a resume (MetricsLog::read), so writing ahead of the checkpoints is safe.
        self.metrics.write(&self.dir, &self.title)
    }

    fn checkpoint(&mut self, _step: u64) -> seddbio::Result<()> {
        self.metrics.write(&self.dir, &self.title)
    }

    fn steps_fixed(&mut self, steps: u64) {
        self.steps_known = true;
        if let Ok(style) = ProgressStyle::with_template(BAR_TEMPLATE) {
            self.bar.set_style(style);
        }
        self.bar.set_length(steps);
        self.bar.reset_eta();
        let decay = match self.decays {
            true => "; the learning rate decays over them",
            false => "",
        };
        self.say(format!("time budget: {steps} steps fit{decay}"));
    }
}

/// The end-of-run report's progress: a bar while sampling, a spinner while scoring.
#[derive(Default)]
pub struct ReportBars {
    bar: Option<ProgressBar>,
    calls: usize,
}

impl ReportBars {
    fn show(&mut self, total: Option<u64>, template: &str) {
        // A bar that cannot be drawn (a bad template) is no reason to stop the report.
        self.bar = super::progress(total, template).ok();
    }

    fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

impl ReportProgress for ReportBars {
    fn sampling(&mut self, sequences: usize, sampler: &str) {
        note!("sampling {sequences} sequences for the report ({sampler})");
        self.show(Some(sequences as u64), super::sample::SAMPLING_BAR);
    }

    fn sampled(&mut self, done: usize, calls: usize) {
        self.calls += calls;
        if let Some(bar) = &self.bar {
            bar.inc(done as u64);
            bar.set_message(format!("{} network calls", self.calls));
        }
    }

    fn scoring(&mut self) {
        self.finish();
        self.show(
            None,
            "{spinner} {pos} sequences scored for the report {per_sec}",
        );
    }

    fn scored(&mut self, done: usize) {
        if let Some(bar) = &self.bar {
            bar.inc(done as u64);
        }
    }

    fn scored_all(&mut self) {
        self.finish();
    }
}
