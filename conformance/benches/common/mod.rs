//! What the criterion benches share.

use std::time::Duration;

use criterion::Criterion;

/// Criterion with a 1 s warm-up, `measurement` per bench and no HTML plots:
/// criterion's plot backend panics on a machine without fonts
/// (FontUnavailable), and the figures are the printed ones.
pub fn config(measurement: Duration) -> Criterion {
    Criterion::default()
        .without_plots()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(measurement)
}
