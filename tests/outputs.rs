//! Outputs never destroy what they point at: a device or a named pipe is written in place, a
//! symbolic link keeps being a link while its target is written, and no output replaces a file
//! of the model directory a command reads. The device nodes and pipes are the test's own, in
//! its temporary directory (never /dev/null).

mod common;

use std::{ffi::CString, fs, os::unix::fs::FileTypeExt, path::Path};

use common::{fails, ok};

/// `sample` of two short sequences from `model` into `out`, as FASTA.
fn sample_into(model: &Path, out: &Path) -> Vec<String> {
    [
        "sample",
        "--model",
        model.to_str().unwrap(),
        "-n",
        "2",
        "--steps",
        "4",
        "--out-format",
        "fasta",
        "-o",
        out.to_str().unwrap(),
    ]
    .map(String::from)
    .to_vec()
}

fn run_ok(args: &[String]) -> String {
    ok(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

fn c_path(path: &Path) -> CString {
    CString::new(path.to_str().unwrap()).unwrap()
}

#[test]
fn a_named_pipe_is_written_in_place_for_its_reader() {
    let dir = common::tempdir().unwrap();
    let model = common::one_step_model(dir.path());
    let fifo = dir.path().join("pipe");
    // SAFETY: a valid C string and mode; mkfifo only creates the node.
    assert_eq!(unsafe { libc::mkfifo(c_path(&fifo).as_ptr(), 0o600) }, 0);
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || fs::read_to_string(fifo).unwrap())
    };
    let printed = run_ok(&sample_into(&model, &fifo));
    let read = reader.join().unwrap();
    assert_eq!(read.matches('>').count(), 2, "the reader got: {read:?}");
    assert!(printed.contains("2 sequences written to"), "{printed}");
    assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
}

#[test]
fn a_device_is_written_in_place_never_replaced() {
    let dir = common::tempdir().unwrap();
    let model = common::one_step_model(dir.path());
    let null = dir.path().join("null");
    // The null device's numbers (1, 3) under a name of the test's own.
    // SAFETY: a valid C string; mknod only creates the node (and needs CAP_MKNOD).
    let made = unsafe {
        libc::mknod(
            c_path(&null).as_ptr(),
            libc::S_IFCHR | 0o666,
            libc::makedev(1, 3),
        )
    };
    if made != 0 {
        eprintln!(
            "skipped: cannot make a device node here ({}); run as root to test it",
            std::io::Error::last_os_error()
        );
        return;
    }
    run_ok(&sample_into(&model, &null));
    let kind = fs::symlink_metadata(&null).unwrap().file_type();
    assert!(kind.is_char_device(), "the device was replaced: {kind:?}");
    // Nothing was left beside it either.
    let names: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.contains(".tmp")), "{names:?}");
}

#[test]
fn a_symbolic_link_stays_a_link_and_its_target_is_written() {
    let dir = common::tempdir().unwrap();
    let model = common::one_step_model(dir.path());
    let targets = dir.path().join("targets");
    fs::create_dir(&targets).unwrap();
    fs::write(targets.join("old.fa"), ">old\nA\n").unwrap();
    // A relative link to an existing file, and one to a file that does not exist yet.
    for (link, target) in [("link.fa", "targets/old.fa"), ("new.fa", "targets/new.fa")] {
        let link = dir.path().join(link);
        std::os::unix::fs::symlink(target, &link).unwrap();
        run_ok(&sample_into(&model, &link));
        assert!(fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(fs::read_link(&link).unwrap(), Path::new(target));
        let written = fs::read_to_string(dir.path().join(target)).unwrap();
        assert_eq!(written.matches('>').count(), 2, "{written}");
    }
    // No temporary file was left in either directory.
    for folder in [dir.path(), targets.as_path()] {
        for entry in fs::read_dir(folder).unwrap() {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            assert!(!name.contains(".tmp"), "{name}");
        }
    }
}

#[test]
fn no_output_replaces_a_file_of_the_model_being_read() {
    let dir = common::tempdir().unwrap();
    let model = common::one_step_model(dir.path());
    let m = model.to_str().unwrap();
    let files = [
        "run.toml",
        "checkpoints/LATEST",
        "alphabet.toml",
        "MODEL.md",
    ];
    let before: Vec<Vec<u8>> = files
        .iter()
        .map(|f| fs::read(model.join(f)).unwrap())
        .collect();
    let run_toml = model.join("run.toml");
    let latest = model.join("checkpoints/LATEST");
    let scored = dir.path().join("scored.fa");
    fs::write(&scored, ">a\nACGTACGTAC\n").unwrap();
    for args in [
        sample_into(&model, &run_toml),
        sample_into(&model, &model.join("alphabet.toml")),
        [
            "infill",
            "--model",
            m,
            "--template",
            "ACG[MASK:4]T",
            "-n",
            "1",
            "--steps",
            "4",
            "--out-format",
            "fasta",
            "-o",
            latest.to_str().unwrap(),
        ]
        .map(String::from)
        .to_vec(),
        [
            "score",
            scored.to_str().unwrap(),
            "--model",
            m,
            "--num-t",
            "1",
            "-o",
            model.join("MODEL.md").to_str().unwrap(),
        ]
        .map(String::from)
        .to_vec(),
    ] {
        let error = fails(&args.iter().map(String::as_str).collect::<Vec<_>>());
        assert!(
            error.contains("which this command reads; writing it would damage it"),
            "{args:?}: {error}"
        );
    }
    for (file, before) in files.iter().zip(&before) {
        assert_eq!(
            &fs::read(model.join(file)).unwrap(),
            before,
            "{file} changed"
        );
    }
    // A new file beside the run is no harm.
    run_ok(&sample_into(&model, &model.join("more.fa")));
}
