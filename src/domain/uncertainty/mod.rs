//! Measurement uncertainty: the GUM framework (JJF 1059.1 / JCGM 100) and Monte Carlo
//! (JJF 1059.2 / JCGM 101) for measurement models written as text, with typed units.
//!
//! Pure: no database, no web, no clock. [`evaluate`] takes a [`Problem`] (the JSON of
//! `metrocal uncertainty evaluate` and `POST /api/v1/uncertainty/evaluate`) and gives
//! the results or the first error with the field it concerns.

pub mod model;
pub mod units;
