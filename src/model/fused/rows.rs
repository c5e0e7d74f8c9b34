//! How a `[batch, len, width]` activation is cut into parallel tasks: runs of at most
//! [`ROWS_PER_TASK`] rows (positions) of one sequence, so that per-sequence sums (adaLN shift,
//! scale and gate gradients) are built from whole tasks and reduced in a fixed order, whatever
//! thread ran which task.

/// Rows of one parallel task.
pub const ROWS_PER_TASK: usize = 32;

/// Sizes of a `[batch, len, width]` activation, rows contiguous.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowShape {
    /// Sequences.
    pub batch: usize,
    /// Positions per sequence.
    pub len: usize,
    /// Features per position.
    pub width: usize,
}

/// One task: `rows` rows of sequence `sequence`, the first being row `first` of the whole
/// activation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowTask {
    /// The sequence the rows belong to.
    pub sequence: usize,
    /// Index of the first row in `[batch * len]`.
    pub first: usize,
    /// Number of rows.
    pub rows: usize,
}

impl RowTask {
    /// The task's elements in a `[batch * len, width]` buffer.
    pub fn span(self, width: usize) -> std::ops::Range<usize> {
        self.first * width..(self.first + self.rows) * width
    }
}

impl RowShape {
    /// Every task, in row order.
    pub fn tasks(self) -> Vec<RowTask> {
        let mut tasks = Vec::new();
        for sequence in 0..self.batch {
            let mut start = 0;
            while start < self.len {
                let rows = ROWS_PER_TASK.min(self.len - start);
                tasks.push(RowTask {
                    sequence,
                    first: sequence * self.len + start,
                    rows,
                });
                start += rows;
            }
        }
        tasks
    }

    /// A new `[batch * len, width]` buffer, zeros (written by the pool) that `f(task, piece)`
    /// overwrites task by task, in parallel.
    pub fn fill_tasks(self, f: impl Fn(RowTask, &mut [f32]) + Sync + Send) -> Vec<f32> {
        use rayon::prelude::*;

        let tasks = self.tasks();
        let mut out = super::vector::zeros(self.batch * self.len * self.width);
        self.split(&tasks, &mut out)
            .into_par_iter()
            .zip(tasks.par_iter())
            .for_each(|(piece, &task)| f(task, piece));
        out
    }

    /// Runs `f(task, out, partial)` for every task in parallel, with `out` the task's piece of
    /// `out` (`[batch * len, width]`) and `partial` a zeroed buffer of `partial_width` per
    /// task; returns the tasks and their partials (`tasks x partial_width`), for the caller
    /// to reduce in task order (so the sums do not depend on which thread ran what).
    pub fn for_each_task(
        self,
        out: &mut [f32],
        partial_width: usize,
        f: impl Fn(RowTask, &mut [f32], &mut [f32]) + Sync + Send,
    ) -> (Vec<RowTask>, Vec<f32>) {
        use rayon::prelude::*;

        let tasks = self.tasks();
        let mut partials = vec![0f32; tasks.len() * partial_width];
        self.split(&tasks, out)
            .into_par_iter()
            .zip(partials.par_chunks_mut(partial_width))
            .zip(tasks.par_iter())
            .for_each(|((out, partial), &task)| f(task, out, partial));
        (tasks, partials)
    }

    /// `buffer` (`[batch * len, width]`) cut into the tasks' disjoint pieces, in task order.
    pub fn split<'a>(self, tasks: &[RowTask], buffer: &'a mut [f32]) -> Vec<&'a mut [f32]> {
        let mut pieces = Vec::with_capacity(tasks.len());
        let mut rest = buffer;
        for task in tasks {
            let (head, tail) = rest.split_at_mut(task.rows * self.width);
            pieces.push(head);
            rest = tail;
        }
        pieces
    }
}

/// The element-wise sum of the tasks' partials (`tasks x width`, as
/// [`RowShape::for_each_task`] returns them), added in task order.
pub fn sum_partials(partials: &[f32], width: usize) -> Vec<f32> {
    let mut sum = vec![0f32; width];
    for partial in partials.chunks_exact(width) {
        for (s, p) in sum.iter_mut().zip(partial) {
            *s += p;
        }
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tasks_cover_every_row_once_and_never_span_two_sequences() {
        let shape = RowShape {
            batch: 3,
            len: 70,
            width: 5,
        };
        let tasks = shape.tasks();
        let mut next = 0;
        for task in &tasks {
            assert_eq!(task.first, next);
            assert_eq!(task.first / shape.len, task.sequence);
            assert_eq!((task.first + task.rows - 1) / shape.len, task.sequence);
            next += task.rows;
        }
        assert_eq!(next, 210);
        let mut buffer = vec![0f32; 210 * 5];
        let sizes: Vec<usize> = shape
            .split(&tasks, &mut buffer)
            .iter()
            .map(|p| p.len())
            .collect();
        assert_eq!(sizes, tasks.iter().map(|t| t.rows * 5).collect::<Vec<_>>());
    }
}
