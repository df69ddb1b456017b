//! A certificate snapshot as PDF, laid out by Typst (used as a library) from the template
//! `templates/certificates/certificate.typ`, with the CJK font shipped in
//! `calibration-data/fonts/` embedded (subset) so that it prints the same everywhere, and
//! a QR code of the public verification page. Deterministic: the same snapshot and
//! address give the same bytes.

use crate::domain::certificates::{CertificateKind, Snapshot};
use crate::domain::conformity::Decision;
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
    let decision = s.decision.as_deref().and_then(Decision::parse);
    let verification = matches!(
        kind,
        CertificateKind::Verification | CertificateKind::VerificationNotice
    );
    let data = serde_json::json!({
        "snapshot": s,
        "titles": {"zh": kind.name_zh(), "en": capitalise(kind.name_en())},
        "rule": s.rule_statement(),
        "decision": decision.map(|d| serde_json::json!({"zh": d.name_zh(), "en": d.name_en()})),
        "verify_url": verify_url,
        // A verification (检定) is dated 检定日期 and names its regulation (检定规程).
        "verification": verification,
        "spoken_number": crate::domain::certificates::spoken_number(&s.number),
        "place": s.place(),
        "statements": crate::domain::certificates::STATEMENTS
            .iter()
            .map(|(zh, en)| serde_json::json!({"zh": zh, "en": en}))
            .collect::<Vec<_>>(),
        // Every number as domain::numbers states it (the one formatter).
        "points": s.points.iter().map(|p| p.texts()).collect::<Vec<_>>(),
        "signed_at": s.signatures.iter().map(|g| crate::domain::certificates::beijing(g.signed_at)).collect::<Vec<_>>(),
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
            // U = 0.00005 mm to two significant digits and the error to its place
            // (JJF 1059.1-2012 §5.3.8): 0.000050 mm and 0.000120 mm.
            "0.000120 mm",
            "0.000050 mm",
            "(k = 2, p = 95 %)",
            "广州市天河区",
            "NIM-2026-0815",
            "0.000020 mm",
            "简单接受",
            "张三",
            "李四",
            "王五",
            "以下空白",
            // §7.8.2.1 c) and o), §7.8.2.2: where, what the results relate to, reproduction.
            "地点 Place",
            "本实验室：广州市天河区",
            "接收时状态 Condition on receipt",
            "外观完好，工作正常",
            "本证书的结果仅对所检定/校准的器具有效",
            "The results relate only to the item calibrated.",
            "不得部分复制本证书",
            "shall not be reproduced except in full",
            // Signature times in Beijing time: 08:00 UTC is 16:00 in Beijing.
            "2026-11-25 16:00 (UTC+8)",
            // The number in groups to read over the telephone, and a calibration's labels.
            "GDJL – 2026 – 000 001",
            "校准日期 Date of calibration",
            "校准依据 Method",
            "合格 pass",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
        }
        assert!(
            !text.contains("UTC\n") && !text.contains(" UTC "),
            "no time in UTC: {text}"
        );
        // The same snapshot, the same bytes.
        assert_eq!(
            render(&s, "https://metrocal.example/verify/0123456789abcdef0123456789abcdef").unwrap(),
            pdf
        );
    }

    #[test]
    fn a_verification_certificate_names_its_regulation_mpe_and_verdict() {
        // JJF 1069 / JJG 146-2011: a verification certificate (检定证书) is dated 检定日期,
        // names the regulation and the MPE verified against, and says 合格; the guarded
        // rule is stated with the guard band the record applied (ILAC-G8:09/2019 §4.2.2).
        let mut s = Snapshot::example();
        s.kind = "verification".into();
        s.valid_until = Some("2027-11-23".parse().unwrap());
        s.decision_rule = Some("guarded".into());
        s.guard_multiple = Some(1.5);
        let text = pdf_text(&render(&s, "https://metrocal.example/verify/x").unwrap());
        for needle in [
            "检定证书",
            "检定规程 Regulation",
            "检定日期 Date of verification",
            "有效期至 Valid until",
            "2027-11-23",
            "±0.0006 mm",
            "检定结论 Conclusion of verification",
            "合格 pass",
            "w = 1.5·U",
            "0.000075 mm",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
        }
        assert!(!text.contains("(w = U)"), "{text}");
    }

    #[test]
    fn a_long_certificate_numbers_every_page() {
        let mut s = Snapshot::example();
        let p = s.points[0].clone();
        s.points = (0..120).map(|_| p.clone()).collect();
        let text = pdf_text(&render(&s, "https://metrocal.example/verify/x").unwrap());
        // 120 rows run to five pages (in the 8-point results table): each carries the number and "page x of 5", and the
        // header; the end marker comes once, on the last.
        for page in 1..=5 {
            assert!(
                text.contains(&format!("GDJL-2026-000001 · 第 {page} 页 共 5 页 / Page {page} of 5")),
                "{text}"
            );
        }
        assert_eq!(text.matches("证书编号 No. GDJL-2026-000001").count(), 5);
        assert_eq!(text.matches("以下空白").count(), 1);
    }
}
