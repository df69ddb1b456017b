//! Uncertainty evaluation as a service: who may run it, within which limits, how many at
//! once, and off the async threads.

use super::{Actor, Error, Result};
use crate::domain::uncertainty::{self, Evaluation, Limits, Problem, Stop};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub use crate::config::EvaluationConfig;

/// The server's evaluator: managed state, shared by every request of the process.
pub struct Evaluator {
    config: EvaluationConfig,
    places: Arc<tokio::sync::Semaphore>,
    waiting: AtomicUsize,
}

impl Evaluator {
    pub fn new(config: EvaluationConfig) -> Evaluator {
        Evaluator {
            places: Arc::new(tokio::sync::Semaphore::new(config.concurrent.max(1))),
            waiting: AtomicUsize::new(0),
            config,
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.config.limits
    }

    fn deadline(&self) -> Duration {
        Duration::from_secs(self.config.deadline_secs.max(1))
    }

    /// Evaluates a problem for a logged-in user.
    pub async fn evaluate(&self, actor: &Actor, problem: Problem) -> Result<Evaluation> {
        actor.require_login()?;
        self.run(problem, 0).await?.map_err(|e| Error::invalid(vec![e]))
    }

    /// Runs the engine on a blocking thread (with `histogram_bins` for the budget page)
    /// and gives its answer, or the engine's own error for the caller to name. Monte
    /// Carlo takes one of the process's places first, or waits in the queue; a full
    /// queue, or no place within the deadline, is `Busy`. An evaluation still running at
    /// the deadline is told to stop, and the request is answered at once.
    pub(crate) async fn run(
        &self,
        problem: Problem,
        histogram_bins: usize,
    ) -> Result<std::result::Result<Evaluation, crate::domain::Error>> {
        let started = tokio::time::Instant::now();
        let place = match problem.monte_carlo {
            None => None,
            Some(_) => Some(self.take_place().await?),
        };
        let stop = Arc::new(Stop::new(false));
        let limits = self.config.limits;
        let stop_for_engine = stop.clone();
        let work = tokio::task::spawn_blocking(move || {
            // The place is given back when the engine has really finished.
            let _place = place;
            uncertainty::evaluate_limited(&problem, histogram_bins, &limits, &stop_for_engine)
        });
        let left = self.deadline().saturating_sub(started.elapsed());
        match tokio::time::timeout(left, work).await {
            Ok(done) => done.map_err(|e| Error::Internal(format!("the evaluation failed: {e}"))),
            Err(_) => {
                stop.store(true, Ordering::Relaxed);
                Ok(Err(crate::domain::Error::new(
                    "monte_carlo",
                    "uncertainty.stopped",
                    format!(
                        "the evaluation took longer than {} s and was stopped; use fewer trials or a smaller model",
                        self.config.deadline_secs
                    ),
                )))
            }
        }
    }

    async fn take_place(&self) -> Result<tokio::sync::OwnedSemaphorePermit> {
        if let Ok(place) = self.places.clone().try_acquire_owned() {
            return Ok(place);
        }
        let busy = || Error::Busy {
            retry_after_secs: self.config.deadline_secs.clamp(1, 60),
        };
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.config.queue {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(busy());
        }
        let place = tokio::time::timeout(self.deadline(), self.places.clone().acquire_owned()).await;
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        match place {
            Ok(Ok(place)) => Ok(place),
            _ => Err(busy()),
        }
    }
}

impl Default for Evaluator {
    fn default() -> Self {
        Evaluator::new(EvaluationConfig::default())
    }
}
