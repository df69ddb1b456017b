//! E-mail of the users' notifications over SMTP, when the operator has configured it
//! (`METROCAL_SMTP_URL`, e.g. `smtp://mail.example.org:587?tls=required` or
//! `smtps://user:password@mail.example.org`; `METROCAL_MAIL_FROM`; `METROCAL_PUBLIC_URL`
//! for the links). The notifications in the app are the record; e-mail is a copy.
//!
//! Each notification is claimed before it is sent (its `emailed_at` set where it was
//! empty), so several instances sharing a database never send one twice; a failed send
//! releases the claim for the next run.

use super::Result;
use crate::store::schedule as q;
use chrono::{DateTime, Utc};
use lettre::message::{header::ContentType, Mailbox};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sea_orm::DatabaseConnection;
use serde::Serialize;

/// Notifications older than this are not e-mailed (a mail server configured late does
/// not flood the users with old news).
const FRESH_DAYS: i64 = 3;

pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    public_url: String,
}

impl Mailer {
    pub fn new(url: &str, from: &str, public_url: &str) -> std::result::Result<Mailer, String> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| format!("METROCAL_SMTP_URL: {e}"))?
            .build();
        let from: Mailbox = from.parse().map_err(|e| format!("METROCAL_MAIL_FROM: {e}"))?;
        Ok(Mailer {
            transport,
            from,
            public_url: public_url.trim_end_matches('/').to_owned(),
        })
    }

    /// The mailer the configuration names (`smtp_url`, `mail_from`: METROCAL_SMTP_URL and
    /// METROCAL_MAIL_FROM), if any; its links point to the configured public address.
    pub fn from_config(config: &crate::config::AppConfig) -> std::result::Result<Option<Mailer>, String> {
        let Some(url) = config.smtp_url.as_deref().filter(|u| !u.trim().is_empty()) else {
            return Ok(None);
        };
        let from = config.mail_from.as_deref().unwrap_or("metrocal <metrocal@localhost>");
        Mailer::new(url, from, &config.public_url).map(Some)
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct MailSummary {
    pub sent: usize,
    pub failed: usize,
}

/// Sends every fresh notification not yet e-mailed to its user's address.
pub async fn deliver(db: &DatabaseConnection, mailer: &Mailer, now: DateTime<Utc>) -> Result<MailSummary> {
    let pending = q::unemailed(db, now - chrono::Duration::days(FRESH_DAYS)).await?;
    let mut summary = MailSummary::default();
    for (n, email, name) in pending {
        if q::claim_email(db, n.id, now).await? == 0 {
            continue; // another instance has it
        }
        let to = match format!("{name} <{email}>")
            .parse::<Mailbox>()
            .or_else(|_| email.parse())
        {
            Ok(to) => to,
            Err(e) => {
                tracing::warn!(notification = n.id, error = %e, "notification not e-mailed: bad address");
                summary.failed += 1;
                continue;
            }
        };
        let link = if n.link.starts_with('/') && !mailer.public_url.is_empty() {
            format!("{}{}", mailer.public_url, n.link)
        } else {
            n.link.clone()
        };
        let message = Message::builder()
            .from(mailer.from.clone())
            .to(to)
            .subject(format!("[metrocal] {}", n.title))
            .header(ContentType::TEXT_PLAIN)
            .body(format!("{}\n\n{}\n", n.body, link));
        let sent = match message {
            Ok(m) => mailer.transport.send(m).await.map(|_| ()).map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        match sent {
            Ok(()) => summary.sent += 1,
            Err(e) => {
                tracing::warn!(notification = n.id, error = %e, "notification not e-mailed; kept for the next run");
                q::release_email(db, n.id).await?;
                summary.failed += 1;
            }
        }
    }
    Ok(summary)
}
