//! Evaluating an uncertainty problem from a file (docs/uncertainty.md).

use super::Cli;
use crate::domain::uncertainty;
use clap::Subcommand;

#[derive(Subcommand)]
pub enum UncertaintyCommand {
    /// Evaluate a problem (docs/uncertainty.md) and print the result as JSON.
    Evaluate {
        /// The problem as JSON, or - for standard input.
        file: String,
        /// Lift the limits a server applies to one evaluation (model size, trials, work,
        /// memory): at the command line the operator's own machine is at stake.
        #[arg(long)]
        no_limits: bool,
        /// Raise (or lower) the work one evaluation may do: trials × (operations + inputs).
        #[arg(long, value_name = "UNITS")]
        max_work: Option<u64>,
        /// Raise (or lower) the memory one evaluation may take, in MiB.
        #[arg(long, value_name = "MIB")]
        max_memory_mib: Option<u64>,
    },
}

pub async fn run(_cli: &Cli, command: &UncertaintyCommand) -> Result<(), String> {
    match command {
        UncertaintyCommand::Evaluate {
            file,
            no_limits,
            max_work,
            max_memory_mib,
        } => {
            let text = if file == "-" {
                let mut s = String::new();
                std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
                    .map_err(|e| format!("cannot read standard input: {e}"))?;
                s
            } else {
                std::fs::read_to_string(file).map_err(|e| format!("cannot read {file}: {e}"))?
            };
            let field = |e: crate::domain::Error| format!("{}: {}", e.field, e.message);
            let problem = uncertainty::problem::parse_problem(&text).map_err(field)?;
            let mut limits = if *no_limits {
                uncertainty::Limits::none()
            } else {
                uncertainty::Limits::default()
            };
            if let Some(w) = max_work {
                limits.max_work = *w;
            }
            if let Some(m) = max_memory_mib {
                limits.max_memory_bytes = m.saturating_mul(1 << 20);
            }
            let stop = uncertainty::Stop::new(false);
            let result = uncertainty::evaluate_limited(&problem, 0, &limits, &stop).map_err(field)?;
            println!("{}", serde_json::to_string_pretty(&result).map_err(|e| e.to_string())?);
        }
    }
    Ok(())
}
