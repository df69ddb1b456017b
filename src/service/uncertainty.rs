//! Uncertainty evaluation as a service: who may run it, and off the async threads.

use super::{Actor, Error, Result};
use crate::domain::uncertainty::{self, Evaluation, Problem};

/// Evaluates a problem for a logged-in user. Monte Carlo runs on every core, so the
/// work leaves the request threads, and visitors may not start it.
pub async fn evaluate(actor: &Actor, problem: Problem) -> Result<Evaluation> {
    actor.require_login()?;
    off_thread(problem, 0).await?.map_err(|e| Error::invalid(vec![e]))
}

/// Runs the engine on a blocking thread (with `histogram_bins` for the budget page), and
/// gives its answer, or the engine's own error for the caller to name.
pub(crate) async fn off_thread(
    problem: Problem,
    histogram_bins: usize,
) -> Result<std::result::Result<Evaluation, crate::domain::Error>> {
    tokio::task::spawn_blocking(move || uncertainty::evaluate_with(&problem, histogram_bins))
        .await
        .map_err(|e| Error::Internal(e.to_string()))
}
