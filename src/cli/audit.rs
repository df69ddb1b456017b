//! The audit trail: its head, and a walk of the whole hash chain.

use super::{open, Cli};
use crate::domain::audit::Head;
use crate::service::audit;
use clap::Subcommand;

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Walk the hash chain and report the first broken link.
    Verify {
        /// A head printed earlier by `metrocal audit head` (SEQ:SHA256) and kept outside
        /// the database: proves that no events were cut off the end.
        #[arg(long)]
        head: Option<String>,
    },
    /// Print the newest event's sequence number and hash, to keep outside the database.
    Head,
}

pub async fn run(cli: &Cli, command: &AuditCommand) -> Result<(), String> {
    match command {
        AuditCommand::Head => {
            let db = open(cli).await?;
            let head = audit::head(&db).await.map_err(|e| e.to_string())?;
            println!("{head}");
        }
        AuditCommand::Verify { head } => {
            let head: Option<Head> = match head {
                Some(h) => Some(h.parse().map_err(|e| format!("--head: {e}"))?),
                None => None,
            };
            let db = open(cli).await?;
            match audit::verify(&db, head.as_ref()).await.map_err(|e| e.to_string())? {
                Ok(v) => {
                    println!("audit trail intact: {} events, head {}", v.checked, v.head);
                    if let Some(stored) = v.stored_head_mismatch {
                        return Err(format!(
                            "the chain ends at {} but the database records the head as {stored}",
                            v.head
                        ));
                    }
                }
                Err(broken) => return Err(format!("audit trail broken: {broken}")),
            }
        }
    }
    Ok(())
}
