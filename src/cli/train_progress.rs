//! `seddbio train`'s progress: the training bar, the bars of the closing evaluation, and the
//! Ctrl-C handler that turns an interrupt into a checkpoint while training runs.

use std::{
    io::IsTerminal,
    path::Path,
    sync::{atomic::AtomicBool, Arc},
    time::Instant,
};

use indicatif::{ProgressBar, ProgressStyle};
use seddbio::{
    run::{LrSchedule, RunSpec},
    train::{MetricsRow, ReportProgress, StepStats, TrainingProgress},
};

/// What `seddbio train` shows on a terminal (plain lines elsewhere, nothing under `--quiet`).
pub struct TrainingBars {
    /// The training bar, once training begins.
    bar: Option<ProgressBar>,
    /// The closing evaluation's bar or spinner.
    closing: Option<ProgressBar>,
    calls: usize,
    /// stderr is not a terminal (nohup, a batch scheduler, `2>log`): indicatif draws nothing
    /// there, so evaluations and a progress line every [`PLAIN_PROGRESS_EVERY`] go out as
    /// plain lines.
    plain: bool,
    last_line: Instant,
    /// The run's total steps are known (false while a time budget is being timed).
    steps_known: bool,
    /// The learning rate decays after the warm-up (not `constant`).
    decays: bool,
    last_valid: Option<(f64, f64)>,
    /// Raised by Ctrl-C and SIGTERM while training runs.
    interrupt: Arc<AtomicBool>,
    /// Raised when training stops: the signals then stop the process again.
    stopped: Arc<AtomicBool>,
}

/// The training bar once the total steps are known.
const BAR_TEMPLATE: &str = "{bar:30} {pos}/{len} steps {per_sec} ETA {eta} | {msg}";

/// How often a log that is not a terminal gets a progress line.
const PLAIN_PROGRESS_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

impl TrainingBars {
    /// Bars for a session whose Ctrl-C raises `interrupt` while it trains.
    pub fn new(interrupt: Arc<AtomicBool>) -> TrainingBars {
        TrainingBars {
            bar: None,
            closing: None,
            calls: 0,
            plain: !super::quiet() && !std::io::stderr().is_terminal(),
            last_line: Instant::now(),
            steps_known: true,
            decays: false,
            last_valid: None,
            interrupt,
            stopped: Arc::new(AtomicBool::new(false)),
        }
    }

    /// A line above the bar, or a plain line on stderr when there is no bar.
    fn say(&self, line: String) {
        match (&self.bar, self.plain) {
            (Some(bar), false) => bar.println(line),
            _ => note!("{line}"),
        }
    }

    /// Ctrl-C and SIGTERM raise the interrupt until training stops, then stop the process as
    /// they would have (a handler that cannot be installed is said, and training goes on).
    fn arm_signals(&self) {
        for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
            let armed =
                signal_hook::flag::register_conditional_default(signal, Arc::clone(&self.stopped))
                    .and_then(|_| signal_hook::flag::register(signal, Arc::clone(&self.interrupt)));
            if let Err(e) = armed {
                note!("warning: Ctrl-C will stop training without a checkpoint: {e}");
            }
        }
    }

    /// The closing evaluation's bar (`total` known) or spinner.
    fn show_closing(&mut self, total: Option<u64>, template: &str) {
        self.finish_closing();
        // A bar that cannot be drawn (a bad template) is no reason to stop the report.
        self.closing = super::progress(total, template).ok();
    }

    fn finish_closing(&mut self) {
        if let Some(bar) = self.closing.take() {
            bar.finish_and_clear();
        }
    }
}

impl TrainingProgress for TrainingBars {
    fn note(&mut self, line: &str) {
        note!("{line}");
    }

    fn show(&mut self, text: &str) -> seddbio::Result<()> {
        super::write_stdout(text).map_err(|source| seddbio::Error::Io {
            path: "standard output".into(),
            source,
        })
    }

    fn reading(&mut self, file: &Path) -> ProgressBar {
        super::reading_spinner(file)
    }

    fn training(&mut self, spec: &RunSpec, step: u64) {
        let training = &spec.config.training;
        self.steps_known = training
            .time_budget
            .is_none_or(|b| b.calibrated_at_step.is_some());
        self.decays = training.lr_schedule != LrSchedule::Constant;
        // Without a known total (a budget being timed) the bar shows steps and rate only.
        let template = match self.steps_known {
            true => BAR_TEMPLATE,
            false => "{spinner} {pos} steps {per_sec} (timing the steps for the budget) | {msg}",
        };
        // A bar that cannot be drawn is no reason to stop training; the lines still come.
        if let Ok(bar) = super::progress(Some(training.steps as u64), template) {
            bar.set_position(step);
            bar.reset_eta();
            self.bar = Some(bar);
        }
        self.arm_signals();
    }

    fn step(&mut self, stats: &StepStats, tokens_per_s: f64) {
        let valid = match self.last_valid {
            Some((bits, se)) => format!(" | valid {bits:.4} ± {se:.4} bits/token"),
            None => String::new(),
        };
        let message = format!(
            "loss {:.3} bits/token | {tokens_per_s:.0} tokens/s{valid}",
            stats.loss_bits
        );
        let Some(bar) = &self.bar else { return };
        bar.set_position(stats.step);
        if self.plain && self.last_line.elapsed() >= PLAIN_PROGRESS_EVERY {
            self.last_line = Instant::now();
            let of = match self.steps_known {
                true => {
                    let eta = bar.eta().as_secs();
                    let total = bar.length().unwrap_or_default();
                    format!("/{total} | {message} | ETA {}:{:02}", eta / 60, eta % 60)
                }
                false => format!(" (timing the steps for the budget) | {message}"),
            };
            note!("step {}{of}", stats.step);
        }
        bar.set_message(message);
    }

    fn validation(&mut self, row: &MetricsRow) {
        let valid = match row.valid_bits.is_finite() {
            true => {
                self.last_valid = Some((row.valid_bits, row.valid_se));
                format!(
                    "validation ELBO {:.4} ± {:.4} bits/token",
                    row.valid_bits, row.valid_se
                )
            }
            false => "no validation data".to_string(),
        };
        self.say(format!(
            "step {:>6}: train {:.4} bits/token, {valid}, {:.0} tokens/s",
            row.step, row.train_bits, row.tokens_per_s
        ));
    }

    fn steps_fixed(&mut self, steps: u64) {
        self.steps_known = true;
        if let Some(bar) = &self.bar {
            if let Ok(style) = ProgressStyle::with_template(BAR_TEMPLATE) {
                bar.set_style(style);
            }
            bar.set_length(steps);
            bar.reset_eta();
        }
        let decay = match self.decays {
            true => "; the learning rate decays over them",
            false => "",
        };
        self.say(format!("time budget: {steps} steps fit{decay}"));
    }

    fn trained(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        self.stopped
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    fn scoring_held_out(&mut self, sequences: usize) {
        self.finish_closing();
        self.closing = super::score::scoring_bar(sequences).ok();
    }
}

impl ReportProgress for TrainingBars {
    fn sampling(&mut self, sequences: usize, sampler: &str) {
        note!("sampling {sequences} sequences for the report ({sampler})");
        self.show_closing(Some(sequences as u64), super::sample::SAMPLING_BAR);
    }

    fn sampled(&mut self, done: usize, calls: usize) {
        self.calls += calls;
        if let Some(bar) = &self.closing {
            bar.inc(done as u64);
            bar.set_message(format!("{} network calls", self.calls));
        }
    }

    fn scoring(&mut self) {
        self.show_closing(
            None,
            "{spinner} {pos} sequences scored for the report {per_sec}",
        );
    }

    fn scored(&mut self, done: usize) {
        if let Some(bar) = &self.closing {
            bar.inc(done as u64);
        }
    }

    fn scored_all(&mut self) {
        self.finish_closing();
    }
}
