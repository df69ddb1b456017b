//! Uncertainty evaluation as a service: who may run it, and off the async threads.

use super::{Actor, Error, Result};
use crate::domain::uncertainty::{self, Evaluation, Problem};

/// Evaluates a problem for a logged-in user. Monte Carlo runs on every core, so the
/// work leaves the request threads, and visitors may not start it.
pub async fn evaluate(actor: &Actor, problem: Problem) -> Result<Evaluation> {
    actor.require_login()?;
    tokio::task::spawn_blocking(move || uncertainty::evaluate(&problem))
        .await
        .map_err(|e| Error::Internal(e.to_string()))?
        .map_err(|e| Error::invalid(vec![e]))
}
