//! The run directory: `run.toml` (the fully resolved configuration),
//! `alphabet.toml` (the vocabulary, SMILES tokens included), `metrics.csv`, `loss.svg`, and
//! `checkpoints/step-NNNNNNNN/` with model, EMA and optimiser state and a `state.toml` that
//! records the step and a digest of each file. A checkpoint is written into a temporary folder
//! and renamed into place, then `checkpoints/LATEST` is replaced atomically (each rename
//! followed by a sync of its directory); a crash at any moment leaves the previous checkpoint
//! usable. Each checkpoint also keeps a copy of `run.toml` and `alphabet.toml` under its
//! digests, so a run directory whose specification or vocabulary was edited after the fact is
//! refused instead of being read with weights that were trained for something else.

use std::{
    fs,
    io::Write,
    path::{Path, PathBuf},
};

use serde::{Deserialize, Serialize};

use super::{spec::digest, RunSpec};
use crate::{
    alphabet::Alphabet,
    io::{sync_directory, write_atomically},
    Error, Result,
};

/// The exclusive lock of a run directory ([`RunDir::lock`]); released on drop.
#[derive(Debug)]
pub struct RunLock {
    _file: fs::File,
    removed: Vec<PathBuf>,
}

impl RunLock {
    /// Temporary files and folders that an interrupted writer had left in the run and that
    /// taking the lock removed.
    pub fn removed(&self) -> &[PathBuf] {
        &self.removed
    }
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
    /// and this step (see [`stream_seed`](crate::train::stream_seed)), so nothing else is needed.
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
    /// The bundled model this run was imported from, if it was.
    bundled: Option<String>,
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
        RunDir {
            root: root.into(),
            bundled: None,
        }
    }

    /// The run at `root` that was imported from the bundled model `name`
    /// ([`open_model`](super::open_model)).
    pub(crate) fn named(root: impl Into<PathBuf>, name: &str) -> RunDir {
        RunDir {
            root: root.into(),
            bundled: Some(name.to_string()),
        }
    }

    /// What to call the run: the bundled model's name, else its folder as given.
    pub fn name(&self) -> String {
        match &self.bundled {
            Some(name) => name.clone(),
            None => self.root.display().to_string(),
        }
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
                return Err(self.error(format!(
                    "another process is writing this run (pid {}); wait for it to end or write elsewhere",
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
        let removed = self.remove_temporaries()?;
        Ok(RunLock {
            _file: file,
            removed,
        })
    }

    /// Removes what a writer killed mid-write leaves: checkpoint folders that were never
    /// renamed into place (`checkpoints/.step-N.tmp-PID`) and the temporary files of the
    /// run's own atomic writes (`.run.toml.tmpPID`, ...). Only called under the lock, when no
    /// other process can be writing them.
    fn remove_temporaries(&self) -> Result<Vec<PathBuf>> {
        const OWN_FILES: [&str; 5] = [
            "run.toml",
            "alphabet.toml",
            "metrics.csv",
            "loss.svg",
            "LATEST",
        ];
        let is_temporary = |name: &str| {
            is_temporary_checkpoint(name)
                || OWN_FILES
                    .iter()
                    .any(|own| crate::io::is_temporary_of(name, own))
        };
        let mut removed = Vec::new();
        for dir in [self.root.clone(), self.checkpoints()] {
            let Ok(entries) = fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries {
                let entry = entry.map_err(io_error(&dir))?;
                if !is_temporary(&entry.file_name().to_string_lossy()) {
                    continue;
                }
                let path = entry.path();
                match entry.file_type().map_err(io_error(&path))?.is_dir() {
                    true => fs::remove_dir_all(&path),
                    false => fs::remove_file(&path),
                }
                .map_err(io_error(&path))?;
                removed.push(path);
            }
        }
        Ok(removed)
    }

    /// An error about this run.
    fn error(&self, message: String) -> Error {
        Error::Run {
            run: self.root.clone(),
            message,
        }
    }

    /// An error about one of this run's checkpoints (writing one, or using its weights).
    pub(crate) fn checkpoint_error(&self, message: String) -> Error {
        Error::Checkpoint {
            run: self.root.clone(),
            message,
        }
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
        let text =
            toml::to_string(spec).map_err(|e| self.checkpoint_error(format!("run.toml: {e}")))?;
        write_atomically(
            &self.path("run.toml"),
            |w| Ok(w.write_all(text.as_bytes())?),
        )
    }

    /// Reads `run.toml` and `alphabet.toml`.
    pub fn read_spec(&self) -> Result<(RunSpec, Alphabet)> {
        let path = self.path("run.toml");
        if !path.exists() {
            return Err(self.error(
                "no run here (run.toml is missing); train one with `seddbio train` first".into(),
            ));
        }
        let text = fs::read_to_string(&path).map_err(io_error(&path))?;
        let spec = RunSpec::parse(&text).map_err(|why| self.error(format!("run.toml: {why}")))?;
        let alphabet = Alphabet::from_path(&self.path("alphabet.toml"))?;
        spec.check_vocabulary(&alphabet, ("alphabet.toml", "run.toml"))
            .map_err(|why| self.error(why))?;
        Ok((spec, alphabet))
    }

    /// Writes checkpoint `step` from named file contents, with copies of the run's `run.toml`
    /// and `alphabet.toml` where they exist; returns its folder.
    pub fn save_checkpoint(&self, step: u64, files: &[(&str, Vec<u8>)]) -> Result<PathBuf> {
        let dir = self.checkpoints();
        fs::create_dir_all(&dir).map_err(io_error(&dir))?;
        let name = checkpoint_name(step);
        let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
        if tmp.exists() {
            fs::remove_dir_all(&tmp).map_err(io_error(&tmp))?;
        }
        fs::create_dir(&tmp).map_err(io_error(&tmp))?;
        let mut run_files = Vec::new();
        for own in RUN_FILES {
            let path = self.path(own);
            if path.exists() {
                run_files.push((own, fs::read(&path).map_err(io_error(&path))?));
            }
        }
        let mut digests = Vec::new();
        for (file, bytes) in files.iter().chain(&run_files) {
            write_synced(&tmp.join(file), bytes)?;
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
        let text = toml::to_string(&state)
            .map_err(|e| self.checkpoint_error(format!("state.toml: {e}")))?;
        write_synced(&tmp.join("state.toml"), text.as_bytes())?;
        sync_directory(&tmp)?;
        let final_dir = dir.join(&name);
        if final_dir.exists() {
            fs::remove_dir_all(&final_dir).map_err(io_error(&final_dir))?;
        }
        fs::rename(&tmp, &final_dir).map_err(io_error(&final_dir))?;
        sync_directory(&dir)?;
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

    /// The latest checkpoint's state and files, each checked against its digest, and the
    /// run's `run.toml` and `alphabet.toml` checked against the copies the checkpoint keeps
    /// (what a resume may change, the total steps, the time budget's calibration and the
    /// thread count, left out). `checkpoints/LATEST` must name a checkpoint folder of this
    /// run, not a path elsewhere.
    pub fn load_checkpoint(&self) -> Result<(CheckpointState, NamedFiles)> {
        let (name, dir, state) = self.latest_state()?;
        let files = state
            .files
            .iter()
            .map(|file| Ok((file.name.clone(), self.read_checkpoint_file(&dir, file)?)))
            .collect::<Result<NamedFiles>>()?;
        self.check_run_files(&name, &files)?;
        Ok((state, files))
    }

    /// Checks that the run's `run.toml` and `alphabet.toml` are what its latest checkpoint
    /// was trained with (and that checkpoint's state readable), reading only those copies: an
    /// edited run is refused as edited, before anything is compared with it.
    pub fn check_unchanged(&self) -> Result<()> {
        let (name, dir, state) = self.latest_state()?;
        let files = state
            .files
            .iter()
            .filter(|file| RUN_FILES.contains(&file.name.as_str()))
            .map(|file| Ok((file.name.clone(), self.read_checkpoint_file(&dir, file)?)))
            .collect::<Result<NamedFiles>>()?;
        self.check_run_files(&name, &files)
    }

    /// The checkpoint `checkpoints/LATEST` names: its name, folder and state.
    fn latest_state(&self) -> Result<(String, PathBuf, CheckpointState)> {
        let latest = self.checkpoints().join("LATEST");
        let corrupt = |what: String| self.error(format!("checkpoint is unusable: {what}"));
        let bytes = fs::read(&latest).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => corrupt("checkpoints/LATEST is missing: no checkpoint was ever written (a training run stopped before its first checkpoint holds nothing to resume; start it again in place)".into()),
            _ => corrupt(format!("{}: {e}", latest.display())),
        })?;
        let name = String::from_utf8_lossy(&bytes);
        let name = name.trim();
        if !is_checkpoint_name(name) {
            return Err(corrupt(format!(
                "checkpoints/LATEST names {}, which is not a checkpoint folder of this run (step-NNNNNNNN)",
                crate::error::quote_symbol(bytes.trim_ascii())
            )));
        }
        let dir = self.checkpoints().join(name);
        let state_path = dir.join("state.toml");
        let text = fs::read_to_string(&state_path)
            .map_err(|e| corrupt(format!("{}: {e}", state_path.display())))?;
        let state: CheckpointState = toml::from_str(&text)
            .map_err(|e| corrupt(format!("{}: {}", state_path.display(), e.message())))?;
        if name != checkpoint_name(state.step) {
            return Err(corrupt(format!(
                "{} says step {}, but the folder is {name}",
                state_path.display(),
                state.step
            )));
        }
        Ok((name.to_string(), dir, state))
    }

    /// One file of the checkpoint in `dir`, checked against its size and digest.
    fn read_checkpoint_file(&self, dir: &Path, file: &FileDigest) -> Result<Vec<u8>> {
        let corrupt = |what: String| self.error(format!("checkpoint is unusable: {what}"));
        if !is_plain_name(&file.name) {
            return Err(corrupt(format!(
                "{} lists '{}', which is not a file of the checkpoint",
                dir.join("state.toml").display(),
                file.name.escape_default()
            )));
        }
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
        Ok(bytes)
    }

    /// Compares the run's `run.toml` and `alphabet.toml` with the copies in checkpoint `name`
    /// (checkpoints from before the copies were kept have none: nothing to compare).
    fn check_run_files(&self, name: &str, files: &NamedFiles) -> Result<()> {
        let saved = |own: &str| files.iter().find(|(n, _)| n == own).map(|(_, b)| b);
        let current = |own: &str| {
            let path = self.path(own);
            fs::read(&path).map_err(io_error(&path))
        };
        if let Some(saved) = saved("alphabet.toml") {
            if current("alphabet.toml")? != *saved {
                return Err(self.error(format!(
                    "alphabet.toml differs from the vocabulary checkpoint {name} was trained with (checkpoints/{name}/alphabet.toml); restore it"
                )));
            }
        }
        if let Some(saved) = saved("run.toml") {
            let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
            let changes = spec_changes(&text(saved), &text(&current("run.toml")?))
                .map_err(|e| self.error(format!("run.toml: {e}")))?;
            if !changes.is_empty() {
                return Err(self.error(format!(
                    "run.toml was changed after checkpoint {name} was written ({}); the weights belong to the run as it was: restore checkpoints/{name}/run.toml",
                    changes.join("; ")
                )));
            }
        }
        Ok(())
    }
}

/// The run's own files that every checkpoint keeps a copy of.
const RUN_FILES: [&str; 2] = ["run.toml", "alphabet.toml"];

/// The folder of checkpoint `step`: `step-` and the step in eight digits, so that names sort
/// by step.
fn checkpoint_name(step: u64) -> String {
    format!("step-{step:08}")
}

/// `step-` and digits: what [`checkpoint_name`] makes.
fn is_checkpoint_name(name: &str) -> bool {
    name.strip_prefix("step-").is_some_and(is_number)
}

/// One or more ASCII digits.
fn is_number(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

/// The folder [`RunDir::save_checkpoint`] writes a checkpoint into before renaming it:
/// `.step-NNNNNNNN.tmp-PID`.
fn is_temporary_checkpoint(name: &str) -> bool {
    name.strip_prefix('.')
        .and_then(|rest| rest.split_once(".tmp-"))
        .is_some_and(|(folder, pid)| is_checkpoint_name(folder) && is_number(pid))
}

/// A file name without separators or parent references.
fn is_plain_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\\', '\0'])
}

/// Creates `path` with `bytes` and syncs it.
fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut out = fs::File::create(path).map_err(io_error(path))?;
    out.write_all(bytes).map_err(io_error(path))?;
    out.sync_all().map_err(io_error(path))
}

/// What differs between two `run.toml` texts, as `key: was X, now Y` with dotted keys,
/// leaving out what a run rewrites itself or a resume may change: `threads`,
/// `config.training.steps` and `config.training.time_budget`.
fn spec_changes(saved: &str, current: &str) -> std::result::Result<Vec<String>, String> {
    let parse = |text: &str| -> std::result::Result<toml::Table, String> {
        let mut table: toml::Table = toml::from_str(text).map_err(|e| e.message().to_string())?;
        table.remove("threads");
        if let Some(training) = table
            .get_mut("config")
            .and_then(|c| c.get_mut("training"))
            .and_then(|t| t.as_table_mut())
        {
            training.remove("steps");
            training.remove("time_budget");
        }
        Ok(table)
    };
    let (saved, current) = (parse(saved)?, parse(current)?);
    let mut changes = Vec::new();
    table_changes("", &saved, &current, &mut changes);
    Ok(changes)
}

fn table_changes(prefix: &str, saved: &toml::Table, current: &toml::Table, out: &mut Vec<String>) {
    let mut keys: Vec<&String> = saved.keys().chain(current.keys()).collect();
    keys.sort();
    keys.dedup();
    for key in keys {
        let path = format!("{prefix}{key}");
        match (saved.get(key), current.get(key)) {
            (Some(toml::Value::Table(a)), Some(toml::Value::Table(b))) => {
                table_changes(&format!("{path}."), a, b, out)
            }
            (a, b) if a != b => {
                let show =
                    |v: Option<&toml::Value>| v.map_or("absent".to_string(), |v| v.to_string());
                out.push(format!("{path}: was {}, now {}", show(a), show(b)));
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        data::LayoutKind,
        diffusion::{GraphKind, NoiseSchedule},
        run::TrainConfig,
    };

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

    /// A run directory with `run.toml`, `alphabet.toml` and one checkpoint, as `train`
    /// leaves it.
    fn a_run(dir: &Path) -> RunDir {
        let run = RunDir::new(dir);
        let spec = RunSpec {
            seddbio_version: "0.1.0".into(),
            alphabet: "dna".into(),
            num_symbols: 4,
            graph: GraphKind::Absorb,
            noise: NoiseSchedule::log_linear(),
            seed: 7,
            seq_len: 100,
            layout: LayoutKind::Windows,
            train_file: "x.fa".into(),
            length_counts: vec![[100, 3]],
            config: TrainConfig::resolve("tiny").unwrap(),
            threads: 2,
            data_digest: Some("0123456789abcdef".into()),
            init_from: None,
            labels: Vec::new(),
            reweight: None,
        };
        run.create(&spec, &Alphabet::builtin("dna").unwrap())
            .unwrap();
        run.save_checkpoint(10, &[("a.bin", vec![1; 64])]).unwrap();
        run
    }

    #[test]
    fn an_edited_run_toml_or_alphabet_is_refused_but_a_new_step_count_is_not() {
        let dir = crate::test_dir::tempdir().unwrap();
        let run = a_run(dir.path());
        let original = fs::read_to_string(run.path("run.toml")).unwrap();
        run.load_checkpoint().unwrap();
        // What a resume with --steps or a time budget's calibration rewrites.
        let (mut spec, alphabet) = run.read_spec().unwrap();
        spec.config.training.steps += 1000;
        spec.threads = 5;
        run.write_spec(&spec).unwrap();
        run.load_checkpoint().unwrap();
        // What a user's edit could change under trained weights.
        let edited = original.replace("seq_len = 100", "seq_len = 200");
        fs::write(run.path("run.toml"), edited).unwrap();
        let error = run.load_checkpoint().unwrap_err().to_string();
        assert!(error.contains("seq_len: was 100, now 200"), "{error}");
        let edited = original.replace("alphabet = \"dna\"", "alphabet = \"protein\"");
        fs::write(run.path("run.toml"), edited).unwrap();
        let error = run.load_checkpoint().unwrap_err().to_string();
        assert!(
            error.contains("alphabet: was \"dna\", now \"protein\""),
            "{error}"
        );
        fs::write(run.path("run.toml"), &original).unwrap();
        let protein = Alphabet::builtin("protein").unwrap().to_toml();
        fs::write(run.path("alphabet.toml"), protein).unwrap();
        let error = run.load_checkpoint().unwrap_err().to_string();
        assert!(error.contains("alphabet.toml differs"), "{error}");
        fs::write(run.path("alphabet.toml"), alphabet.to_toml()).unwrap();
        run.load_checkpoint().unwrap();
    }

    #[test]
    fn latest_may_only_name_a_checkpoint_of_the_run() {
        let dir = crate::test_dir::tempdir().unwrap();
        let run = a_run(&dir.path().join("run"));
        let outside = dir.path().join("elsewhere");
        fs::create_dir_all(&outside).unwrap();
        fs::copy(
            run.checkpoints().join("step-00000010/state.toml"),
            outside.join("state.toml"),
        )
        .unwrap();
        for name in ["../../elsewhere", "/tmp", "step-1/../../x", "", "LATEST"] {
            fs::write(run.checkpoints().join("LATEST"), format!("{name}\n")).unwrap();
            let error = run.load_checkpoint().unwrap_err().to_string();
            assert!(
                error.contains("not a checkpoint folder of this run"),
                "{name}: {error}"
            );
        }
        // Bytes that are no name at all are shown as bytes, not taken for a missing file.
        fs::write(run.checkpoints().join("LATEST"), b"\xff\xfe\x00").unwrap();
        let error = run.check_unchanged().unwrap_err().to_string();
        assert!(
            error.contains("LATEST names '\\xff\\xfe\\x00', which is not a checkpoint folder"),
            "{error}"
        );
    }

    #[test]
    fn taking_the_lock_removes_what_a_killed_writer_left() {
        let dir = crate::test_dir::tempdir().unwrap();
        let run = a_run(dir.path());
        let stale_checkpoint = run.checkpoints().join(".step-00000020.tmp-4242");
        fs::create_dir_all(&stale_checkpoint).unwrap();
        fs::write(stale_checkpoint.join("model.bpk"), b"half").unwrap();
        fs::write(run.path(".metrics.csv.tmp4242"), b"half").unwrap();
        fs::write(run.checkpoints().join(".LATEST.tmp4242"), b"half").unwrap();
        // Not the run's: left alone.
        fs::write(run.path(".notes.tmp1"), b"mine").unwrap();
        let lock = run.lock().unwrap();
        assert_eq!(lock.removed().len(), 3, "{:?}", lock.removed());
        assert!(!stale_checkpoint.exists() && run.path(".notes.tmp1").exists());
        run.load_checkpoint().unwrap();
    }

    #[test]
    fn random_and_mutated_run_and_state_files_never_panic() {
        let dir = crate::test_dir::tempdir().unwrap();
        let run = a_run(dir.path());
        let run_toml = fs::read(run.path("run.toml")).unwrap();
        let state_path = run.checkpoints().join("step-00000010/state.toml");
        let state = fs::read(&state_path).unwrap();
        let pieces: &[&[u8]] = &[
            b"[config.model]\n",
            b"d_model = 0\n",
            b"num_heads = 3\n",
            b"seq_len = 0\n",
            b"step = -1\n",
            b"[[files]]\n",
            b"name = \"../x\"\n",
            b"bytes = 99\n",
            b"fnv1a64 = \"0\"\n",
            b"eps = 0.0\n",
            b"=",
            b"\"",
            b"[",
            b"\n",
        ];
        let mut inputs = crate::fuzz::Inputs::new(61);
        let root = dir.path().to_string_lossy().into_owned();
        for case in 0..2000 {
            let (target, valid) = match case % 2 {
                0 => (run.path("run.toml"), &run_toml),
                _ => (state_path.clone(), &state),
            };
            let input = match case % 4 < 2 {
                true => inputs.mutate(valid),
                false => inputs.grammar(pieces, 12),
            };
            fs::write(&target, &input).unwrap();
            let result = crate::fuzz::must_return("a run directory", &input, || {
                run.read_spec()?;
                run.load_checkpoint()
            });
            match result {
                Ok((state, files)) => {
                    // Only an edit that changed nothing the digests cover gets through.
                    assert_eq!(state.step, 10, "{input:?}");
                    assert_eq!(files[0], ("a.bin".to_string(), vec![1; 64]));
                }
                Err(error) => assert!(error.to_string().contains(&root), "{error}"),
            }
            fs::write(&target, valid).unwrap();
        }
    }
}
