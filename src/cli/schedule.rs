//! The daily schedule run and the automatic planner.

use super::{config, field_errors, open, today, Cli, Format};
use crate::service::{schedule, Actor};
use chrono::NaiveDate;
use clap::Subcommand;
use std::time::Instant;

#[derive(Subcommand)]
pub enum ScheduleCommand {
    /// The daily job: recompute every due date and status, and record the notifications
    /// (a second run on the same day sends nothing twice).
    Run {
        /// The day to run for (YYYY-MM-DD); default today in China Standard Time.
        #[arg(long)]
        date: Option<NaiveDate>,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// The automatic planner: proposes a laboratory and a week for every item falling
    /// due in the next N weeks, within each laboratory's capacity and holidays, and lists
    /// what cannot be met and why. It proposes only; laboratories accept their share in
    /// the app (/schedule/plan).
    Plan {
        /// How many weeks to plan, from the week holding the start date.
        #[arg(long)]
        weeks: u32,
        /// The first day (YYYY-MM-DD); default today in China Standard Time.
        #[arg(long)]
        date: Option<NaiveDate>,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
}

pub async fn run(cli: &Cli, command: &ScheduleCommand) -> Result<(), String> {
    let operator = Actor::system("cli");
    match command {
        ScheduleCommand::Run { date, format } => {
            let db = open(cli).await?;
            let today = date.map_or_else(|| today(cli), Ok)?;
            let started = Instant::now();
            let s = schedule::run_daily(&operator, &db, today, chrono::Utc::now())
                .await
                .map_err(field_errors)?;
            let mailed = match crate::service::mail::Mailer::from_config(&config(cli)?)? {
                Some(m) => Some(
                    crate::service::mail::deliver(&db, &m, chrono::Utc::now())
                        .await
                        .map_err(|e| e.to_string())?,
                ),
                None => None,
            };
            if let Some(m) = mailed {
                eprintln!(
                    "e-mailed {} notifications ({} failed, kept for the next run)",
                    m.sent, m.failed
                );
            }
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&s).map_err(|e| e.to_string())?),
                Format::Text => println!(
                    "schedule run for {}: {} items ({} changed, {} removed): {} in date, {} due soon, {} overdue, \
                     {} out of service; {} renewal reminders, {} overdue checks; {} notifications{} in {:.2} s",
                    s.date,
                    s.items,
                    s.changed,
                    s.removed,
                    s.in_date,
                    s.due_soon,
                    s.overdue,
                    s.out_of_service,
                    s.reminders.renewal,
                    s.reminders.checks_overdue,
                    s.notifications,
                    if s.repeated {
                        " (run again today: none sent twice)"
                    } else {
                        ""
                    },
                    started.elapsed().as_secs_f64()
                ),
            }
        }
        ScheduleCommand::Plan { weeks, date, format } => {
            let db = open(cli).await?;
            let start = date.map_or_else(|| today(cli), Ok)?;
            let started = Instant::now();
            let plan = crate::service::planner::plan(&operator, &db, &Default::default(), start, *weeks)
                .await
                .map_err(field_errors)?;
            match format {
                Format::Json => println!("{}", serde_json::to_string(&*plan).map_err(|e| e.to_string())?),
                Format::Text => print!("{}", plan_text(&plan, started.elapsed().as_secs_f64())),
            }
        }
    }
    Ok(())
}

/// The planner's proposal for a terminal: the totals, the load week by week, the busiest
/// laboratories, and every item whose due date cannot be met.
fn plan_text(p: &crate::service::planner::Plan, seconds: f64) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "plan {} to {} ({} weeks): {} items; {} on time, {} late, {} cannot be placed ({:.2} s)",
        p.start,
        p.end,
        p.weeks.len(),
        p.items,
        p.on_time,
        p.late,
        p.unplaced,
        seconds
    );
    let r = &p.reasons;
    let _ = writeln!(
        out,
        "not met: {} already overdue, {} capacity full before the due date, {} no working day left before the due date, \
         {} no laboratory accredited, {} no capacity in the plan",
        r.already_overdue,
        r.capacity_before_due,
        r.no_day_before_due,
        r.no_laboratory,
        r.no_capacity
    );
    let _ = writeln!(out, "\nweek of      planned  capacity");
    for (w, monday) in p.weeks.iter().enumerate() {
        let (planned, capacity) = p.labs.iter().fold((0u64, 0u64), |(a, b), l| {
            (a + l.weeks[w].planned as u64, b + l.weeks[w].capacity as u64)
        });
        let _ = writeln!(out, "{monday}  {planned:>8}  {capacity:>8}");
    }
    let _ = writeln!(out, "\nbusiest laboratories (planned, of capacity):");
    for l in p.labs.iter().take(10) {
        let cap: u32 = l.weeks.iter().map(|w| w.capacity).sum();
        let _ = writeln!(out, "  {:>6} of {:>6}  {} (id {})", l.planned, cap, l.lab, l.lab_id);
    }
    let _ = writeln!(out, "\ncannot be met ({}):", p.unmet.len());
    for i in &p.unmet {
        let _ = writeln!(
            out,
            "  {:<20} due {:<10} {}/{} {} -> {}",
            i.reason.unwrap_or(""),
            i.due_on.map(|d| d.to_string()).unwrap_or_else(|| "never".into()),
            i.item_kind,
            i.item_id,
            i.label,
            match (&i.lab, i.planned_on) {
                (Some(l), Some(d)) => format!("{l} on {d}"),
                _ => "not placed".into(),
            }
        );
    }
    out
}
