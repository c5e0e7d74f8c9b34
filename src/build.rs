//! The `rdkit` feature's C++: the bridge of src/chem/rdkit_ffi.rs, compiled against the
//! system's RDKit (docs/guide.md, "SMILES chemistry"). Without the feature, nothing is built.

fn main() {
    for file in ["rdkit_ffi.rs", "rdkit_ffi.cc", "rdkit_ffi.h"] {
        println!("cargo:rerun-if-changed=src/chem/{file}");
    }
    #[cfg(feature = "rdkit")]
    rdkit_bridge();
}

#[cfg(feature = "rdkit")]
fn rdkit_bridge() {
    // Where the `rdkit` crate's build looks for RDKit's headers: conda, Homebrew, the system.
    let mut includes = vec![
        "/usr/local/include/rdkit".to_string(),
        "/usr/include/rdkit".to_string(),
        "/opt/homebrew/include/rdkit".to_string(),
    ];
    if let Ok(prefix) = std::env::var("CONDA_PREFIX") {
        includes.insert(0, format!("{prefix}/include/rdkit"));
    }
    println!("cargo:rerun-if-env-changed=CONDA_PREFIX");
    cxx_build::bridge("src/chem/rdkit_ffi.rs")
        .file("src/chem/rdkit_ffi.cc")
        .includes(includes)
        .flag("-std=c++17")
        // RDKit's headers warn under the compiler's defaults; the bridge itself is small.
        .warnings(false)
        .compile("seddbio_rdkit");
    // MurckoDecompose lives in a library the `rdkit` crate does not link.
    println!("cargo:rustc-link-lib=dylib=RDKitChemTransforms");
}
