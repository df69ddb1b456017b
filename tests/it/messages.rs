//! The error-code catalogue (`domain::error_codes`) against the sources and both message
//! files: every code the sources raise is in the catalogue, and every code in the
//! catalogue reads in Chinese and in English.

use crate::support::rust_sources as sources;
use metrocal::domain::error_codes::{is_known, CODES};
use std::path::Path;

fn messages(lang: &str) -> serde_json::Map<String, serde_json::Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("src/web/i18n/{lang}.json"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn every_code_has_its_message_in_both_languages() {
    let (zh, en) = (messages("zh-CN"), messages("en"));
    let mut missing = Vec::new();
    for code in CODES {
        let key = format!("err_{code}");
        // Chinese is always written out; an empty English entry shows the rule's own English.
        match zh.get(&key).and_then(|v| v.as_str()) {
            Some(text) if text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)) => {}
            _ => missing.push(format!("{key} in zh-CN.json")),
        }
        if en.get(&key).and_then(|v| v.as_str()).is_none() {
            missing.push(format!("{key} in en.json"));
        }
    }
    assert!(missing.is_empty(), "messages missing: {missing:#?}");
}

#[test]
fn every_code_the_sources_raise_is_in_the_catalogue() {
    // A code is a dotted lower-case literal given as a call's second argument (after the
    // field: `Error::field("kind", "record.kind_invalid", …)`) or as a `code:` field.
    let arg = r#"(?:[^,()"]|"(?:[^"\\]|\\.)*"|\((?:[^()]|\([^()]*\))*\))*"#;
    let call = regex::Regex::new(&format!(r#"\b[\w:]+!?\(\s*{arg},\s*"([a-z_]+(?:\.[a-z_0-9]+)+)"\s*,"#)).unwrap();
    let field = regex::Regex::new(r#"\bcode:\s*"([a-z_]+(?:\.[a-z_0-9]+)+)""#).unwrap();
    let mut files = Vec::new();
    sources(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut files);
    let mut unknown = Vec::new();
    let mut found = 0;
    for (path, text) in &files {
        for c in call.captures_iter(text).chain(field.captures_iter(text)) {
            let code = &c[1];
            if code.ends_with(".html") {
                continue; // a template's name
            }
            found += 1;
            if !is_known(code) {
                unknown.push(format!("{code} ({path})"));
            }
        }
    }
    // The scan itself must see the codes, or it proves nothing.
    assert!(found >= CODES.len(), "the scan found only {found} codes");
    assert!(
        unknown.is_empty(),
        "codes not in domain::error_codes::CODES: {unknown:#?}"
    );
}
