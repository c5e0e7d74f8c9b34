//! The diffusion core against independent computations: a numerical matrix exponential, the
//! reference implementation's numbers, brute-force enumeration of a toy distribution, and the
//! entropy of known i.i.d. sources.

// Matrix and state-space arithmetic reads best with explicit indices.
#![allow(clippy::needless_range_loop)]

use rand::{rngs::ChaCha8Rng, Rng, RngExt, SeedableRng};
use seddbio::diffusion::{elbo_bound, sample_categorical, Graph, NoiseSchedule};
use serde_json::Value;

/// exp(A) by scaling and squaring with a 30-term Taylor series: an independent check of the
/// closed forms, which never form a matrix exponential.
fn expm(a: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let n = a.len();
    let norm = a
        .iter()
        .map(|row| row.iter().map(|x| x.abs()).sum::<f64>())
        .fold(0.0, f64::max);
    let squarings = (norm.max(1.0).log2().ceil() as i32 + 4).max(0);
    let scale = 2f64.powi(squarings);
    let b: Vec<Vec<f64>> = a
        .iter()
        .map(|r| r.iter().map(|x| x / scale).collect())
        .collect();
    let matmul = |x: &[Vec<f64>], y: &[Vec<f64>]| -> Vec<Vec<f64>> {
        (0..n)
            .map(|i| {
                (0..n)
                    .map(|j| (0..n).map(|k| x[i][k] * y[k][j]).sum())
                    .collect()
            })
            .collect()
    };
    let mut result: Vec<Vec<f64>> = (0..n)
        .map(|i| (0..n).map(|j| if i == j { 1.0 } else { 0.0 }).collect())
        .collect();
    let mut term = result.clone();
    for k in 1..30 {
        term = matmul(&term, &b)
            .into_iter()
            .map(|r| r.into_iter().map(|x| x / k as f64).collect())
            .collect();
        for i in 0..n {
            for j in 0..n {
                result[i][j] += term[i][j];
            }
        }
    }
    for _ in 0..squarings {
        result = matmul(&result, &result);
    }
    result
}

#[test]
fn closed_forms_equal_the_matrix_exponential() {
    for n in [4, 5, 21] {
        for graph in [Graph::absorbing(n), Graph::uniform(n)] {
            let q = graph.rate_matrix();
            for sigma_bar in [1e-4, 0.05, 0.7, 3.0, 12.0] {
                let scaled: Vec<Vec<f64>> = q
                    .iter()
                    .map(|r| r.iter().map(|x| x * sigma_bar).collect())
                    .collect();
                let numeric = expm(&scaled);
                for x0 in 0..graph.width() {
                    let closed = graph.transition(x0, sigma_bar);
                    for x_t in 0..graph.width() {
                        let diff = (closed[x_t] - numeric[x_t][x0]).abs();
                        assert!(
                            diff < 1e-12,
                            "{graph:?} sigma_bar={sigma_bar} x0={x0} x_t={x_t}: {diff}"
                        );
                    }
                }
            }
        }
    }
}

fn reference_vectors() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/sedd_reference_vectors.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn f64s(value: &Value) -> Vec<f64> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}

fn usizes(value: &Value) -> Vec<usize> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as usize)
        .collect()
}

fn close(a: f64, b: f64, what: &str) {
    assert!(
        (a - b).abs() <= 1e-9 * b.abs().max(1.0),
        "{what}: {a} vs reference {b}"
    );
}

#[test]
fn reference_implementation_numbers_are_reproduced() {
    let vectors = reference_vectors();
    for case in vectors["schedules"].as_array().unwrap() {
        let t = case["t"].as_f64().unwrap();
        for (key, schedule) in [
            ("loglinear_eps1e-3", NoiseSchedule::log_linear()),
            ("geometric_1e-4_20", NoiseSchedule::geometric()),
        ] {
            close(
                schedule.sigma_bar(t),
                case[key]["sigma_bar"].as_f64().unwrap(),
                &format!("{key} sigma_bar({t})"),
            );
            close(
                schedule.sigma(t),
                case[key]["sigma"].as_f64().unwrap(),
                &format!("{key} sigma({t})"),
            );
        }
    }
    let mut checked = 0;
    for (key, build) in [
        ("absorb", Graph::absorbing as fn(usize) -> Graph),
        ("uniform", Graph::uniform),
    ] {
        for case in vectors[key].as_array().unwrap() {
            let graph = build(case["N_real"].as_u64().unwrap() as usize);
            assert_eq!(graph.width(), case["width"].as_u64().unwrap() as usize);
            let sigma_bar = case["sigma_bar"].as_f64().unwrap();
            let delta_sigma = case["delta_sigma"].as_f64().unwrap();
            let x0 = usizes(&case["x0"]);
            let x_t = usizes(&case["x_t"]);
            let losses = f64s(&case["dse_loss_per_position"]);
            for l in 0..x0.len() {
                let what = format!(
                    "{key} N={} sigma_bar={sigma_bar} position {l}",
                    graph.num_symbols
                );
                let score = f64s(&case["log_score"][l]);
                close(
                    graph.score_entropy(&score, x_t[l], x0[l], sigma_bar),
                    losses[l],
                    &format!("{what} loss"),
                );
                let weights = graph.analytic_weights(&score, x_t[l], delta_sigma);
                let rates = graph.reverse_rates(&score, x_t[l]);
                for (y, (expected_w, expected_r)) in f64s(&case["analytic_weights"][l])
                    .into_iter()
                    .zip(f64s(&case["reverse_rate_unscaled"][l]))
                    .enumerate()
                {
                    close(
                        weights[y],
                        expected_w,
                        &format!("{what} analytic weight {y}"),
                    );
                    close(rates[y], expected_r, &format!("{what} reverse rate {y}"));
                }
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 72);
}

#[test]
fn loss_is_never_negative() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    for n in [2, 4, 21] {
        for graph in [Graph::absorbing(n), Graph::uniform(n)] {
            for _ in 0..2000 {
                let sigma_bar = 10f64.powf(rng.random_range(-4.0..1.3));
                let x0 = rng.random_range(0..n);
                let x_t = graph.perturb(x0, sigma_bar, &mut rng);
                let mut score: Vec<f64> = (0..graph.width())
                    .map(|_| rng.random_range(-8.0..8.0))
                    .collect();
                score[x_t] = 0.0;
                let loss = graph.score_entropy(&score, x_t, x0, sigma_bar);
                assert!(loss >= -1e-9 * loss.abs().max(1.0), "{graph:?} {loss}");
            }
        }
    }
}

/// A toy joint distribution over length-2 sequences of 3 tokens (9 sequences, not
/// independent across positions), enumerated exactly.
struct Toy {
    graph: Graph,
    p0: Vec<f64>,
}

const L: usize = 2;

impl Toy {
    fn new(graph: Graph) -> Toy {
        let raw = [5.0, 1.0, 0.5, 0.2, 3.0, 1.0, 0.7, 0.3, 4.0];
        let total: f64 = raw.iter().sum();
        Toy {
            graph,
            p0: raw.iter().map(|x| x / total).collect(),
        }
    }

    fn states(&self) -> Vec<[usize; L]> {
        let w = self.graph.width();
        (0..w * w).map(|i| [i / w, i % w]).collect()
    }

    /// p(x_t | x_0) for whole sequences.
    fn forward(&self, x0: [usize; L], x_t: [usize; L], sigma_bar: f64) -> f64 {
        (0..L)
            .map(|l| self.graph.transition(x0[l], sigma_bar)[x_t[l]])
            .product()
    }

    fn marginal(&self, x_t: [usize; L], sigma_bar: f64) -> f64 {
        (0..9)
            .map(|i| self.p0[i] * self.forward([i / 3, i % 3], x_t, sigma_bar))
            .sum()
    }

    /// The exact marginal log concrete score of `x_t`: one row per position.
    fn exact_score(&self, x_t: [usize; L], sigma_bar: f64) -> Vec<Vec<f64>> {
        let here = self.marginal(x_t, sigma_bar);
        (0..L)
            .map(|l| {
                (0..self.graph.width())
                    .map(|y| {
                        let mut other = x_t;
                        other[l] = y;
                        // Unreachable neighbours get a very negative (not infinite) log score.
                        (self.marginal(other, sigma_bar) / here).ln().max(-60.0)
                    })
                    .collect()
            })
            .collect()
    }

    /// E_{x0, x_t}[sum over positions of the DSE loss] with scores `scores(x_t)`.
    fn expected_loss(&self, sigma_bar: f64, scores: &dyn Fn([usize; L]) -> Vec<Vec<f64>>) -> f64 {
        let mut total = 0.0;
        for x_t in self.states() {
            let rows = scores(x_t);
            for i in 0..9 {
                let x0 = [i / 3, i % 3];
                let weight = self.p0[i] * self.forward(x0, x_t, sigma_bar);
                if weight > 0.0 {
                    let loss: f64 = (0..L)
                        .map(|l| self.graph.score_entropy(&rows[l], x_t[l], x0[l], sigma_bar))
                        .sum();
                    total += weight * loss;
                }
            }
        }
        total
    }
}

#[test]
fn loss_vanishes_at_the_conditional_ratios() {
    for graph in [Graph::absorbing(3), Graph::uniform(3)] {
        let toy = Toy::new(graph);
        for sigma_bar in [0.05, 0.7, 3.0] {
            for i in 0..9 {
                let x0 = [i / 3, i % 3];
                for x_t in toy.states() {
                    if toy.forward(x0, x_t, sigma_bar) == 0.0 {
                        continue;
                    }
                    for l in 0..L {
                        // The ratio p(y | x0) / p(x_t | x0) at this position.
                        let row: Vec<f64> = (0..graph.width())
                            .map(|y| {
                                let p = graph.transition(x0[l], sigma_bar);
                                (p[y] / p[x_t[l]]).ln().max(-60.0)
                            })
                            .collect();
                        let loss = graph.score_entropy(&row, x_t[l], x0[l], sigma_bar);
                        assert!(
                            loss.abs() < 1e-5,
                            "{graph:?} sigma_bar={sigma_bar} {x0:?}->{x_t:?}: {loss}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn expected_loss_is_minimal_with_zero_gradient_at_the_exact_score() {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    for graph in [Graph::absorbing(3), Graph::uniform(3)] {
        let toy = Toy::new(graph);
        for sigma_bar in [0.05, 0.7, 3.0] {
            let exact = |x_t: [usize; L]| toy.exact_score(x_t, sigma_bar);
            let best = toy.expected_loss(sigma_bar, &exact);
            // Central differences over every free score entry of every state.
            let h = 1e-5;
            for x_t in toy.states() {
                if toy.marginal(x_t, sigma_bar) == 0.0 {
                    continue;
                }
                for l in 0..L {
                    for y in 0..graph.width() {
                        if y == x_t[l] || exact(x_t)[l][y] <= -60.0 {
                            continue;
                        }
                        let toy = &toy;
                        let shifted = |delta: f64| {
                            move |state: [usize; L]| {
                                let mut rows = toy.exact_score(state, sigma_bar);
                                if state == x_t {
                                    rows[l][y] += delta;
                                }
                                rows
                            }
                        };
                        let plus = toy.expected_loss(sigma_bar, &shifted(h));
                        let minus = toy.expected_loss(sigma_bar, &shifted(-h));
                        let gradient = (plus - minus) / (2.0 * h);
                        assert!(
                            gradient.abs() < 1e-6,
                            "{graph:?} sigma_bar={sigma_bar} {x_t:?} l={l} y={y}: {gradient}"
                        );
                    }
                }
            }
            // Any perturbation of the scores raises the expected loss.
            for _ in 0..20 {
                let noise: Vec<f64> = (0..200).map(|_| rng.random_range(-0.3..0.3)).collect();
                let perturbed = |state: [usize; L]| {
                    let mut rows = toy.exact_score(state, sigma_bar);
                    for (l, row) in rows.iter_mut().enumerate() {
                        for (y, s) in row.iter_mut().enumerate() {
                            if y != state[l] {
                                *s += noise[(state[0] * 9 + state[1] * 3 + l * 4 + y) % 200];
                            }
                        }
                    }
                    rows
                };
                assert!(
                    toy.expected_loss(sigma_bar, &perturbed) > best,
                    "{graph:?} sigma_bar={sigma_bar}"
                );
            }
        }
    }
}

/// The exact log score of an i.i.d. source `p` at one position.
fn iid_score(graph: &Graph, p: &[f64], x_t: usize, sigma_bar: f64) -> Vec<f64> {
    let n = p.len();
    let keep = (-sigma_bar).exp();
    let marginal = |y: usize| match graph.mask() {
        Some(mask) if y == mask => -(-sigma_bar).exp_m1(),
        Some(_) => keep * p[y],
        None => -(-sigma_bar).exp_m1() / n as f64 + keep * p[y],
    };
    (0..graph.width())
        .map(|y| (marginal(y) / marginal(x_t)).ln())
        .collect()
}

#[test]
fn elbo_of_an_iid_source_matches_its_entropy() {
    let p: [f64; 4] = [0.5, 0.25, 0.15, 0.1];
    let entropy: f64 = -p.iter().map(|q| q * q.ln()).sum::<f64>();
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for (graph, schedule) in [
        (Graph::absorbing(4), NoiseSchedule::log_linear()),
        (Graph::uniform(4), NoiseSchedule::geometric()),
    ] {
        let length = 16;
        let sequences = 2000;
        let mut per_token = Vec::with_capacity(sequences);
        for _ in 0..sequences {
            let x0: Vec<usize> = (0..length)
                .map(|_| sample_categorical(&p, &mut rng).unwrap())
                .collect();
            let bound = elbo_bound(
                &x0,
                &graph,
                &schedule,
                16,
                1e-3,
                &mut rng,
                |x_t: &[usize], sigma_bar| {
                    x_t.iter()
                        .map(|&x| iid_score(&graph, &p, x, sigma_bar))
                        .collect()
                },
            );
            per_token.push(bound.nats / length as f64);
        }
        let mean = per_token.iter().sum::<f64>() / sequences as f64;
        let sd = (per_token.iter().map(|v| (v - mean).powi(2)).sum::<f64>()
            / (sequences - 1) as f64)
            .sqrt();
        let std_error = sd / (sequences as f64).sqrt();
        // Bias allowance: the reference leaves out t < 1e-3 and the absorb prior term (1e-3).
        let allowed = 4.0 * std_error + 2e-3 * entropy;
        assert!(
            (mean - entropy).abs() < allowed,
            "{graph:?}: ELBO {mean} vs entropy {entropy} (allowed {allowed})"
        );
        println!("{graph:?}: ELBO {mean:.4} +- {std_error:.4} nats/token, entropy {entropy:.4}");
    }
}

#[test]
fn analytic_step_is_the_exact_posterior_for_a_single_position() {
    // With the exact score of an i.i.d. source the analytic step from sigma_bar to
    // sigma_bar - delta reproduces p(x_s | x_t) computed by Bayes' rule.
    let p = [0.4, 0.3, 0.2, 0.1];
    for graph in [Graph::absorbing(4), Graph::uniform(4)] {
        for (sigma_bar, delta) in [(3.0, 0.5), (0.7, 0.3), (0.2, 0.15)] {
            let s = sigma_bar - delta;
            let marginal = |x: usize, sb: f64| -> f64 {
                (0..4).map(|x0| p[x0] * graph.transition(x0, sb)[x]).sum()
            };
            for x_t in 0..graph.width() {
                let weights =
                    graph.analytic_weights(&iid_score(&graph, &p, x_t, sigma_bar), x_t, delta);
                let total: f64 = weights.iter().sum();
                for x_s in 0..graph.width() {
                    // p(x_t | x_s) over the remaining noise delta, times p_s(x_s), over p_t(x_t).
                    let posterior = graph.transition(x_s, delta)[x_t] * marginal(x_s, s)
                        / marginal(x_t, sigma_bar);
                    let got = weights[x_s] / total;
                    assert!(
                        (got - posterior).abs() < 1e-10,
                        "{graph:?} x_t={x_t} x_s={x_s}: {got} vs {posterior}"
                    );
                }
            }
        }
    }
}

#[test]
fn categorical_draws_follow_the_weights() {
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let weights = [0.1, 0.0, 0.6, -0.2, 0.3];
    let draws = 200_000;
    let mut counts = [0usize; 5];
    for _ in 0..draws {
        counts[sample_categorical(&weights, &mut rng).unwrap()] += 1;
    }
    assert_eq!(
        (counts[1], counts[3]),
        (0, 0),
        "zero and negative weights are never drawn"
    );
    for (i, expected) in [(0, 0.1), (2, 0.6), (4, 0.3)] {
        let freq = counts[i] as f64 / draws as f64;
        let sd = (expected * (1.0 - expected) / draws as f64).sqrt();
        assert!(
            (freq - expected).abs() < 5.0 * sd,
            "{i}: {freq} vs {expected}"
        );
    }
    assert_eq!(sample_categorical(&[0.0, -1.0], &mut rng), None);
    let _: &mut dyn Rng = &mut rng;
}
