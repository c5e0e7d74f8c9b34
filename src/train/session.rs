//! One training session, from a [`TrainRequest`] to what it left: the run directory opened
//! (started, fine-tuned or resumed), the optimiser loop with `metrics.csv` and `loss.svg`
//! written as it goes, and at the end of a finished run the held-out bound against the best
//! Markov chain, `MODEL.md` and the end-of-run report (docs/guide.md, "The run directory").
//!
//! Front ends (the command line, tests, a pipeline) make this one call and show what a
//! [`TrainingProgress`] hears.

use std::{
    path::{Path, PathBuf},
    time::Instant,
};

use indicatif::ProgressBar;

use super::{
    compare_held_out, end_of_run_report, run, run_description, write_model_card, HeldOutComparison,
    Interrupt, MetricsLog, MetricsRow, Observer, OpenedRun, Outcome, ReportProgress, ReportRequest,
    RunReport, StepStats, TrainRequest, Trainer, ValidationSet, HELD_OUT_TIMES,
};
use crate::{
    data::PreparedData,
    eval::render,
    run::{CardFacts, RunDir, RunSpec, TrainedModel, Weights},
    sample::{SamplerSettings, Template},
    Result,
};

/// What a training session tells its front end. Every method does nothing by default, so a
/// silent front end is `impl TrainingProgress for Silent {}` (with [`ReportProgress`]).
pub trait TrainingProgress: ReportProgress {
    /// A line worth saying on the way: what `auto` measured and chose, a resume, a cleaned
    /// run directory.
    fn note(&mut self, _line: &str) {}
    /// Text that is part of the session's result (the data summary, what the run will do,
    /// the closing lines and the report's table); the command line prints it on stdout.
    fn show(&mut self, _text: &str) -> Result<()> {
        Ok(())
    }
    /// A spinner for reading `file` (hidden unless the front end draws one).
    fn reading(&mut self, _file: &Path) -> ProgressBar {
        ProgressBar::hidden()
    }
    /// Training of `spec` begins (or resumes) at `step`.
    fn training(&mut self, _spec: &RunSpec, _step: u64) {}
    /// A step is done, training at `tokens_per_s`.
    fn step(&mut self, _stats: &StepStats, _tokens_per_s: f64) {}
    /// A validation closed a row of `metrics.csv`.
    fn validation(&mut self, _row: &MetricsRow) {}
    /// A time budget has been turned into `steps` steps.
    fn steps_fixed(&mut self, _steps: u64) {}
    /// Training stopped (finished, interrupted or out of time).
    fn trained(&mut self) {}
    /// The held-out comparison begins scoring `sequences` sequences; [`ReportProgress::scored`]
    /// and [`ReportProgress::scored_all`] follow.
    fn scoring_held_out(&mut self, _sequences: usize) {}
}

/// How a training session ended.
#[derive(Debug)]
pub enum TrainingOutcome {
    /// Every step done; the closing evaluation is in [`FinishedRun`].
    Finished(Box<FinishedRun>),
    /// The interrupt was raised: a checkpoint of `step` is written, and the same request
    /// with `resume` continues it.
    Interrupted {
        /// The last completed step.
        step: u64,
    },
    /// The time budget ran out before the `steps` fixed for it (the machine slowed down after
    /// the calibration): a checkpoint of `step` is written, and a resume finishes.
    OutOfTime {
        /// The last completed step.
        step: u64,
        /// The steps the budget was turned into.
        steps: u64,
    },
}

/// What the end of a finished run measured and wrote.
#[derive(Debug)]
pub struct FinishedRun {
    /// Steps done.
    pub steps: u64,
    /// The held-out bound against the best Markov chain (with validation data and a report).
    pub held_out: Option<HeldOutComparison>,
    /// The end-of-run report (`report_samples > 0`).
    pub report: Option<RunReport>,
}

/// Trains what `request` asks for: opens its run directory (locked for the session), trains
/// until the steps are done, `interrupt` is raised (see [`Interrupt`]) or the time budget is
/// spent, and closes a finished run with the held-out comparison, `MODEL.md` and the end-of-run
/// report.
///
/// ```no_run
/// use std::sync::atomic::AtomicBool;
///
/// use seddbio::train::{
///     train, Interrupt, ReportProgress, TrainRequest, TrainingOutcome, TrainingProgress,
/// };
///
/// struct Silent;
/// impl ReportProgress for Silent {}
/// impl TrainingProgress for Silent {}
///
/// let request = TrainRequest {
///     file: "promoters.fasta".into(),
///     alphabet: "dna".into(),
///     out: "runs/promoters".into(),
///     ..TrainRequest::default()
/// };
/// let stop = AtomicBool::new(false);
/// match train(&request, Interrupt::at_step_boundaries(&stop), &mut Silent)? {
///     TrainingOutcome::Finished(run) => println!("{} steps", run.steps),
///     other => println!("stopped early: {other:?}"),
/// }
/// # Ok::<(), seddbio::Error>(())
/// ```
pub fn train(
    request: &TrainRequest,
    interrupt: Interrupt<'_>,
    progress: &mut dyn TrainingProgress,
) -> Result<TrainingOutcome> {
    let device = request.device.device()?;
    let OpenedRun {
        dir,
        lock: _lock,
        mut trainer,
        data,
    } = request.open(device, progress)?;
    progress.show(&data.summary.to_string())?;
    let spec = trainer.spec().clone();
    // Refused before training rather than after it.
    let report_sampler = request.report_settings(&spec)?;
    let training = &spec.config.training;
    let valid = data
        .valid
        .as_ref()
        .map(|v| ValidationSet::from_dataset(v, training.valid_sequences))
        .unwrap_or_default();
    progress.show(&run_description(
        &spec,
        trainer.num_params(),
        valid.sequences.len(),
    ))?;
    progress.training(&spec, trainer.step());
    let mut recorder = Recorder::new(&spec, &dir, trainer.step(), progress)?;
    let outcome = run(
        &mut trainer,
        &data.train,
        &valid,
        &dir,
        &mut recorder,
        interrupt,
    );
    let metrics = recorder.metrics;
    progress.trained();
    let step = trainer.step();
    match outcome? {
        Outcome::Interrupted => Ok(TrainingOutcome::Interrupted { step }),
        Outcome::OutOfTime => Ok(TrainingOutcome::OutOfTime {
            step,
            steps: trainer.spec().config.training.steps as u64,
        }),
        Outcome::Finished => {
            let finished = Finished {
                request,
                dir: &dir,
                trainer: &trainer,
                data: &data,
                valid: &valid,
                metrics: &metrics,
                report_sampler,
            };
            Ok(TrainingOutcome::Finished(Box::new(
                finished.close(progress)?,
            )))
        }
    }
}

/// The optimiser loop's observer: keeps `metrics.csv` and `loss.svg` and tells the front end.
struct Recorder<'a> {
    metrics: MetricsLog,
    dir: PathBuf,
    title: String,
    last_step: Instant,
    last_lr: f64,
    progress: &'a mut dyn TrainingProgress,
}

impl<'a> Recorder<'a> {
    /// The metrics of the run in `dir` up to `step` (its checkpoint), for `spec`.
    fn new(
        spec: &RunSpec,
        dir: &RunDir,
        step: u64,
        progress: &'a mut dyn TrainingProgress,
    ) -> Result<Recorder<'a>> {
        let root = dir.root();
        Ok(Recorder {
            metrics: MetricsLog::read(&dir.path("metrics.csv"), step)?,
            dir: root.to_path_buf(),
            title: format!(
                "{} · {} · {}",
                spec.alphabet,
                spec.graph,
                root.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            ),
            last_step: Instant::now(),
            last_lr: 0.0,
            progress,
        })
    }
}

impl Observer for Recorder<'_> {
    fn step(&mut self, stats: &StepStats, tokens: u64) {
        let seconds = self.last_step.elapsed().as_secs_f64();
        self.last_step = Instant::now();
        self.metrics
            .add_step(stats.loss_bits, stats.grad_norm, tokens, seconds);
        self.last_lr = stats.lr;
        self.progress.step(stats, tokens as f64 / seconds.max(1e-9));
    }

    fn validation(&mut self, step: u64, bits: f64, std_error: f64) -> Result<()> {
        let row = self.metrics.close(step, self.last_lr, bits, std_error);
        self.progress.validation(&row);
        // The curve files follow the log; rows past the last checkpoint are dropped again by
        // a resume (MetricsLog::read), so writing ahead of the checkpoints is safe.
        self.metrics.write(&self.dir, &self.title)
    }

    fn checkpoint(&mut self, _step: u64) -> Result<()> {
        self.metrics.write(&self.dir, &self.title)
    }

    fn steps_fixed(&mut self, steps: u64) {
        self.progress.steps_fixed(steps);
    }
}

/// A run whose steps are all done, before its closing evaluation.
struct Finished<'a> {
    request: &'a TrainRequest,
    dir: &'a RunDir,
    trainer: &'a Trainer,
    data: &'a PreparedData,
    valid: &'a ValidationSet,
    metrics: &'a MetricsLog,
    report_sampler: SamplerSettings,
}

impl Finished<'_> {
    /// The closing line, the held-out bound against the best Markov chain, `MODEL.md`, and
    /// the end-of-run report.
    fn close(&self, progress: &mut dyn TrainingProgress) -> Result<FinishedRun> {
        let request = self.request;
        let last = self
            .metrics
            .rows
            .last()
            .filter(|row| row.valid_bits.is_finite());
        let valid_text = match last {
            Some(row) => format!(
                "validation ELBO bound {:.4} ± {:.4} bits/token",
                row.valid_bits, row.valid_se
            ),
            None => "no validation data".to_string(),
        };
        progress.show(&format!(
            "done: {} steps; {valid_text}; run in {} (metrics.csv, loss.svg, checkpoints/, MODEL.md)\n",
            self.trainer.step(),
            request.out.display()
        ))?;
        // The EMA model the report samples from and scores with, loaded once.
        let trained = match request.report_samples > 0 {
            true => Some(TrainedModel::load(
                self.dir,
                request.device.device()?,
                Weights::Ema,
            )?),
            false => None,
        };
        // The bar the model must clear; part of the report (no report, no comparison).
        let held_out = match (&self.data.valid, &trained) {
            (Some(_), Some(trained)) => self.compare(trained, progress)?,
            _ => None,
        };
        self.write_card(last, held_out.as_ref())?;
        let report = match &trained {
            Some(trained) => Some(self.report(trained, progress)?),
            None => None,
        };
        Ok(FinishedRun {
            steps: self.trainer.step(),
            held_out,
            report,
        })
    }

    /// The held-out comparison, shown.
    fn compare(
        &self,
        trained: &TrainedModel,
        progress: &mut dyn TrainingProgress,
    ) -> Result<Option<HeldOutComparison>> {
        progress.scoring_held_out(self.valid.sequences.len());
        let comparison =
            compare_held_out(trained, self.data, self.valid, &mut |n| progress.scored(n))?;
        progress.scored_all();
        if let Some(comparison) = &comparison {
            progress.show(&format!("{comparison}\n"))?;
        }
        Ok(comparison)
    }

    /// `MODEL.md`, with the held-out comparison's bound where there is one, else the last
    /// validation's.
    fn write_card(
        &self,
        last: Option<&MetricsRow>,
        comparison: Option<&HeldOutComparison>,
    ) -> Result<()> {
        let facts = CardFacts {
            run: self.request.out.display().to_string(),
            parameters: self.trainer.num_params(),
            steps: self.trainer.step(),
            held_out: match comparison {
                Some(c) => Some((c.bits, c.std_error, c.sequences)),
                None => last.map(|row| (row.valid_bits, row.valid_se, self.valid.sequences.len())),
            },
            held_out_times: match comparison {
                Some(_) => HELD_OUT_TIMES,
                None => 1,
            },
            markov: comparison.map(|c| (c.order, c.chain_bits, c.orders.clone())),
            sampler: self.report_sampler.describe(),
            sampler_flags: self.report_sampler.command_flags(),
            command: self.request.command.clone(),
            template: Template::example(&self.data.alphabet, self.trainer.spec().seq_len),
            tokenizer: self.data.alphabet.tokenizer(),
        };
        write_model_card(self.dir, self.trainer.spec(), &facts)
    }

    /// The end-of-run report, with its table shown.
    fn report(
        &self,
        trained: &TrainedModel,
        progress: &mut dyn TrainingProgress,
    ) -> Result<RunReport> {
        let request = ReportRequest {
            samples: self.request.report_samples,
            sampler: self.report_sampler,
            model_name: self.request.out.display().to_string(),
        };
        let written = end_of_run_report(self.dir, trained, self.data, &request, progress)?;
        progress.show(&format!(
            "samples: {} ({})\n{}\nreport written to {}\n",
            written.samples,
            request.sampler.describe(),
            render::table(&written.evaluation),
            written.dir.display()
        ))?;
        Ok(written)
    }
}
