//! The command line's value parsers: each refuses a bad value where the option is parsed,
//! naming the option (clap adds the name).

use seddbio::choices::Choice;

/// `--threads`: 1 to [`THREADS_PER_CORE`] per core.
pub(super) fn parse_threads(s: &str) -> Result<usize, String> {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let most = THREADS_PER_CORE * cores;
    match s.parse::<usize>() {
        Ok(n) if (1..=most).contains(&n) => Ok(n),
        Ok(n) if n > most => Err(format!(
            "{n} threads is more than {most} ({THREADS_PER_CORE} per core on this machine's {cores}): more threads than that only wait on each other"
        )),
        _ => Err(format!("'{s}' is not a number of threads (1 or more)")),
    }
}

/// `--threads` allows at most this many threads per core.
pub(super) const THREADS_PER_CORE: usize = 8;

/// `--id-prefix`: a word that can start a FASTA id (no white space, no `>`), not empty.
pub(super) fn id_prefix(text: &str) -> std::result::Result<String, String> {
    match text.is_empty()
        || text.contains(|c: char| c.is_whitespace() || c.is_control() || c == '>')
    {
        true => Err(format!(
            "'{}' cannot start a sequence id: give a word without spaces",
            text.escape_debug()
        )),
        false => Ok(text.to_string()),
    }
}

/// `--shard K/N`: shard K of N, counted from 0.
pub(super) fn shard(text: &str) -> std::result::Result<seddbio::shard::Shard, String> {
    text.parse().map_err(|e: seddbio::Error| e.to_string())
}

/// `--quality-offset`: 33 or 64.
pub(super) fn quality_offset() -> clap::builder::ValueParser {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(["33", "64"])
        .try_map(|text| text.parse::<u8>())
        .into()
}

/// The value parser of a [`Choice`]: its names (and their aliases) become the possible values
/// that `--help` lists and shell completions offer.
pub fn choice<T: Choice>() -> clap::builder::ValueParser {
    use clap::builder::TypedValueParser;
    let values = T::NAMES.iter().map(|name| {
        let aliases = T::ALIASES
            .iter()
            .filter(|(_, of)| of == name)
            .map(|(alias, _)| *alias);
        clap::builder::PossibleValue::new(*name).aliases(aliases)
    });
    clap::builder::PossibleValuesParser::new(values)
        .try_map(|text| text.parse::<T>())
        .into()
}

/// The value parser of every floating-point option: a finite number. NaN and the infinities
/// are refused here, where the option is named; each option's range is checked where it is
/// used.
pub fn finite(text: &str) -> std::result::Result<f64, String> {
    match text.parse::<f64>() {
        Ok(value) if value.is_finite() => Ok(value),
        Ok(_) => Err(format!("'{text}' is not a finite number")),
        Err(_) => Err(format!("'{text}' is not a number")),
    }
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::*;
    use crate::cli::Cli;

    /// Every floating-point option of every subcommand, by its subcommand path and long name.
    fn float_options() -> Vec<(Vec<String>, String)> {
        fn walk(
            command: &clap::Command,
            path: &mut Vec<String>,
            found: &mut Vec<(Vec<String>, String)>,
        ) {
            for arg in command.get_arguments() {
                let is_float = arg.get_value_parser().type_id()
                    == clap::builder::ValueParser::from(clap::value_parser!(f64)).type_id();
                if let (true, Some(long)) = (is_float, arg.get_long()) {
                    found.push((path.clone(), long.to_string()));
                }
            }
            for sub in command.get_subcommands() {
                path.push(sub.get_name().to_string());
                walk(sub, path, found);
                path.pop();
            }
        }
        let mut found = Vec::new();
        walk(&Cli::command(), &mut Vec::new(), &mut found);
        found
    }

    #[test]
    fn every_float_option_refuses_nan_and_the_infinities() {
        let options = float_options();
        // The options of sample, infill, train, eval and data: the walk must find them.
        for long in [
            "temperature",
            "top-p",
            "lr",
            "motif-threshold",
            "min-mean-quality",
        ] {
            assert!(
                options.iter().any(|(_, l)| l == long),
                "{long}: {options:?}"
            );
        }
        for (path, long) in &options {
            for value in ["nan", "NaN", "inf", "-inf", "infinity"] {
                let mut line = vec!["seddbio".to_string()];
                line.extend(path.iter().cloned());
                line.push(format!("--{long}={value}"));
                let error = Cli::try_parse_from(&line).expect_err(&line.join(" "));
                assert_eq!(
                    error.kind(),
                    clap::error::ErrorKind::ValueValidation,
                    "{}: {error}",
                    line.join(" ")
                );
                assert!(
                    error.to_string().contains("is not a finite number"),
                    "{error}"
                );
            }
        }
    }

    #[test]
    fn threads_are_bounded_by_the_cores() {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        assert_eq!(parse_threads("1"), Ok(1));
        assert_eq!(
            parse_threads(&(THREADS_PER_CORE * cores).to_string()),
            Ok(THREADS_PER_CORE * cores)
        );
        let error = parse_threads("10000").unwrap_err();
        assert!(error.contains("10000 threads is more than"), "{error}");
        assert!(parse_threads("0").is_err() && parse_threads("many").is_err());
    }
}
