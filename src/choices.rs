//! `FromStr` and `Display` for the enums that name a user's choice (`--on-unknown skip`...).

/// Implements `FromStr` (exact names, with an error listing the choices) and `Display` for a
/// fieldless enum from `Variant => "name"` pairs.
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
    };
}

pub(crate) use named_choices;
