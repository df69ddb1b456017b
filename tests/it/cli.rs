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
