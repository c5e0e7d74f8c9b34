//! The JSON of `eval --json`: `summary.csv`'s figures for pipelines.

use std::{collections::BTreeMap, path::Path};

use serde::{Serialize, Serializer};

use super::csv::{summary, Metric};
use crate::eval::Evaluation;

/// `{"report": DIR, "metrics": {NAME: {"generated_vs_reference": x, "real_vs_real_floor": y,
/// "published": z}}}`:
/// every [`summary`] metric by name, under `summary.csv`'s column names; numbers as numbers, a
/// missing value as null, and a value that is not finite (JSON has no NaN) as its text (`NaN`,
/// `inf`), as `summary.csv` writes it.
pub fn json(evaluation: &Evaluation, report: &Path) -> serde_json::Value {
    let metrics: BTreeMap<String, Cells> = summary(evaluation)
        .into_iter()
        .map(
            |Metric {
                 name,
                 generated,
                 real,
                 published,
             }| {
                (
                    name,
                    Cells {
                        generated_vs_reference: generated,
                        real_vs_real_floor: real,
                        published,
                    },
                )
            },
        )
        .collect();
    let document = Document {
        report: report.display().to_string(),
        metrics,
    };
    // A map of strings and numbers always converts.
    serde_json::to_value(document).unwrap_or(serde_json::Value::Null)
}

/// The document `eval --json` prints.
#[derive(Serialize)]
struct Document {
    report: String,
    metrics: BTreeMap<String, Cells>,
}

/// One metric's values, under `summary.csv`'s column names.
#[derive(Serialize)]
struct Cells {
    #[serde(serialize_with = "number")]
    generated_vs_reference: Option<f64>,
    #[serde(serialize_with = "number")]
    real_vs_real_floor: Option<f64>,
    #[serde(serialize_with = "number")]
    published: Option<f64>,
}

/// A finite number as a number, none as null, anything else as its text.
fn number<S: Serializer>(value: &Option<f64>, serializer: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(v) if v.is_finite() => serializer.serialize_f64(*v),
        Some(v) => serializer.serialize_str(&v.to_string()),
        None => serializer.serialize_none(),
    }
}
