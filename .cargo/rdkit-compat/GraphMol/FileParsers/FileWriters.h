// rdkit-sys 0.4.12 includes <GraphMol/FileParsers/FileWriters.h>, which RDKit releases before
// 2023.03 (Debian bookworm ships 2022.09) do not have: their writers are declared in
// FileParsers.h. .cargo/config.toml puts this directory on the C++ include path.
#pragma once
#include <GraphMol/FileParsers/FileParsers.h>
