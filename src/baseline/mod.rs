//! Baselines every model must beat.

mod markov;

pub use self::markov::MarkovChain;
