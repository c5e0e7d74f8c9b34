//! The enums that name a user's choice (`--on-unknown skip`, `--sampler analytic`...): their
//! names, parsed with `FromStr` and printed with `Display`, and listed by [`Choice`] so that a
//! command line can show them in its help and complete them in a shell.

/// An enum chosen by name.
///
/// ```
/// use seddbio::{choices::Choice, diffusion::GraphKind};
///
/// assert_eq!(GraphKind::NAMES, ["absorb", "uniform"]);
/// assert_eq!("uniform".parse::<GraphKind>(), Ok(GraphKind::Uniform));
/// ```
pub trait Choice:
    std::str::FromStr<Err = String> + std::fmt::Display + Clone + Send + Sync + 'static
{
    /// The names, in the order they are documented.
    const NAMES: &'static [&'static str];
    /// Other spellings `FromStr` accepts, as `(alias, name)`.
    const ALIASES: &'static [(&'static str, &'static str)] = &[];
}

/// Implements `FromStr` (exact names, with an error listing the choices), `Display` and
/// [`Choice`] for a fieldless enum from `Variant => "name"` pairs.
macro_rules! named_choices {
    ($type:ty, $what:literal, { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl std::str::FromStr for $type {
            type Err = String;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($name => Ok(<$type>::$variant),)+
                    other => Err(format!(
                        "unknown {} '{}' (expected {})",
                        $what,
                        other,
                        [$($name),+].join(", ")
                    )),
                }
            }
        }

        impl std::fmt::Display for $type {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(match self {
                    $(<$type>::$variant => $name,)+
                })
            }
        }

        impl $crate::choices::Choice for $type {
            const NAMES: &'static [&'static str] = &[$($name),+];
        }
    };
}

pub(crate) use named_choices;
