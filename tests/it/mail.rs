//! Notifications e-mailed over SMTP: each once, to its user, with a link into the app;
//! a mail server that refuses keeps them for the next run.

use crate::support::TestApp;
use metrocal::service::mail::{deliver, Mailer};
use metrocal::service::{schedule, Actor};
use rocket::tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use rocket::tokio::net::TcpListener;
use std::sync::{Arc, Mutex};

/// A minimal SMTP server for the test: accepts (or, with `refuse`, rejects at RCPT)
/// every message and keeps (recipients, data).
/// The messages a sink received: (recipients, data).
type Received = Arc<Mutex<Vec<(Vec<String>, String)>>>;

async fn smtp_sink(refuse: bool) -> (u16, Received) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let got: Received = Arc::default();
    let kept = got.clone();
    rocket::tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let kept = kept.clone();
            rocket::tokio::spawn(async move {
                let (r, mut w) = socket.into_split();
                let mut lines = BufReader::new(r).lines();
                w.write_all(b"220 sink ESMTP\r\n").await.unwrap();
                let (mut rcpt, mut data, mut in_data) = (Vec::new(), String::new(), false);
                while let Ok(Some(line)) = lines.next_line().await {
                    if in_data {
                        if line == "." {
                            in_data = false;
                            kept.lock()
                                .unwrap()
                                .push((std::mem::take(&mut rcpt), std::mem::take(&mut data)));
                            w.write_all(b"250 queued\r\n").await.unwrap();
                        } else {
                            data.push_str(&line);
                            data.push('\n');
                        }
                        continue;
                    }
                    let upper = line.to_ascii_uppercase();
                    let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                        b"250 sink\r\n"
                    } else if upper.starts_with("RCPT") {
                        if refuse {
                            b"550 no such mailbox\r\n"
                        } else {
                            rcpt.push(line[8..].to_owned());
                            b"250 ok\r\n"
                        }
                    } else if upper.starts_with("DATA") {
                        in_data = true;
                        b"354 go ahead\r\n"
                    } else if upper.starts_with("QUIT") {
                        w.write_all(b"221 bye\r\n").await.unwrap();
                        break;
                    } else {
                        b"250 ok\r\n"
                    };
                    w.write_all(reply).await.unwrap();
                }
            });
        }
    });
    (port, got)
}

#[rocket::async_test]
async fn notifications_are_emailed_once() {
    let app = TestApp::demo().await;
    let scheduler = app.user("scheduler").await;
    let operator = Actor::system("test");
    schedule::run_daily(&operator, &app.db, "2026-11-28".parse().unwrap(), chrono::Utc::now())
        .await
        .unwrap();
    let pending = app.count("notifications").await as usize;
    assert!(pending > 0);

    // A server that refuses: nothing is marked sent.
    let (port, got) = smtp_sink(true).await;
    let refusing = Mailer::new(
        &format!("smtp://127.0.0.1:{port}"),
        "metrocal <noreply@metrocal.example>",
        "https://metrocal.example",
    )
    .unwrap();
    let s = deliver(&app.db, &refusing, chrono::Utc::now()).await.unwrap();
    assert_eq!((s.sent, s.failed), (0, pending));
    assert!(got.lock().unwrap().is_empty());

    let (port, got) = smtp_sink(false).await;
    let mailer = Mailer::new(
        &format!("smtp://127.0.0.1:{port}"),
        "metrocal <noreply@metrocal.example>",
        "https://metrocal.example",
    )
    .unwrap();
    let s = deliver(&app.db, &mailer, chrono::Utc::now()).await.unwrap();
    assert_eq!((s.sent, s.failed), (pending, 0));
    let mails = got.lock().unwrap().clone();
    assert_eq!(mails.len(), pending);
    // The scheduler's digest reached the scheduler, with an absolute link into the app.
    let mine: Vec<_> = mails
        .iter()
        .filter(|(to, _)| to.iter().any(|t| t.contains(&scheduler.email)))
        .collect();
    assert!(!mine.is_empty(), "{mails:?}");
    assert!(
        mine[0].1.contains("https://metrocal.example/schedule?side="),
        "{}",
        mine[0].1
    );
    // A second delivery sends nothing.
    let s = deliver(&app.db, &mailer, chrono::Utc::now()).await.unwrap();
    assert_eq!((s.sent, s.failed), (0, 0));
    assert_eq!(got.lock().unwrap().len(), pending);
}
