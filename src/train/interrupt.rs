//! Stopping a run when asked (Ctrl-C, SIGTERM): at the next step boundary with a checkpoint,
//! as every run does; and, for a front end that asks for it, within seconds even in the
//! middle of a long step or validation, with a checkpoint of the last completed step written
//! from another thread (a step in progress cannot be abandoned, so the front end then ends the
//! process).

use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        Mutex, MutexGuard,
    },
    time::{Duration, Instant},
};

use super::Trainer;
use crate::{run::RunDir, Result};

/// How long a raised interrupt waits, by default, for the step or validation in progress
/// before the last completed step is checkpointed without it.
pub const INTERRUPT_GRACE: Duration = Duration::from_secs(3);

/// How often the watcher looks at the flag.
const WATCH_EVERY: Duration = Duration::from_millis(50);

/// What stops a run early.
#[derive(Clone, Copy)]
pub struct Interrupt<'a> {
    /// Raised (by a signal handler) to stop with a checkpoint.
    pub flag: &'a AtomicBool,
    /// How long a raised flag waits for the run to take it up ([`INTERRUPT_GRACE`]).
    pub grace: Duration,
    /// When set, a raised flag that the run has not taken up within `grace` has
    /// the last completed step checkpointed from another thread, and this is called (on that
    /// thread) with its step, or with why the checkpoint failed. It should end the process:
    /// the computation in progress cannot be stopped otherwise. `None`: the flag is taken up
    /// at the next step boundary only.
    pub mid_step: Option<&'a (dyn Fn(Result<u64>) + Sync)>,
}

impl<'a> Interrupt<'a> {
    /// An interrupt taken up at step boundaries only.
    pub fn at_step_boundaries(flag: &'a AtomicBool) -> Interrupt<'a> {
        Interrupt {
            flag,
            grace: INTERRUPT_GRACE,
            mid_step: None,
        }
    }

    /// Whether the flag is raised.
    pub fn raised(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }
}

/// The last completed state of a run, kept for the watcher (a copy of the trainer: burn's
/// tensors are shared, not copied, so it costs a reference per parameter), and who checkpoints
/// on an interrupt.
pub(super) struct LastCompleted {
    state: Mutex<Latest>,
    finished: AtomicBool,
    /// Whether a watcher needs the state at all.
    kept: bool,
}

struct Latest {
    trainer: Option<Trainer>,
    /// The run took up the interrupt itself: the watcher stands down.
    taken: bool,
}

impl LastCompleted {
    pub(super) fn new(kept: bool) -> LastCompleted {
        LastCompleted {
            state: Mutex::new(Latest {
                trainer: None,
                taken: false,
            }),
            finished: AtomicBool::new(false),
            kept,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Latest> {
        // A panic elsewhere cannot leave the state half-written: it is replaced whole.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `trainer` has completed a step (or is where the run starts).
    pub(super) fn record(&self, trainer: &Trainer) {
        if self.kept {
            self.lock().trainer = Some(trainer.clone());
        }
    }

    /// Runs `write` (a checkpoint of the run's own) while the watcher cannot write one.
    pub(super) fn exclusive<T>(&self, write: impl FnOnce() -> T) -> T {
        let _held = self.lock();
        write()
    }

    /// The run takes up the interrupt itself (its checkpoint follows): the watcher stands
    /// down. Waits for a watcher that is writing its checkpoint (which then ends the process).
    pub(super) fn take_up(&self) {
        self.lock().taken = true;
    }

    /// The run is over; the watcher stops.
    pub(super) fn finish(&self) {
        self.finished.store(true, Ordering::SeqCst);
        self.lock().taken = true;
    }

    /// Watches `interrupt` until the run is over; a raise that the run has not taken up
    /// within its grace has the last completed step checkpointed into `dir` and handed to
    /// `interrupt.mid_step`.
    pub(super) fn watch(&self, interrupt: Interrupt<'_>, dir: &RunDir) {
        let Some(mid_step) = interrupt.mid_step else {
            return;
        };
        let mut raised_at: Option<Instant> = None;
        while !self.finished.load(Ordering::SeqCst) {
            std::thread::sleep(WATCH_EVERY);
            if !interrupt.raised() {
                continue;
            }
            if raised_at.get_or_insert_with(Instant::now).elapsed() < interrupt.grace {
                continue;
            }
            // Held until the process ends: the run's own checkpoints wait behind it.
            let latest = self.lock();
            if latest.taken {
                return;
            }
            let Some(trainer) = &latest.trainer else {
                return;
            };
            mid_step(trainer.save(dir).map(|_| trainer.step()));
            return;
        }
    }
}
