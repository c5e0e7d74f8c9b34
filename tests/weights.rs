//! `weights export` and `weights import`: a run's weights as a safetensors file, read here
//! without seddbio's own code (the header parsed as JSON, the tensors as little-endian floats),
//! and back into a run that gives the same outputs.

mod common;

use std::{collections::BTreeMap, fs, path::Path};

use common::{fails, ok};

/// A parsed safetensors file: the header's tensors (dtype, shape, byte range) and metadata,
/// and the data after the header.
#[derive(Clone)]
struct Safetensors {
    tensors: BTreeMap<String, (String, Vec<usize>, [usize; 2])>,
    metadata: BTreeMap<String, String>,
    data: Vec<u8>,
}

/// Reads `path` by the format's definition: an 8-byte little-endian header length, the JSON
/// header, the tensors' bytes.
fn read_safetensors(path: &Path) -> Safetensors {
    let bytes = fs::read(path).unwrap();
    let length = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + length]).unwrap();
    let mut tensors = BTreeMap::new();
    let mut metadata = BTreeMap::new();
    for (name, entry) in header.as_object().unwrap() {
        if name == "__metadata__" {
            for (key, value) in entry.as_object().unwrap() {
                metadata.insert(key.clone(), value.as_str().unwrap().to_string());
            }
            continue;
        }
        let numbers = |key: &str| -> Vec<usize> {
            entry[key]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap() as usize)
                .collect()
        };
        let offsets = numbers("data_offsets");
        tensors.insert(
            name.clone(),
            (
                entry["dtype"].as_str().unwrap().to_string(),
                numbers("shape"),
                [offsets[0], offsets[1]],
            ),
        );
    }
    Safetensors {
        tensors,
        metadata,
        data: bytes[8 + length..].to_vec(),
    }
}

/// Writes `file` back with its header's metadata value `key` changed by `edit`.
fn edit_metadata(file: &Safetensors, key: &str, edit: impl Fn(&str) -> String, out: &Path) {
    let mut edited = file.clone();
    if let Some(value) = edited.metadata.get_mut(key) {
        *value = edit(value);
    }
    write_safetensors(&edited, out);
}

/// Writes `file` to `out` in the format [`read_safetensors`] reads.
fn write_safetensors(file: &Safetensors, out: &Path) {
    let mut header = serde_json::Map::new();
    let metadata: serde_json::Map<String, serde_json::Value> = file
        .metadata
        .iter()
        .map(|(k, v)| (k.clone(), v.clone().into()))
        .collect();
    header.insert("__metadata__".into(), metadata.into());
    for (name, (dtype, shape, offsets)) in &file.tensors {
        header.insert(
            name.clone(),
            serde_json::json!({"dtype": dtype, "shape": shape, "data_offsets": offsets}),
        );
    }
    let text = serde_json::to_vec(&serde_json::Value::Object(header)).unwrap();
    let mut bytes = (text.len() as u64).to_le_bytes().to_vec();
    bytes.extend(text);
    bytes.extend(&file.data);
    fs::write(out, bytes).unwrap();
}

/// `seddbio weights export` of `model`'s EMA weights to `file`; what it said.
fn export(model: &Path, file: &Path) -> String {
    ok(&[
        "weights",
        "export",
        "--model",
        model.to_str().unwrap(),
        "-o",
        file.to_str().unwrap(),
    ])
}

/// The arguments of `seddbio weights import FILE -o OUT`.
fn import_args<'a>(file: &'a Path, out: &'a Path) -> [&'a str; 5] {
    [
        "weights",
        "import",
        file.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]
}

/// The scores CSV of three 24-base sequences under `model` (a 24-token model).
fn scores(model: &Path, out: &Path) -> String {
    let input = out.with_extension("fa");
    fs::write(
        &input,
        ">a\nACGTACGTTTGACAATTAATCATC\n>b\nGGGCGCGCATATATATTTAAACCC\n>c\nTTTTTTTTTTAAAAAAAAAACGCG\n",
    )
    .unwrap();
    ok(&[
        "score",
        "--model",
        model.to_str().unwrap(),
        input.to_str().unwrap(),
        "--num-t",
        "4",
        "-o",
        out.to_str().unwrap(),
    ]);
    fs::read_to_string(out).unwrap()
}

/// Export, read the file as NumPy or PyTorch would (names, float32, shapes, the run's files in
/// the metadata), import it as a new run that scores and samples exactly as the original, and
/// fine-tune from it; a changed weight in the file changes the imported run's scores.
#[test]
fn exported_weights_import_as_a_run_with_the_same_outputs() {
    let dir = common::tempdir().unwrap();
    let model = common::one_step_model(dir.path());
    let file = dir.path().join("model.safetensors");
    let said = export(&model, &file);
    assert!(
        said.contains("ema weights") && said.contains("step 1"),
        "{said}"
    );

    let parsed = read_safetensors(&file);
    assert_eq!(parsed.metadata["format"], "seddbio");
    assert_eq!(parsed.metadata["seddbio.weights"], "ema");
    assert!(parsed.metadata["seddbio.run_toml"].contains("alphabet = \"dna\""));
    assert_eq!(
        parsed.metadata["seddbio.alphabet_toml"],
        fs::read_to_string(model.join("alphabet.toml")).unwrap()
    );
    let run_toml = fs::read_to_string(model.join("run.toml")).unwrap();
    let width: usize = run_toml
        .lines()
        .find_map(|l| l.strip_prefix("d_model = "))
        .unwrap()
        .parse()
        .unwrap();
    // The documented map (docs/guide.md, "Weights as safetensors"): linear weights are
    // [in, out]; q, k and v are thirds of blocks.N.qkv's columns.
    let shape = |name: &str| parsed.tensors[name].1.clone();
    assert_eq!(shape("embedding.weight"), vec![5, width]);
    assert_eq!(shape("blocks.0.qkv.weight"), vec![width, 3 * width]);
    assert_eq!(shape("blocks.0.attn_out.weight"), vec![width, width]);
    assert_eq!(shape("final_linear.weight"), vec![width, 5]);
    let mut floats = 0;
    for (name, (dtype, shape, [start, end])) in &parsed.tensors {
        assert_eq!(dtype, "F32", "{name}");
        assert_eq!(end - start, 4 * shape.iter().product::<usize>(), "{name}");
        floats += shape.iter().product::<usize>();
    }
    assert_eq!(4 * floats, parsed.data.len());

    let imported = dir.path().join("imported");
    let said = ok(&import_args(&file, &imported));
    assert!(said.contains(&format!("{floats} parameters")), "{said}");
    let original_scores = scores(&model, &dir.path().join("a.csv"));
    assert_eq!(
        scores(&imported, &dir.path().join("b.csv")),
        original_scores
    );
    let sample = |model: &Path, out: &str| {
        let out = dir.path().join(out);
        ok(&[
            "sample",
            "--model",
            model.to_str().unwrap(),
            "-n",
            "4",
            "--seed",
            "5",
            "-o",
            out.to_str().unwrap(),
        ]);
        fs::read_to_string(out)
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with('>'))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(sample(&imported, "b.fa"), sample(&model, "a.fa"));

    // An imported run has nothing to resume, and says what it can do instead.
    let err = fails(&[
        "train",
        "datasets/dna/tiny_ecoli_64x300.fa",
        "-a",
        "dna",
        "--seq-len",
        "24",
        "--steps",
        "2",
        "--resume",
        "--out",
        imported.to_str().unwrap(),
    ]);
    assert!(
        err.contains("without an optimiser state") && err.contains("--init-from"),
        "{err}"
    );

    // Fine-tuning starts from an imported run.
    common::one_step_run(
        &dir.path().join("tuned"),
        "datasets/dna/tiny_ecoli_64x300.fa",
        &[
            "-a",
            "dna",
            "--seq-len",
            "24",
            "--init-from",
            imported.to_str().unwrap(),
        ],
    );

    // Mutation: the output bias of token A raised by 1 changes the scores.
    let (_, _, [start, _]) = parsed.tensors["final_linear.bias"];
    let mut bytes = fs::read(&file).unwrap();
    let at = bytes.len() - parsed.data.len() + start;
    let raised = f32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) + 1.0;
    bytes[at..at + 4].copy_from_slice(&raised.to_le_bytes());
    let changed = dir.path().join("changed.safetensors");
    fs::write(&changed, bytes).unwrap();
    let changed_run = dir.path().join("changed");
    ok(&import_args(&changed, &changed_run));
    assert_ne!(
        scores(&changed_run, &dir.path().join("c.csv")),
        original_scores
    );
}

/// The default preset (tiny, nine taps) trains a network whose taps export as `blocks.N.qkv_conv`
/// ([K, 3d], docs/guide.md's map) and import with the same outputs; under another name they
/// are refused.
#[test]
fn convolution_taps_export_and_import() {
    let dir = common::tempdir().unwrap();
    let model = common::one_step_run(
        dir.path(),
        "datasets/dna/tiny_ecoli_64x300.fa",
        &["-a", "dna", "--seq-len", "24"],
    );
    assert!(fs::read_to_string(model.join("run.toml"))
        .unwrap()
        .contains("conv_kernel = 9"));
    let file = dir.path().join("model.safetensors");
    export(&model, &file);
    let parsed = read_safetensors(&file);
    for block in ["blocks.0.qkv_conv", "blocks.1.qkv_conv"] {
        assert_eq!(parsed.tensors[block].1, vec![9, 3 * 64], "{block}");
    }
    let imported = dir.path().join("imported");
    ok(&import_args(&file, &imported));
    let original = scores(&model, &dir.path().join("a.csv"));
    assert_eq!(scores(&imported, &dir.path().join("b.csv")), original);

    // Mutation: the taps under another name are refused, naming what the network expected.
    let mut renamed = parsed.clone();
    let taps = renamed.tensors.remove("blocks.0.qkv_conv").unwrap();
    renamed.tensors.insert("blocks.0.qkv_cnvv".into(), taps);
    let changed = dir.path().join("renamed.safetensors");
    write_safetensors(&renamed, &changed);
    let out = dir.path().join("renamed");
    let err = fails(&import_args(&changed, &out));
    assert!(
        err.contains("missing blocks.0.qkv_conv; not in the network blocks.0.qkv_cnvv"),
        "{err}"
    );
}

/// What cannot become a run is refused with one line naming the file: a truncated file,
/// metadata that is not seddbio's, tensors that do not fit the network the metadata describes,
/// a directory that holds a run; and export never overwrites a file of the run it reads.
#[test]
fn bad_weight_files_are_refused_with_the_reason() {
    let dir = common::tempdir().unwrap();
    let model = common::one_step_model(dir.path());
    let file = dir.path().join("model.safetensors");
    let (model_arg, file_arg) = (model.to_str().unwrap(), file.to_str().unwrap());
    ok(&["weights", "export", "--model", model_arg, "-o", file_arg]);
    let parsed = read_safetensors(&file);
    let import = |path: &Path, out: &str| fails(&import_args(path, &dir.path().join(out)));

    let truncated = dir.path().join("truncated.safetensors");
    fs::write(&truncated, &fs::read(&file).unwrap()[..6]).unwrap();
    let err = import(&truncated, "a");
    assert!(
        err.contains("truncated.safetensors: not a safetensors file"),
        "{err}"
    );

    let foreign = dir.path().join("foreign.safetensors");
    edit_metadata(&parsed, "format", |_| "pt".into(), &foreign);
    let err = import(&foreign, "b");
    assert!(
        err.contains("foreign.safetensors: metadata 'format' is 'pt'"),
        "{err}"
    );

    // The metadata says the model is twice as wide as its tensors.
    let wider = dir.path().join("wider.safetensors");
    edit_metadata(
        &parsed,
        "seddbio.run_toml",
        |text| {
            text.lines()
                .map(|l| match l.strip_prefix("d_model = ") {
                    Some(v) => format!("d_model = {}", 2 * v.parse::<usize>().unwrap()),
                    None => l.to_string(),
                })
                .collect::<Vec<_>>()
                .join("\n")
        },
        &wider,
    );
    let err = import(&wider, "c");
    assert!(
        err.contains("wider.safetensors: the tensors do not fit the network"),
        "{err}"
    );
    // The first misfits are named with their shapes, the rest counted.
    assert!(err.contains("not fitting Shape mismatch for '"), "{err}");
    assert!(err.contains(" more"), "{err}");
    assert!(!dir.path().join("c").join("run.toml").exists());

    let err = fails(&["weights", "import", file_arg, "-o", model_arg]);
    assert!(err.contains("a run is already here"), "{err}");

    let run_toml = model.join("run.toml");
    let before = fs::read(&run_toml).unwrap();
    let err = fails(&[
        "weights",
        "export",
        "--model",
        model_arg,
        "-o",
        run_toml.to_str().unwrap(),
    ]);
    assert!(err.contains("this output is a file of"), "{err}");
    assert_eq!(fs::read(&run_toml).unwrap(), before);
}

/// A bundled model (a folder of `$SEDDBIO_MODELS` with the exported weights, `model.toml` and
/// the card) is listed by `seddbio models`, answers to its name wherever a run directory is
/// accepted with the run's own outputs, is imported into `$SEDDBIO_CACHE` once, and is what a
/// fine-tune records as its base; an unknown name says which names exist.
#[test]
fn bundled_models_answer_to_their_names() {
    let dir = common::tempdir().unwrap();
    let model = common::one_step_model(dir.path());
    let folder = dir.path().join("models").join("mini-dna");
    fs::create_dir_all(&folder).unwrap();
    let weights = folder.join("model.safetensors");
    export(&model, &weights);
    fs::write(
        folder.join("model.toml"),
        "description = \"a one-step test model\"\ndata = \"E. coli windows\"\n\
         training = \"a test\"\n[held_out]\nsplit = \"none\"\nbits_per_token = 1.99\n\
         standard_error = 0.01\nmarkov_bits_per_token = 1.98\nmarkov_order = 2\n",
    )
    .unwrap();
    fs::write(folder.join("MODEL.md"), "# mini-dna\n\nA test card.\n").unwrap();
    let models = dir.path().join("models");
    let cache = dir.path().join("cache");
    let env = [
        ("SEDDBIO_MODELS", models.to_str().unwrap()),
        ("SEDDBIO_CACHE", cache.to_str().unwrap()),
    ];
    let run = |args: &[&str]| {
        let output = common::seddbio_with_env(args, &env);
        assert!(output.status.success(), "{}", common::stderr(&output));
        common::stdout(&output)
    };

    let listing = run(&["models"]);
    let parameters = read_safetensors(&weights)
        .tensors
        .values()
        .map(|(_, shape, _)| shape.iter().product::<usize>())
        .sum::<usize>();
    assert!(
        listing.starts_with(&format!("mini-dna  dna, {parameters} parameters"))
            && listing.contains("1.9900 ± 0.0100 bits/token against 1.9800 for the order-2")
            && listing.contains("trained: a test (1 step)\n"),
        "{listing}"
    );
    assert_eq!(run(&["models", "mini-dna"]), "# mini-dna\n\nA test card.\n");

    let original = scores(&model, &dir.path().join("a.csv"));
    let by_name = |out: &str| {
        let out = dir.path().join(out);
        run(&[
            "score",
            "--model",
            "mini-dna",
            dir.path().join("a.fa").to_str().unwrap(),
            "--num-t",
            "4",
            "-o",
            out.to_str().unwrap(),
        ]);
        fs::read_to_string(out).unwrap()
    };
    assert_eq!(by_name("b.csv"), original);
    let imported: Vec<_> = fs::read_dir(cache.join("models")).unwrap().collect();
    assert_eq!(imported.len(), 1, "{imported:?}");
    let state = imported[0].as_ref().unwrap().path().join("checkpoints");
    let before = fs::metadata(&state).unwrap().modified().unwrap();
    assert_eq!(by_name("c.csv"), original);
    assert_eq!(fs::metadata(&state).unwrap().modified().unwrap(), before);

    let tuned = dir.path().join("tuned");
    run(&[
        "train",
        "datasets/dna/tiny_ecoli_64x300.fa",
        "-a",
        "dna",
        "--seq-len",
        "24",
        "--init-from",
        "mini-dna",
        "--batch-size",
        "4",
        "--steps",
        "1",
        "--report-samples",
        "0",
        "--out",
        tuned.to_str().unwrap(),
    ]);
    let run_toml = fs::read_to_string(tuned.join("run.toml")).unwrap();
    assert!(run_toml.contains("run = \"mini-dna\""), "{run_toml}");

    let output = common::seddbio_with_env(&["sample", "--model", "mini-rna", "-n", "1"], &env);
    let err = common::stderr(&output);
    assert!(
        !output.status.success()
            && err.contains("mini-rna: no run directory here and no bundled model of that name")
            && err.contains("bundled: mini-dna"),
        "{err}"
    );
}

/// Every model committed in the repository's `models/` is listed by `seddbio models` with the
/// facts of its `model.toml`, and samples under its name (imported into a temporary cache).
#[test]
fn committed_models_sample_by_name() {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
    let mut names: Vec<String> = fs::read_dir(&folder)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .filter(|e| e.path().join("model.safetensors").is_file())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    if names.is_empty() {
        eprintln!("skipped: no models committed in {}", folder.display());
        return;
    }
    let dir = common::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let env = [("SEDDBIO_CACHE", cache.to_str().unwrap())];
    let listing = common::stdout(&common::seddbio_with_env(&["models"], &env));
    for name in &names {
        assert!(listing.contains(&format!("{name}  ")), "{name}: {listing}");
        let facts: toml::Value =
            toml::from_str(&fs::read_to_string(folder.join(name).join("model.toml")).unwrap())
                .unwrap();
        let bits = facts["held_out"]["bits_per_token"].as_float().unwrap();
        assert!(listing.contains(&format!("{bits:.4}")), "{name}: {listing}");
        assert!(folder.join(name).join("MODEL.md").is_file(), "{name}");

        let out = dir.path().join(format!("{name}.fasta"));
        let output = common::seddbio_with_env(
            &[
                "sample",
                "--model",
                name,
                "-n",
                "2",
                "--steps",
                "16",
                "-o",
                out.to_str().unwrap(),
            ],
            &env,
        );
        assert!(output.status.success(), "{}", common::stderr(&output));
        let text = fs::read_to_string(&out).unwrap();
        assert_eq!(text.matches('>').count(), 2, "{text}");
        assert!(text.contains(&format!("model={name}")), "{text}");
    }
}
