//! Baselines every model must beat.

mod markov;
mod site_independent;

pub use self::markov::{
    best_markov_chain, best_order, markov_fits, markov_scan, MarkovChain, MarkovFit,
};
pub use self::site_independent::SiteIndependentModel;
