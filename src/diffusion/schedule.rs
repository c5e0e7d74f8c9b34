//! Noise schedules: total noise `sigma_bar(t)` and its rate `sigma(t)` (docs/design.md, §2,
//! eqs. (2)-(5)).

use serde::{Deserialize, Serialize};

/// A noise schedule on t in [0, 1].
///
/// ```
/// use seddbio::diffusion::NoiseSchedule;
///
/// let schedule = NoiseSchedule::log_linear();
/// // Log-linear: the probability of being masked at t is (1 - eps) t.
/// let t = 0.5;
/// assert!((1.0 - (-schedule.sigma_bar(t)).exp() - 0.999 * t).abs() < 1e-12);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum NoiseSchedule {
    /// `sigma_bar(t) = -ln(1 - (1 - eps) t)`: the default for absorbing models.
    #[serde(rename = "loglinear")]
    LogLinear {
        /// Keeps `sigma_bar(1)` finite: `-ln(eps)`.
        eps: f64,
    },
    /// `sigma_bar(t) = sigma_min^(1-t) sigma_max^t`: the default for uniform models.
    Geometric {
        /// `sigma_bar(0)`.
        sigma_min: f64,
        /// `sigma_bar(1)`.
        sigma_max: f64,
    },
}

/// The family of a [`NoiseSchedule`], as `--noise` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScheduleKind {
    /// [`NoiseSchedule::LogLinear`].
    LogLinear,
    /// [`NoiseSchedule::Geometric`].
    Geometric,
}

crate::choices::named_choices!(ScheduleKind, "noise schedule", {
    LogLinear => "loglinear",
    Geometric => "geometric",
});

impl ScheduleKind {
    /// The schedule with the reference parameters.
    pub fn schedule(self) -> NoiseSchedule {
        match self {
            ScheduleKind::LogLinear => NoiseSchedule::log_linear(),
            ScheduleKind::Geometric => NoiseSchedule::geometric(),
        }
    }
}

/// The schedule as `--noise` names it, with its parameters.
///
/// ```
/// use seddbio::diffusion::NoiseSchedule;
///
/// assert_eq!(NoiseSchedule::log_linear().to_string(), "loglinear (eps 0.001)");
/// let geometric = NoiseSchedule::Geometric { sigma_min: 1e-4, sigma_max: 20.0 };
/// assert_eq!(geometric.to_string(), "geometric (sigma 0.0001 to 20)");
/// ```
impl std::fmt::Display for NoiseSchedule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NoiseSchedule::LogLinear { eps } => write!(f, "{} (eps {eps})", self.kind()),
            NoiseSchedule::Geometric {
                sigma_min,
                sigma_max,
            } => write!(f, "{} (sigma {sigma_min} to {sigma_max})", self.kind()),
        }
    }
}

impl NoiseSchedule {
    /// Its family.
    pub fn kind(&self) -> ScheduleKind {
        match self {
            NoiseSchedule::LogLinear { .. } => ScheduleKind::LogLinear,
            NoiseSchedule::Geometric { .. } => ScheduleKind::Geometric,
        }
    }

    /// Checks the parameters: `0 < eps < 1`, `0 < sigma_min < sigma_max`, all finite (what
    /// a hand-edited run.toml could break).
    ///
    /// ```
    /// use seddbio::diffusion::NoiseSchedule;
    ///
    /// assert!(NoiseSchedule::log_linear().validate().is_ok());
    /// assert!(NoiseSchedule::LogLinear { eps: 0.0 }.validate().is_err());
    /// ```
    pub fn validate(&self) -> Result<(), String> {
        match *self {
            NoiseSchedule::LogLinear { eps } if !(eps > 0.0 && eps < 1.0) => {
                Err(format!("loglinear eps {eps} is not in (0, 1)"))
            }
            NoiseSchedule::Geometric {
                sigma_min,
                sigma_max,
            } if !(sigma_min > 0.0 && sigma_min < sigma_max && sigma_max.is_finite()) => Err(
                format!("geometric sigma_min {sigma_min}, sigma_max {sigma_max}: need 0 < sigma_min < sigma_max, finite"),
            ),
            _ => Ok(()),
        }
    }

    /// Log-linear with the reference eps = 1e-3.
    pub fn log_linear() -> NoiseSchedule {
        NoiseSchedule::LogLinear { eps: 1e-3 }
    }

    /// Geometric with the reference (1e-4, 20).
    pub fn geometric() -> NoiseSchedule {
        NoiseSchedule::Geometric {
            sigma_min: 1e-4,
            sigma_max: 20.0,
        }
    }

    /// Total noise `sigma_bar(t)`.
    pub fn sigma_bar(&self, t: f64) -> f64 {
        match *self {
            NoiseSchedule::LogLinear { eps } => -(-(1.0 - eps) * t).ln_1p(),
            NoiseSchedule::Geometric {
                sigma_min,
                sigma_max,
            } => sigma_min.powf(1.0 - t) * sigma_max.powf(t),
        }
    }

    /// The time at which the total noise is `sigma_bar` (inverse of [`sigma_bar`](Self::sigma_bar)).
    ///
    /// ```
    /// use seddbio::diffusion::NoiseSchedule;
    ///
    /// for schedule in [NoiseSchedule::log_linear(), NoiseSchedule::geometric()] {
    ///     let t = schedule.time_of(schedule.sigma_bar(0.37));
    ///     assert!((t - 0.37).abs() < 1e-12);
    /// }
    /// ```
    pub fn time_of(&self, sigma_bar: f64) -> f64 {
        match *self {
            NoiseSchedule::LogLinear { eps } => -(-sigma_bar).exp_m1() / (1.0 - eps),
            NoiseSchedule::Geometric {
                sigma_min,
                sigma_max,
            } => (sigma_bar / sigma_min).ln() / (sigma_max / sigma_min).ln(),
        }
    }

    /// Noise rate `sigma(t) = d sigma_bar / dt`.
    pub fn sigma(&self, t: f64) -> f64 {
        match *self {
            NoiseSchedule::LogLinear { eps } => (1.0 - eps) / (1.0 - (1.0 - eps) * t),
            NoiseSchedule::Geometric {
                sigma_min,
                sigma_max,
            } => self.sigma_bar(t) * (sigma_max.ln() - sigma_min.ln()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_is_the_derivative_of_total_noise() {
        for schedule in [NoiseSchedule::log_linear(), NoiseSchedule::geometric()] {
            for t in [0.01, 0.3, 0.7, 0.99] {
                let h = 1e-6;
                let numeric = (schedule.sigma_bar(t + h) - schedule.sigma_bar(t - h)) / (2.0 * h);
                let exact = schedule.sigma(t);
                assert!(
                    (numeric - exact).abs() < 1e-6 * exact.max(1.0),
                    "{schedule:?} t={t}"
                );
            }
        }
    }

    #[test]
    fn schedules_round_trip_through_toml() {
        let text = toml::to_string(&NoiseSchedule::geometric()).unwrap();
        assert!(text.contains("kind = \"geometric\""), "{text}");
        let back: NoiseSchedule = toml::from_str(&text).unwrap();
        assert_eq!(back, NoiseSchedule::geometric());
    }
}
