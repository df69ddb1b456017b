//! A certificate snapshot as PDF, laid out by Typst (used as a library) from the template
//! `templates/certificates/certificate.typ`, with the CJK font shipped in
//! `calibration-data/fonts/` embedded (subset) so that it prints the same everywhere, and
//! a QR code of the public verification page. Deterministic: the same snapshot and
//! address give the same bytes.

use crate::domain::certificates::{CertificateKind, Snapshot};
use crate::domain::conformity::{Decision, DecisionRule};
use std::sync::OnceLock;
use typst::foundations::{Dict, IntoValue};
use typst_as_lib::{TypstEngine, TypstTemplateMainFile};
use typst_layout::PagedDocument;

/// Noto Sans CJK SC (SIL Open Font License 1.1), subset to GB 2312, Latin and symbols;
/// see calibration-data/fonts/README.md for how the file was made.
static FONT: &[u8] = include_bytes!("../../calibration-data/fonts/NotoSansSC-Regular-GB2312.otf");
static TEMPLATE: &str = include_str!("../../templates/certificates/certificate.typ");

fn engine() -> &'static TypstEngine<TypstTemplateMainFile> {
    static ENGINE: OnceLock<TypstEngine<TypstTemplateMainFile>> = OnceLock::new();
    ENGINE.get_or_init(|| TypstEngine::builder().main_file(TEMPLATE).fonts([FONT]).build())
}

/// Why a certificate could not be laid out; each keeps the engine's own account.
#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error("the verification QR code: {0}")]
    Qr(#[from] qrcode::types::QrError),
    #[error("the certificate template failed: {0}")]
    Template(String),
    #[error("writing the PDF failed: {0}")]
    Pdf(String),
}

/// The verification QR code as SVG.
fn qr_svg(url: &str) -> Result<String, PdfError> {
    let code = qrcode::QrCode::new(url.as_bytes())?;
    Ok(code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(160, 160)
        .quiet_zone(true)
        .build())
}

/// The PDF of `s`, whose QR code opens `verify_url`.
pub fn render(s: &Snapshot, verify_url: &str) -> Result<Vec<u8>, PdfError> {
    let doc = layout(s, verify_url)?;
    typst_pdf::pdf(&doc, &Default::default()).map_err(|e| PdfError::Pdf(format!("{e:?}")))
}

/// The certificate laid out in pages, as the PDF prints it.
fn layout(s: &Snapshot, verify_url: &str) -> Result<PagedDocument, PdfError> {
    let kind = s.kind().unwrap_or(CertificateKind::Calibration);
    let rule = s.rule().unwrap_or(DecisionRule::Simple);
    let decision = s.decision.as_deref().and_then(Decision::parse);
    let data = serde_json::json!({
        "snapshot": s,
        "titles": {"zh": kind.name_zh(), "en": capitalise(kind.name_en())},
        "rule": {"zh": rule.name_zh(), "en": rule.name_en()},
        "decision": decision.map(|d| serde_json::json!({"zh": d.name_zh(), "en": d.name_en()})),
        "verify_url": verify_url,
    });
    let mut inputs = Dict::new();
    inputs.insert("data".into(), data.to_string().into_value());
    inputs.insert("qr".into(), qr_svg(verify_url)?.into_value());
    engine()
        .compile_with_input(inputs)
        .output
        .map_err(|e| PdfError::Template(format!("{e:?}")))
}

/// The certificate's printed text, page by page and line by line in reading order: what
/// a reader sees, without the layout (for reviewing a change to the template).
pub fn text(s: &Snapshot, verify_url: &str) -> Result<String, PdfError> {
    let doc = layout(s, verify_url)?;
    let mut out = String::new();
    for (n, page) in doc.pages().iter().enumerate() {
        let mut runs = Vec::new();
        collect_text(&page.frame, typst::layout::Point::zero(), &mut runs);
        // Lines top to bottom (to the tenth of a point), runs left to right in a line.
        runs.sort_by(|a, b| (a.0, a.1).partial_cmp(&(b.0, b.1)).unwrap_or(std::cmp::Ordering::Equal));
        out.push_str(&format!("--- page {}\n", n + 1));
        let mut line: Option<f64> = None;
        for (y, _, t) in runs {
            match line {
                Some(l) if (y - l).abs() < 0.5 => out.push(' '),
                Some(_) => out.push('\n'),
                None => {}
            }
            line = Some(y);
            out.push_str(&t);
        }
        out.push('\n');
    }
    Ok(out)
}

fn collect_text(frame: &typst::layout::Frame, at: typst::layout::Point, runs: &mut Vec<(f64, f64, String)>) {
    use typst::layout::FrameItem;
    for (pos, item) in frame.items() {
        let p = at + *pos;
        match item {
            FrameItem::Group(g) => collect_text(&g.frame, p, runs),
            FrameItem::Text(t) => runs.push(((p.y.to_pt() * 10.0).round() / 10.0, p.x.to_pt(), t.text.to_string())),
            _ => {}
        }
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The text of a PDF, by poppler's pdftotext (CI installs poppler-utils).
    pub(crate) fn pdf_text(pdf: &[u8]) -> String {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.pdf");
        std::fs::write(&path, pdf).unwrap();
        let out = std::process::Command::new("pdftotext")
            .args(["-layout"])
            .arg(&path)
            .arg("-")
            .output()
            .expect("pdftotext (poppler-utils) is installed");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }

    #[test]
    fn the_pdf_carries_every_item_of_iso_17025_7_8() {
        let s = Snapshot::example();
        let pdf = render(&s, "https://metrocal.example/verify/0123456789abcdef0123456789abcdef").unwrap();
        assert!(pdf.starts_with(b"%PDF-"));
        let text = pdf_text(&pdf);
        for needle in [
            // a) title, b) laboratory, d) number on every page with page x of y, e) customer,
            // f) method, g) item, h/i) dates, environment, results with units and U, k, p,
            // traceability, adjustment, conformity with its rule, signatures, end marker.
            "校准证书",
            "Calibration certificate",
            "广东省计量测试研究院",
            "GDJL-2026-000001",
            "Page 1 of 1",
            "广州示例仪器有限公司",
            "JJG 146-2011",
            "GB-100-0042",
            "2026-11-20",
            "2026-11-24",
            "2026-11-26",
            "20.1 °C",
            "0.00012 mm",
            "0.00005 mm (k = 2, p =",
            "广州市天河区",
            "NIM-2026-0815",
            "0.00002 mm",
            "简单接受",
            "张三",
            "李四",
            "王五",
            "以下空白",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
        }
        // The same snapshot, the same bytes.
        assert_eq!(
            render(&s, "https://metrocal.example/verify/0123456789abcdef0123456789abcdef").unwrap(),
            pdf
        );
    }

    #[test]
    fn a_long_certificate_numbers_every_page() {
        let mut s = Snapshot::example();
        let p = s.points[0].clone();
        s.points = (0..120).map(|_| p.clone()).collect();
        let text = pdf_text(&render(&s, "https://metrocal.example/verify/x").unwrap());
        // 120 rows run to six pages: each carries the number and "page x of 6", and the
        // header; the end marker comes once, on the last.
        for page in 1..=6 {
            assert!(
                text.contains(&format!("GDJL-2026-000001 · 第 {page} 页 共 6 页 / Page {page} of 6")),
                "{text}"
            );
        }
        assert_eq!(text.matches("证书编号 No. GDJL-2026-000001").count(), 6);
        assert_eq!(text.matches("以下空白").count(), 1);
    }
}
