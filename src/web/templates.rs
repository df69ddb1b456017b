//! minijinja templates as Rocket managed state.
//!
//! Debug builds read templates/ from disk on every render, so an edit shows on reload;
//! release builds carry the templates inside the binary (minijinja-embed), so the
//! binary runs from any directory.

use minijinja::{Environment, Value};
use std::sync::Arc;

pub struct Templates {
    #[cfg_attr(debug_assertions, allow(dead_code))]
    env: Arc<Environment<'static>>,
    catalogues: [(Lang, Value); 2],
}

/// The interface language: zh-CN by default, English on request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Lang {
    #[serde(rename = "zh-CN")]
    Zh,
    #[serde(rename = "en")]
    En,
}

impl Lang {
    pub fn from_code(code: &str) -> Option<Lang> {
        match code {
            "zh" | "zh-CN" => Some(Lang::Zh),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }
}

const ZH: &str = include_str!("i18n/zh-CN.json");
const EN: &str = include_str!("i18n/en.json");

/// 46000 → "46,000": counts are read at a glance.
fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

/// A UTC timestamp as the province reads it: Asia/Shanghai (UTC+8 all year).
fn shanghai(utc: String) -> String {
    match chrono::DateTime::parse_from_rfc3339(&utc) {
        Ok(t) => {
            let cst = chrono::FixedOffset::east_opt(8 * 3600).expect("valid offset");
            t.with_timezone(&cst).format("%Y-%m-%d %H:%M").to_string()
        }
        Err(_) => utc,
    }
}

/// A measured number to `digits` significant digits (default 4), for tables that are
/// read, not reported: plain decimals from 10⁻⁶ to 10⁹, e-notation beyond. The rounded
/// statement a certificate carries is the engine's `report`, not this.
fn sig(v: f64, digits: Option<i32>) -> String {
    let digits = digits.unwrap_or(4).clamp(1, 17);
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let e = v.abs().log10().floor() as i32;
    if (-6..9).contains(&e) {
        let decimals = (digits - 1 - e).max(0) as usize;
        format!("{v:.decimals$}")
    } else {
        format!("{v:.prec$e}", prec = (digits - 1) as usize)
    }
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".html") {
            minijinja::AutoEscape::Html
        } else {
            minijinja::AutoEscape::None
        }
    });
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Chainable);
    env.add_filter("thousands", thousands);
    env.add_filter("shanghai", shanghai);
    env.add_filter("sig", sig);
    #[cfg(debug_assertions)]
    env.set_loader(minijinja::path_loader(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/templates"
    )));
    #[cfg(not(debug_assertions))]
    minijinja_embed::load_templates!(&mut env);
    env
}

impl Templates {
    pub fn new() -> Templates {
        let parse = |s: &str| -> Value {
            let v: serde_json::Value =
                serde_json::from_str(s).expect("i18n catalogue is valid JSON (checked by tests)");
            Value::from(minijinja::value::Serde(v))
        };
        Templates {
            env: Arc::new(environment()),
            catalogues: [(Lang::Zh, parse(ZH)), (Lang::En, parse(EN))],
        }
    }

    pub fn catalogue(&self, lang: Lang) -> Value {
        self.catalogues
            .iter()
            .find(|(l, _)| *l == lang)
            .map(|(_, v)| v.clone())
            .expect("both catalogues loaded")
    }

    /// Renders `name` with `ctx` plus the page chrome: the language, its catalogue `t`,
    /// the request path, the logged-in user `me` and the form token `csrf`.
    pub fn render(&self, name: &str, chrome: &super::Chrome, ctx: Value) -> Result<String, minijinja::Error> {
        let full = minijinja::context! {
            lang => chrome.lang.code(),
            t => self.catalogue(chrome.lang),
            path => &chrome.path,
            me => minijinja::value::Serde(&chrome.me),
            csrf => &chrome.csrf,
            session_expired => chrome.session_expired,
            ..ctx
        };
        #[cfg(debug_assertions)]
        {
            // Re-read from disk so that template edits show without a rebuild.
            let env = environment();
            env.get_template(name)?.render(full)
        }
        #[cfg(not(debug_assertions))]
        {
            self.env.get_template(name)?.render(full)
        }
    }
}

impl Default for Templates {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod sig_tests {
    use super::sig;

    #[test]
    fn significant_digits() {
        assert_eq!(sig(31.6623, None), "31.66");
        assert_eq!(sig(0.000067912, Some(2)), "0.000068");
        assert_eq!(sig(50.000838, Some(8)), "50.000838");
        assert_eq!(sig(-0.5, Some(2)), "-0.50");
        assert_eq!(sig(1.5e-7, Some(2)), "1.5e-7");
        assert_eq!(sig(0.0, None), "0");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_shown_in_shanghai_time() {
        assert_eq!(shanghai("2026-11-28T17:30:15.4Z".into()), "2026-11-29 01:30");
        assert_eq!(shanghai("not a time".into()), "not a time");
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(46000), "46,000");
        assert_eq!(thousands(-1234567), "-1,234,567");
    }

    #[test]
    fn catalogues_have_the_same_keys() {
        let zh: serde_json::Map<String, serde_json::Value> = serde_json::from_str(ZH).unwrap();
        let en: serde_json::Map<String, serde_json::Value> = serde_json::from_str(EN).unwrap();
        let missing_en: Vec<_> = zh.keys().filter(|k| !en.contains_key(*k)).collect();
        let missing_zh: Vec<_> = en.keys().filter(|k| !zh.contains_key(*k)).collect();
        assert!(missing_en.is_empty(), "missing in en: {missing_en:?}");
        assert!(missing_zh.is_empty(), "missing in zh-CN: {missing_zh:?}");
    }
}
