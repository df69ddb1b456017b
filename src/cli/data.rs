//! Data sets in the import format: generating one at province scale, importing one (all
//! or nothing), exporting the register.

use super::{config, Cli};
use crate::service::generate::{generate as write_data_set, Spec};
use crate::service::transfer::{self, Bundle, Progress};
use crate::service::Actor;
use chrono::NaiveDate;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::path::Path;
use std::time::Instant;

pub fn generate(standards: usize, seed: u64, out: &Path, as_of: NaiveDate) -> Result<(), String> {
    let started = Instant::now();
    let spec = Spec { standards, seed, as_of };
    let (orgs, stds, devices) =
        write_data_set(&spec, out, &Bar::new()).map_err(|e| format!("{}: {e}", out.display()))?;
    println!(
        "wrote {orgs} organisations, {stds} standards and {devices} devices to {} in {:.2} s",
        out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

pub async fn import(cli: &Cli, dir: &Path) -> Result<(), String> {
    let mut config = config(cli)?;
    config.demo_data = false;
    let db = crate::setup_database(&config).await?;
    let started = Instant::now();
    let bundle = Bundle::from_dir(dir).map_err(|e| e.to_string())?;
    let summary = transfer::import(&Actor::system("cli"), &db, &bundle, chrono::Utc::now(), &Bar::new())
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "imported {} organisations, {} standards, {} devices, {} instruments and {} calibrations in {:.2} s",
        summary.organisations,
        summary.standards,
        summary.devices,
        summary.instruments,
        summary.calibrations,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

pub async fn export(cli: &Cli, out: &Path) -> Result<(), String> {
    let mut config = config(cli)?;
    config.demo_data = false;
    let db = crate::setup_database(&config).await?;
    let summary = transfer::export(&Actor::system("cli"), &db, out, &Bar::new())
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "exported {} organisations, {} standards and {} devices to {}",
        summary.organisations,
        summary.standards,
        summary.devices,
        out.display()
    );
    Ok(())
}

/// Progress bars on a terminal; nothing when output goes to a file or a pipe.
struct Bar {
    bar: ProgressBar,
}

impl Bar {
    fn new() -> Bar {
        let bar = ProgressBar::with_draw_target(
            Some(0),
            if std::io::stderr().is_terminal() {
                ProgressDrawTarget::stderr()
            } else {
                ProgressDrawTarget::hidden()
            },
        );
        bar.set_style(
            ProgressStyle::with_template("{msg:>14} [{bar:40}] {pos}/{len} ({eta})")
                .expect("valid template")
                .progress_chars("=> "),
        );
        Bar { bar }
    }
}

impl Progress for Bar {
    fn stage(&self, label: &str, total: u64) {
        self.bar.set_message(label.to_owned());
        self.bar.set_length(total);
        self.bar.set_position(0);
    }
    fn advance(&self, n: u64) {
        self.bar.inc(n);
    }
    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
