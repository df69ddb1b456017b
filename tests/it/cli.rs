//! The command line, as an operator runs it: generate → migrate → import → export,
//! exit codes, and no progress-bar noise when the output is not a terminal.

use std::path::Path;
use std::process::{Command, Output};

fn metrocal(args: &[&str], db: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_metrocal"))
        .args(args)
        .env("DATABASE_URL", db)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run metrocal")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn sqlite_url(dir: &Path) -> String {
    format!("sqlite://{}?mode=rwc", dir.join("cli.db").display())
}

#[test]
fn generate_migrate_import_export_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_url(dir.path());
    let data = dir.path().join("data");
    let out = metrocal(
        &[
            "generate",
            "--standards",
            "40",
            "--seed",
            "9",
            "--out",
            data.to_str().unwrap(),
        ],
        &db,
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("40 standards"), "{}", text(&out));
    // Output is not a terminal here: no progress bar escape sequences.
    assert!(!text(&out).contains('\u{1b}'), "{:?}", text(&out));

    let out = metrocal(&["migrate"], &db);
    assert!(out.status.success(), "{}", text(&out));

    let out = metrocal(&["import", data.to_str().unwrap()], &db);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("40 standards"), "{}", text(&out));

    let exported = dir.path().join("exported");
    let out = metrocal(&["export", "--out", exported.to_str().unwrap()], &db);
    assert!(out.status.success(), "{}", text(&out));
    let lines = std::fs::read_to_string(exported.join("standards.csv"))
        .unwrap()
        .lines()
        .count();
    assert_eq!(lines, 41, "header + 40 standards");
}

#[test]
fn a_failed_import_exits_non_zero_and_says_where() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_url(dir.path());
    let data = dir.path().join("data");
    assert!(
        metrocal(&["generate", "--standards", "10", "--out", data.to_str().unwrap()], &db)
            .status
            .success()
    );
    let path = data.join("organisations.csv");
    let csv = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, csv.replacen("institute", "ministry", 1)).unwrap();
    let out = metrocal(&["import", data.to_str().unwrap()], &db);
    assert!(!out.status.success());
    let t = text(&out);
    assert!(t.contains("organisations.csv, line 2, column kind"), "{t}");
    assert!(t.contains("nothing was imported"), "{t}");
    let out = metrocal(&["import", dir.path().join("missing").to_str().unwrap()], &db);
    assert!(!out.status.success());
    assert!(text(&out).contains("is not a directory"), "{}", text(&out));
}

/// Runs metrocal with `stdin` on its standard input.
fn metrocal_with_input(args: &[&str], db: &str, stdin: &str) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_metrocal"))
        .args(args)
        .env("DATABASE_URL", db)
        .env("RUST_LOG", "warn")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run metrocal");
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn users_tokens_and_the_audit_chain_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_url(dir.path());
    let data = dir.path().join("data");
    assert!(
        metrocal(&["generate", "--standards", "10", "--out", data.to_str().unwrap()], &db)
            .status
            .success()
    );
    assert!(metrocal(&["import", data.to_str().unwrap()], &db).status.success());
    let org = csv::Reader::from_path(data.join("organisations.csv"))
        .unwrap()
        .records()
        .map(|r| r.unwrap())
        .find(|r| &r[1] == "institute")
        .unwrap()[0]
        .to_owned();

    // A password shorter than 12 characters is refused, naming the flag.
    let out = metrocal_with_input(
        &[
            "user",
            "add",
            "--email",
            "li@gdmi.example",
            "--name",
            "李工",
            "--org",
            &org,
            "--role",
            "scheduler",
            "--password-stdin",
        ],
        &db,
        "short\n",
    );
    assert!(!out.status.success());
    assert!(
        text(&out).contains("--password: a password has at least 12 characters"),
        "{}",
        text(&out)
    );
    let out = metrocal_with_input(
        &[
            "user",
            "add",
            "--email",
            "li@gdmi.example",
            "--name",
            "李工",
            "--org",
            &org,
            "--role",
            "scheduler",
            "--role",
            "technician",
            "--password-stdin",
        ],
        &db,
        "a long enough passphrase\n",
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("scheduler,technician"), "{}", text(&out));
    // The same e-mail twice is a conflict, not a second account.
    let out = metrocal_with_input(
        &[
            "user",
            "add",
            "--email",
            "LI@gdmi.example",
            "--name",
            "李工",
            "--org",
            &org,
            "--role",
            "scheduler",
            "--password-stdin",
        ],
        &db,
        "a long enough passphrase\n",
    );
    assert!(!out.status.success());

    // A token is printed once, on standard output alone.
    let out = metrocal(
        &["token", "create", "--email", "li@gdmi.example", "--name", "LIMS"],
        &db,
    );
    assert!(out.status.success(), "{}", text(&out));
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(token.starts_with("mtc_") && token.len() == 68, "{token}");

    let out = metrocal(&["audit", "head"], &db);
    assert!(out.status.success(), "{}", text(&out));
    let head = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let (seq, hash) = head.split_once(':').unwrap();
    assert_eq!(seq, "3", "import, user, token: {head}");
    assert_eq!(hash.len(), 64);

    let out = metrocal(&["user", "disable", "li@gdmi.example"], &db);
    assert!(out.status.success(), "{}", text(&out));
    let out = metrocal(&["audit", "verify", "--head", &head], &db);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("audit trail intact: 4 events"), "{}", text(&out));

    // Someone with the database file edits an event: verify fails and names it.
    rocket::execute(async {
        use sea_orm::ConnectionTrait;
        let conn = metrocal::store::connect(&db).await.unwrap();
        conn.execute_unprepared("DROP TRIGGER audit_events_no_update")
            .await
            .unwrap();
        conn.execute_unprepared("UPDATE audit_events SET actor = 'nobody' WHERE seq = 2")
            .await
            .unwrap();
    });
    let out = metrocal(&["audit", "verify"], &db);
    assert!(!out.status.success());
    assert!(text(&out).contains("event 2 was altered"), "{}", text(&out));
}

/// `metrocal backup` copies the live database; `metrocal restore` brings it back into a
/// fresh one with every count, every certificate's hashes and the audit head unchanged,
/// refuses to overwrite data without --replace, and refuses a damaged backup without
/// touching the target.
#[rocket::async_test]
async fn backup_and_restore_keep_counts_certificates_and_the_audit_head() {
    use metrocal::service::backup::fingerprint;
    let app = crate::support::TestApp::demo().await;
    let before = fingerprint(&app.db).await.unwrap();
    assert!(
        before.counts.iter().any(|(t, n)| t == "certificates" && *n == 4),
        "{before:?}"
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("metrocal.backup");
    let run = |url: &str, args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_metrocal"))
            .args(args)
            .env("DATABASE_URL", url)
            .env("METROCAL_DATA_DIR", dir.path())
            .env("RUST_LOG", "warn")
            .output()
            .unwrap()
    };
    let o = run(&app.url, &["backup", "--out", file.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains(&before.audit_head));
    let o = run(&app.url, &["backup", "--out", file.to_str().unwrap()]);
    assert!(!o.status.success(), "a backup never overwrites a file");

    // A fresh database: a SQLite file, or on PostgreSQL a new database holding the
    // test's schema.
    let name = format!("restore_{}", std::process::id());
    let target = crate::support::new_database(&app, dir.path(), &name).await;
    let o = run(&target, &["restore", file.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let restored = metrocal::store::connect(&target).await.unwrap();
    assert_eq!(fingerprint(&restored).await.unwrap(), before);
    let o = run(&target, &["audit", "verify"]);
    assert!(
        o.status.success(),
        "the restored chain verifies: {}",
        String::from_utf8_lossy(&o.stdout)
    );
    restored.close().await.ok();

    // Not over data without --replace; with it, the same again.
    let o = run(&target, &["restore", file.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--replace"));
    // A damaged backup is refused, and the target keeps what it held.
    let damaged = dir.path().join("damaged.backup");
    let mut bytes = std::fs::read(&file).unwrap();
    bytes.truncate(bytes.len() / 2);
    bytes[200..400].fill(0x5a);
    std::fs::write(&damaged, bytes).unwrap();
    let o = run(&target, &["restore", damaged.to_str().unwrap(), "--replace"]);
    assert!(!o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    let restored = metrocal::store::connect(&target).await.unwrap();
    assert_eq!(fingerprint(&restored).await.unwrap(), before);
    restored.close().await.ok();
    let o = run(&target, &["restore", file.to_str().unwrap(), "--replace"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    crate::support::drop_new_database(&name).await;
}

/// On PostgreSQL every instance must share its secrets, so `metrocal serve` refuses to
/// start with ones it would make up alone, naming each that is missing (issue 22).
#[test]
fn serve_on_postgresql_names_the_secrets_it_lacks() {
    let dir = tempfile::tempdir().unwrap();
    let run = |extra: &[(&str, &str)]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_metrocal"));
        cmd.arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            // Nothing listens on port 1: the refusal comes before any connection.
            .env("DATABASE_URL", "postgres://postgres@127.0.0.1:1/metrocal")
            .env("METROCAL_DATA_DIR", dir.path())
            .env("METROCAL_PUBLIC_URL", "https://metrocal.test")
            .env("RUST_LOG", "error");
        for (k, v) in extra {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    };
    let out = run(&[]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("ROCKET_SECRET_KEY") && err.contains("METROCAL_KEY_ENCRYPTION_KEY"),
        "{err}"
    );
    assert!(
        !dir.path().join("secret.key").exists(),
        "no secret made up on this machine"
    );
    let out = run(&[("ROCKET_SECRET_KEY", &"ab".repeat(32))]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !err.contains("ROCKET_SECRET_KEY") && err.contains("METROCAL_KEY_ENCRYPTION_KEY"),
        "{err}"
    );
}
