//! The run directory (architecture.md): `run.toml` (the fully resolved configuration),
//! `alphabet.toml` (the vocabulary, SMILES tokens included), `metrics.csv`, `loss.svg`, and
//! `checkpoints/step-NNNNNNNN/` with model, EMA and optimiser state and a `state.toml` that
//! records the step and a digest of each file. A checkpoint is written into a temporary folder
//! and renamed into place, then `checkpoints/LATEST` is replaced atomically; a crash at any
//! moment leaves the previous checkpoint usable.

use std::{
    fs,
    io::Write,
    path::{Path, PathBuf},
};

use serde::{Deserialize, Serialize};

use crate::{
    alphabet::{Alphabet, LayoutKind},
    diffusion::{GraphKind, NoiseSchedule},
    io::write_atomically,
    Error, Result,
};

use super::TrainConfig;
use crate::data::TokenDataset;

/// Everything that defines a run, written to `RUN/run.toml` at its start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunSpec {
    /// seddbio version that started the run.
    pub seddbio_version: String,
    /// Alphabet name; the alphabet itself is `RUN/alphabet.toml`.
    pub alphabet: String,
    /// Tokens the network sees (the alphabet's, pad included for padded layouts).
    pub num_symbols: usize,
    /// Forward process.
    pub graph: GraphKind,
    /// Noise schedule.
    pub noise: NoiseSchedule,
    /// Seed of every random choice.
    pub seed: u64,
    /// Positions per example.
    pub seq_len: usize,
    /// Windows or padded records.
    pub layout: LayoutKind,
    /// The training file, as given.
    pub train_file: String,
    /// `[length, count]` of the real (unpadded) training example lengths, for sampling
    /// lengths like the data.
    pub length_counts: Vec<[u64; 2]>,
    /// Model sizes and training options.
    pub config: TrainConfig,
    /// Worker threads the run started with (`--threads`; 0 in runs from before it was
    /// recorded). For the record: the weights do not depend on it (`tests/train.rs` trains
    /// with 1 and 3 threads and compares them bit for bit), so a resume may use another count.
    #[serde(default)]
    pub threads: usize,
    /// FNV-1a 64 of the prepared training and validation examples (tokens as the model sees
    /// them), so that `--resume` can refuse other data; absent in runs from before it was
    /// recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_digest: Option<String>,
}

/// The exclusive lock of a run directory ([`RunDir::lock`]); released on drop.
#[derive(Debug)]
pub struct RunLock {
    _file: fs::File,
}

impl RunSpec {
    /// The digest recorded as [`RunSpec::data_digest`]: every example of `train`, then of
    /// `valid`, token by token, with the split between them marked.
    ///
    /// ```
    /// use seddbio::{alphabet::LayoutKind, data::{EncodedRecord, Layout, TokenDataset, TooLong}};
    /// use seddbio::train::RunSpec;
    ///
    /// let data = |tokens: Vec<u16>| {
    ///     let records = vec![EncodedRecord { id: "r".into(), tokens }];
    ///     let layout = Layout { kind: LayoutKind::Windows, seq_len: 4, stride: 4, too_long: TooLong::Error };
    ///     TokenDataset::new(records, layout, None).unwrap().0
    /// };
    /// let (a, b) = (data(vec![0, 1, 2, 3]), data(vec![0, 1, 2, 2]));
    /// assert_eq!(RunSpec::digest_data(&a, None), RunSpec::digest_data(&a, None));
    /// assert_ne!(RunSpec::digest_data(&a, None), RunSpec::digest_data(&b, None));
    /// assert_ne!(RunSpec::digest_data(&a, None), RunSpec::digest_data(&a, Some(&a)));
    /// ```
    pub fn digest_data(train: &TokenDataset, valid: Option<&TokenDataset>) -> String {
        // Hashed example by example: the data can be hundreds of MB as bytes.
        let mut hash = Fnv1a::new();
        for (mark, dataset) in [(b'T', Some(train)), (b'V', valid)] {
            let Some(dataset) = dataset else { continue };
            hash.update(&[mark]);
            for i in 0..dataset.len() {
                for token in dataset.example(i) {
                    hash.update(&token.to_le_bytes());
                }
            }
        }
        hash.hex()
    }
}

/// FNV-1a 64: enough to tell a truncated or altered file, or other data, from the original.
struct Fnv1a(u64);

impl Fnv1a {
    fn new() -> Fnv1a {
        Fnv1a(0xcbf2_9ce4_8422_2325)
    }

    fn update(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn hex(&self) -> String {
        format!("{:016x}", self.0)
    }
}

/// The FNV-1a 64 digest of `bytes`, as checkpoints record it.
fn digest(bytes: &[u8]) -> String {
    let mut hash = Fnv1a::new();
    hash.update(bytes);
    hash.hex()
}

/// One file of a checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileDigest {
    /// File name inside the checkpoint folder.
    pub name: String,
    /// Size in bytes.
    pub bytes: u64,
    /// FNV-1a 64 of the content.
    pub fnv1a64: String,
}

/// `state.toml` of a checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckpointState {
    /// Optimiser steps done. The random state of the next step is a function of the run's seed
    /// and this step (see [`stream_seed`](super::stream_seed)), so nothing else is needed.
    pub step: u64,
    /// The files and their digests.
    pub files: Vec<FileDigest>,
}

/// A checkpoint's files: name and bytes.
pub type NamedFiles = Vec<(String, Vec<u8>)>;

/// Paths of a run directory.
#[derive(Debug, Clone)]
pub struct RunDir {
    root: PathBuf,
}

const KEEP_CHECKPOINTS: usize = 2;

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl RunDir {
    /// The run at `root` (not created).
    pub fn new(root: impl Into<PathBuf>) -> RunDir {
        RunDir { root: root.into() }
    }

    /// Its root folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `RUN/NAME`.
    pub fn path(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    fn checkpoints(&self) -> PathBuf {
        self.root.join("checkpoints")
    }

    /// Whether a run was started here.
    pub fn exists(&self) -> bool {
        self.path("run.toml").exists()
    }

    /// Takes the run's exclusive lock (`RUN/.lock`, an OS file lock released when the
    /// returned guard drops or the process dies), so that two processes never write one run;
    /// creates the folder if needed. A second writer gets an error naming the holder's pid.
    pub fn lock(&self) -> Result<RunLock> {
        fs::create_dir_all(&self.root).map_err(io_error(&self.root))?;
        let path = self.path(".lock");
        let mut file = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io_error(&path))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                let holder = fs::read_to_string(&path).unwrap_or_default();
                return Err(Error::Options(format!(
                    "{}: another process is writing this run (pid {}); wait for it to end or choose another --out",
                    self.root.display(),
                    holder.trim()
                )));
            }
            Err(fs::TryLockError::Error(source)) => {
                return Err(Error::Io { path, source });
            }
        }
        // The holder's pid, for the message above; the lock itself is what counts.
        file.set_len(0).map_err(io_error(&path))?;
        writeln!(file, "{}", std::process::id()).map_err(io_error(&path))?;
        Ok(RunLock { _file: file })
    }

    /// Whether a run was started here and wrote at least one checkpoint. A run that was
    /// stopped before its first checkpoint (killed, disk full) has nothing to resume and may be
    /// started again in place.
    pub fn has_checkpoint(&self) -> bool {
        self.checkpoints().join("LATEST").exists()
    }

    /// Creates the folder and writes `run.toml` and `alphabet.toml`.
    pub fn create(&self, spec: &RunSpec, alphabet: &Alphabet) -> Result<()> {
        fs::create_dir_all(self.checkpoints()).map_err(io_error(&self.root))?;
        self.write_spec(spec)?;
        let alphabet_text = alphabet.to_toml();
        write_atomically(&self.path("alphabet.toml"), |w| {
            Ok(w.write_all(alphabet_text.as_bytes())?)
        })
    }

    /// Rewrites `run.toml` (atomically), e.g. when a time budget has fixed the steps.
    pub fn write_spec(&self, spec: &RunSpec) -> Result<()> {
        let text = toml::to_string(spec).map_err(|e| Error::Options(format!("run.toml: {e}")))?;
        write_atomically(
            &self.path("run.toml"),
            |w| Ok(w.write_all(text.as_bytes())?),
        )
    }

    /// Reads `run.toml` and `alphabet.toml`.
    pub fn read_spec(&self) -> Result<(RunSpec, Alphabet)> {
        let path = self.path("run.toml");
        if !path.exists() {
            return Err(Error::Options(format!(
                "{}: no run here (run.toml is missing); train one with `seddbio train ... --out {}`",
                self.root.display(),
                self.root.display()
            )));
        }
        let text = fs::read_to_string(&path).map_err(io_error(&path))?;
        let spec: RunSpec = toml::from_str(&text)
            .map_err(|e| Error::Options(format!("{}: {}", path.display(), e.message())))?;
        let alphabet = Alphabet::from_path(&self.path("alphabet.toml"))?;
        if alphabet.len() != spec.num_symbols {
            return Err(Error::Options(format!(
                "{}: alphabet.toml has {} tokens but run.toml says the model has {}",
                self.root.display(),
                alphabet.len(),
                spec.num_symbols
            )));
        }
        Ok((spec, alphabet))
    }

    /// Writes checkpoint `step` from named file contents; returns its folder.
    pub fn save_checkpoint(&self, step: u64, files: &[(&str, Vec<u8>)]) -> Result<PathBuf> {
        let dir = self.checkpoints();
        fs::create_dir_all(&dir).map_err(io_error(&dir))?;
        let name = format!("step-{step:08}");
        let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
        if tmp.exists() {
            fs::remove_dir_all(&tmp).map_err(io_error(&tmp))?;
        }
        fs::create_dir(&tmp).map_err(io_error(&tmp))?;
        let mut digests = Vec::new();
        for (file, bytes) in files {
            let path = tmp.join(file);
            let mut out = fs::File::create(&path).map_err(io_error(&path))?;
            out.write_all(bytes).map_err(io_error(&path))?;
            out.sync_all().map_err(io_error(&path))?;
            digests.push(FileDigest {
                name: file.to_string(),
                bytes: bytes.len() as u64,
                fnv1a64: digest(bytes),
            });
        }
        let state = CheckpointState {
            step,
            files: digests,
        };
        let text =
            toml::to_string(&state).map_err(|e| Error::Options(format!("state.toml: {e}")))?;
        let state_path = tmp.join("state.toml");
        fs::write(&state_path, text).map_err(io_error(&state_path))?;
        let final_dir = dir.join(&name);
        if final_dir.exists() {
            fs::remove_dir_all(&final_dir).map_err(io_error(&final_dir))?;
        }
        fs::rename(&tmp, &final_dir).map_err(io_error(&final_dir))?;
        write_atomically(&dir.join("LATEST"), |w| Ok(writeln!(w, "{name}")?))?;
        self.prune(&name)?;
        Ok(final_dir)
    }

    /// Removes all but the newest checkpoints (never `keep`).
    fn prune(&self, keep: &str) -> Result<()> {
        let dir = self.checkpoints();
        let mut names: Vec<String> = fs::read_dir(&dir)
            .map_err(io_error(&dir))?
            .filter_map(|entry| entry.ok())
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .filter(|name| name.starts_with("step-"))
            .collect();
        names.sort();
        let excess = names.len().saturating_sub(KEEP_CHECKPOINTS);
        for name in names.into_iter().take(excess).filter(|n| n != keep) {
            let path = dir.join(name);
            fs::remove_dir_all(&path).map_err(io_error(&path))?;
        }
        Ok(())
    }

    /// The latest checkpoint's state and files, each checked against its digest.
    pub fn load_checkpoint(&self) -> Result<(CheckpointState, NamedFiles)> {
        let latest = self.checkpoints().join("LATEST");
        let corrupt = |what: String| {
            Error::Options(format!(
                "{}: checkpoint is unusable: {what}",
                self.root.display()
            ))
        };
        let name = fs::read_to_string(&latest).map_err(|_| {
            corrupt("checkpoints/LATEST is missing: no checkpoint was ever written (a training run stopped before its first one starts again with the same command without --resume)".into())
        })?;
        let dir = self.checkpoints().join(name.trim());
        let state_path = dir.join("state.toml");
        let text = fs::read_to_string(&state_path)
            .map_err(|e| corrupt(format!("{}: {e}", state_path.display())))?;
        let state: CheckpointState = toml::from_str(&text)
            .map_err(|e| corrupt(format!("{}: {}", state_path.display(), e.message())))?;
        let mut files = Vec::new();
        for file in &state.files {
            let path = dir.join(&file.name);
            let bytes = fs::read(&path).map_err(|e| corrupt(format!("{}: {e}", path.display())))?;
            if bytes.len() as u64 != file.bytes || digest(&bytes) != file.fnv1a64 {
                return Err(corrupt(format!(
                    "{} is {} bytes with digest {}, but {} bytes with digest {} were written (truncated or altered)",
                    path.display(),
                    bytes.len(),
                    digest(&bytes),
                    file.bytes,
                    file.fnv1a64
                )));
            }
            files.push((file.name.clone(), bytes));
        }
        Ok((state, files))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checkpoint_round_trips_and_an_altered_one_is_refused() {
        let dir = crate::test_dir::tempdir().unwrap();
        let run = RunDir::new(dir.path());
        for step in [10, 20, 30] {
            run.save_checkpoint(step, &[("a.bin", vec![step as u8; 100])])
                .unwrap();
        }
        let (state, files) = run.load_checkpoint().unwrap();
        assert_eq!(state.step, 30);
        assert_eq!(files[0].1, vec![30u8; 100]);
        // Only the newest two are kept, beside LATEST.
        assert_eq!(fs::read_dir(run.checkpoints()).unwrap().count(), 3);
        let target = run.checkpoints().join("step-00000030").join("a.bin");
        let mut bytes = fs::read(&target).unwrap();
        bytes[50] ^= 1;
        fs::write(&target, bytes).unwrap();
        let error = run.load_checkpoint().unwrap_err().to_string();
        assert!(
            error.contains("a.bin") && error.contains("altered"),
            "{error}"
        );
    }
}
