//! Baselines every model must beat.

mod markov;

pub use self::markov::{
    best_markov_chain, best_order, markov_fits, markov_scan, MarkovChain, MarkovFit,
};
