//! A deterministic, realistic province-scale data set in the import format.
//!
//! The same seed gives byte-identical files on every machine (ChaCha8 is specified
//! independently of platform and rand version). Organisations get valid unified social
//! credit codes, standards get provincial temporary JJF 1022 codes under the catch-all
//! 90, real verification regulations, and certificate dates spread so that some have
//! expired and some are due for renewal, as in a real register.

use super::reference::{cities, templates, RegionRow, TemplateRow};
use super::transfer::{
    Progress, CALIBRATIONS, CALIBRATION_COLUMNS, DEVICES, DEVICE_COLUMNS, INSTRUMENTS, INSTRUMENT_COLUMNS,
    ORGANISATIONS, ORGANISATION_COLUMNS, STANDARDS, STANDARD_COLUMNS,
};
use crate::domain::codes::uscc_check_char;
use chrono::{Duration, Months, NaiveDate};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::Path;

/// How many standards and of what.
#[derive(Debug, Clone)]
pub struct Spec {
    pub standards: usize,
    pub seed: u64,
    /// The day the data set describes; certificate dates are spread around it.
    pub as_of: NaiveDate,
}

/// Relative economic weight of each city (GB/T 2260 code): how many standards it keeps.
fn city_weight(code: &str) -> u32 {
    match code {
        "440300" => 22, // Shenzhen
        "440100" => 20, // Guangzhou
        "441900" => 12, // Dongguan
        "440600" => 11, // Foshan
        "441300" | "442000" | "440700" | "440400" => 5,
        "440500" | "440800" | "440900" | "441200" => 4,
        _ => 2,
    }
}

const USCC_CHARS: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

/// GB 11714-1997 organisation code check character (weights 3,7,9,10,5,8,4,2, mod 11).
fn org_code_check(body: &[u8; 8]) -> u8 {
    const W: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body
        .iter()
        .zip(W)
        .map(|(b, w)| {
            let v = if b.is_ascii_digit() {
                (b - b'0') as u32
            } else {
                (b - b'A') as u32 + 10
            };
            v * w
        })
        .sum();
    match 11 - sum % 11 {
        10 => b'X',
        11 => b'0',
        c => b'0' + c as u8,
    }
}

/// A unified social credit code: registration authority and type, the division code,
/// a GB 11714 organisation code with its check character, and the GB 32100 check.
fn uscc(rng: &mut ChaCha8Rng, authority_and_type: &str, division: &str) -> String {
    loop {
        let mut body = [0u8; 8];
        for b in &mut body {
            *b = USCC_CHARS[rng.random_range(0..USCC_CHARS.len())];
        }
        let check = org_code_check(&body);
        if check == b'X' {
            // 'X' is not in the USCC alphabet's place 17; draw again as registries do.
            continue;
        }
        let mut first17 = String::with_capacity(17);
        first17.push_str(authority_and_type);
        first17.push_str(division);
        first17.push_str(std::str::from_utf8(&body).expect("ASCII"));
        first17.push(check as char);
        let c = uscc_check_char(&first17).expect("alphabet");
        return format!("{first17}{c}");
    }
}

fn pick<'a, T>(rng: &mut ChaCha8Rng, items: &'a [T], weight: impl Fn(&T) -> u32) -> &'a T {
    let total: u32 = items.iter().map(&weight).sum();
    let mut x = rng.random_range(0..total);
    for it in items {
        let w = weight(it);
        if x < w {
            return it;
        }
        x -= w;
    }
    items.last().expect("non-empty")
}

struct Org {
    code: String,
    kind: &'static str,
    name_zh: String,
    name_en: String,
    city: String,
}

const INDUSTRIES: &[(&str, &str)] = &[
    ("电子信息", "Electronics"),
    ("汽车", "Automotive"),
    ("家电", "Home appliances"),
    ("石化", "Petrochemicals"),
    ("医疗器械", "Medical devices"),
    ("新能源", "New energy"),
    ("精密制造", "Precision manufacturing"),
    ("食品", "Food"),
];
const FIRMS: &[&str] = &[
    "华", "粤", "南", "珠", "海", "信", "达", "宏", "源", "瑞", "恒", "通", "安", "泰", "康",
];
const SURNAMES: &[&str] = &[
    "陈", "李", "黄", "张", "梁", "林", "刘", "吴", "罗", "何", "郑", "杨", "谢", "冯",
];
const GIVEN: &[&str] = &[
    "志明", "丽华", "伟强", "晓燕", "国栋", "嘉欣", "建华", "敏", "俊杰", "慧玲", "文", "海峰",
];
const MAKERS: &[(&str, &str)] = &[
    ("Fluke", "57"),
    ("Keysight", "34"),
    ("Mitutoyo", "MX"),
    ("Mettler Toledo", "XP"),
    ("Fluke Calibration", "P3"),
    ("成都天大", "TD"),
    ("上海精密", "JM"),
    ("北京康斯特", "ConST"),
    ("西安福莱特", "FL"),
];

fn organisations(rng: &mut ChaCha8Rng, cities: &[RegionRow], n_standards: usize) -> Vec<Org> {
    let mut orgs = vec![Org {
        code: uscc(rng, "12", "440000"),
        kind: "institute",
        name_zh: "广东省计量测试研究院（示例）".into(),
        name_en: "Guangdong Institute of Metrology (sample)".into(),
        city: "440100".into(),
    }];
    for c in cities {
        let city = c.name_zh.trim_end_matches('市');
        orgs.push(Org {
            code: uscc(rng, "12", &c.code),
            kind: "institute",
            name_zh: format!("{city}市计量检定测试院"),
            name_en: format!("{} Institute of Metrology", c.name_en),
            city: c.code.clone(),
        });
        for (i, (ind_zh, ind_en)) in INDUSTRIES.iter().enumerate() {
            if city_weight(&c.code) as usize > i * 3 {
                orgs.push(Org {
                    code: uscc(rng, "12", &c.code),
                    kind: "measurement_centre",
                    name_zh: format!("{city}{ind_zh}产业计量测试中心"),
                    name_en: format!("{} {} Industrial Measurement Centre", c.name_en, ind_en),
                    city: c.code.clone(),
                });
            }
        }
    }
    // Enterprises keep their own highest standards: about one for every 12 standards.
    let n_enterprises = (n_standards / 12).max(3);
    for i in 0..n_enterprises {
        let c = pick(rng, cities, |c| city_weight(&c.code));
        let (ind_zh, ind_en) = INDUSTRIES[rng.random_range(0..INDUSTRIES.len())];
        let a = FIRMS[rng.random_range(0..FIRMS.len())];
        let b = FIRMS[rng.random_range(0..FIRMS.len())];
        orgs.push(Org {
            code: uscc(rng, "91", &c.code),
            kind: "enterprise",
            name_zh: format!(
                "{}{a}{b}{ind_zh}有限公司（{:04}）",
                c.name_zh.trim_end_matches('市'),
                i + 1
            ),
            name_en: format!("{} {ind_en} Co., Ltd. No. {}", c.name_en, i + 1),
            city: c.code.clone(),
        });
    }
    orgs
}

/// Writes organisations.csv, standards.csv and devices.csv for `spec` into `dir`.
pub fn generate(spec: &Spec, dir: &Path, progress: &dyn Progress) -> std::io::Result<(usize, usize, usize)> {
    std::fs::create_dir_all(dir)?;
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let cities = cities();
    let templates: Vec<TemplateRow> = templates();
    let orgs = organisations(&mut rng, &cities, spec.standards);
    let io = |e: csv::Error| std::io::Error::other(e.to_string());

    let providers = providers();
    let mut w = csv::Writer::from_path(dir.join(ORGANISATIONS)).map_err(io)?;
    w.write_record(ORGANISATION_COLUMNS).map_err(io)?;
    for o in orgs.iter().chain(&providers) {
        w.write_record([&o.code, o.kind, &o.name_zh, &o.name_en, &o.city])
            .map_err(io)?;
    }
    w.flush()?;

    let institutes: Vec<&Org> = orgs.iter().filter(|o| o.kind == "institute").collect();
    let centres: Vec<&Org> = orgs.iter().filter(|o| o.kind == "measurement_centre").collect();
    let enterprises: Vec<&Org> = orgs.iter().filter(|o| o.kind == "enterprise").collect();

    let mut ws = csv::Writer::from_path(dir.join(STANDARDS)).map_err(io)?;
    ws.write_record(STANDARD_COLUMNS).map_err(io)?;
    let mut wd = csv::Writer::from_path(dir.join(DEVICES)).map_err(io)?;
    wd.write_record(DEVICE_COLUMNS).map_err(io)?;
    let mut n_devices = 0;
    let mut generated: Vec<GenStandard> = Vec::with_capacity(spec.standards);
    progress.stage("generating", spec.standards as u64);
    let epoch = spec.as_of - Duration::days(4 * 365 + 120);
    for i in 0..spec.standards {
        let t = pick(&mut rng, &templates, |t| t.weight);
        let roll = rng.random_range(0..100);
        let (owner, level, prefix) = match roll {
            0..=9 => (institutes[0], "provincial_public", "粤社量标"),
            10..=44 => (
                institutes[1 + rng.random_range(0..institutes.len() - 1)],
                if rng.random_range(0..4) == 0 {
                    "county_public"
                } else {
                    "city_public"
                },
                "粤社量标",
            ),
            45..=64 => (
                centres[rng.random_range(0..centres.len())],
                "department_highest",
                "粤部量标",
            ),
            _ => (
                enterprises[rng.random_range(0..enterprises.len())],
                "enterprise_highest",
                "粤企量标",
            ),
        };
        // Certificates run 4 years (JJF 1033-2023 §6.1); issue dates spread over the last
        // 4 years and 4 months, so about 8 % have lapsed without renewal.
        let issued = epoch + Duration::days(rng.random_range(0..(4 * 365 + 120)));
        let expires = issued.checked_add_months(Months::new(48)).expect("in range") - Duration::days(1);
        let status = match rng.random_range(0..100) {
            0..=2 => "suspended",
            3 => "withdrawn",
            _ => "in_service",
        };
        let cert_no = format!("[{}]{prefix}证字第{:06}号", issued.format("%Y"), i + 1);
        let person = format!(
            "{}{}",
            SURNAMES[rng.random_range(0..SURNAMES.len())],
            GIVEN[rng.random_range(0..GIVEN.len())]
        );
        let city_name = cities
            .iter()
            .find(|c| c.code == owner.city)
            .map(|c| c.name_zh.as_str())
            .unwrap_or("");
        let authority = if level == "provincial_public" || level == "department_highest" {
            "广东省市场监督管理局".to_owned()
        } else {
            format!("{city_name}市场监督管理局")
        };
        ws.write_record([
            t.name_zh.as_str(),
            &t.name_en,
            &t.code,
            &owner.code,
            level,
            &cert_no,
            &authority,
            &issued.to_string(),
            &expires.to_string(),
            status,
            &t.quantity,
            &t.range_min,
            &t.range_max,
            &t.accuracy_kind,
            &t.accuracy,
            &t.regulations,
            &person,
        ])
        .map_err(io)?;

        let (dev_zh, _dev_en) = t.standard_devices.split_once('|').unwrap_or((&t.standard_devices, ""));
        let mut devices: Vec<(&str, &str)> = vec![("standard_device", dev_zh)];
        if rng.random_range(0..3) == 0 {
            devices.push(("standard_device", dev_zh));
        }
        for aux in t.auxiliary.split('|').filter(|a| !a.is_empty()) {
            devices.push(("auxiliary", aux));
        }
        let mut standard_serials = Vec::new();
        for (j, (role, name)) in devices.iter().enumerate() {
            let (maker, model) = MAKERS[rng.random_range(0..MAKERS.len())];
            let cal_date = spec.as_of - Duration::days(rng.random_range(0..400));
            let cal_due = cal_date + Duration::days(365);
            let (q, lo, hi, acc) = if *role == "standard_device" {
                (
                    t.quantity.as_str(),
                    t.range_min.as_str(),
                    t.range_max.as_str(),
                    t.accuracy.as_str(),
                )
            } else {
                ("", "", "", "")
            };
            // Drawn in the order of earlier versions, which wrote the same files.
            let model_no = format!("{model}-{}", rng.random_range(100..999));
            let serial = format!(
                "{}{:07}-{}",
                &model[..1].to_ascii_uppercase(),
                rng.random_range(0..10_000_000),
                j + 1
            );
            if *role == "standard_device" {
                standard_serials.push(serial.clone());
            }
            wd.write_record([
                cert_no.as_str(),
                role,
                name,
                maker,
                &model_no,
                &serial,
                q,
                lo,
                hi,
                acc,
                &format!("JL{}-{:06}", cal_date.format("%Y"), rng.random_range(0..1_000_000)),
                &cal_date.to_string(),
                &cal_due.to_string(),
            ])
            .map_err(io)?;
            n_devices += 1;
        }
        generated.push(GenStandard {
            cert_no,
            template: templates
                .iter()
                .position(|x| x.code == t.code)
                .expect("picked from the list"),
            level,
            devices: standard_serials,
        });
        progress.advance(1);
    }
    ws.flush()?;
    wd.flush()?;
    // The chains come from their own random stream, so the register's files are the
    // same with or without them.
    let mut chain_rng = ChaCha8Rng::seed_from_u64(spec.seed ^ 0x7472_6163_6561_626c);
    let (n_instruments, n_calibrations) =
        traceability(spec, &mut chain_rng, &orgs, &providers, &templates, &generated, dir)?;
    progress.finish();
    tracing::debug!(n_instruments, n_calibrations, "traceability generated");
    Ok((orgs.len() + providers.len(), spec.standards, n_devices))
}

/// A generated standard, as its chains need it.
struct GenStandard {
    cert_no: String,
    template: usize,
    level: &'static str,
    /// Serial numbers of its standard devices (标准器).
    devices: Vec<String>,
}

/// The providers outside the province at the top of its chains: the national metrology
/// institute (which keeps the national primary standards, 国家计量基准) and accredited
/// calibration laboratories.
fn providers() -> Vec<Org> {
    let mut v = vec![Org {
        code: "NIM-CN".into(),
        kind: "external_nmi",
        name_zh: "中国计量科学研究院".into(),
        name_en: "National Institute of Metrology, China".into(),
        city: String::new(),
    }];
    for (i, (zh, en)) in [
        (
            "国家计量器具检测中心（示例实验室一）",
            "Accredited calibration laboratory 1 (sample)",
        ),
        (
            "国家计量器具检测中心（示例实验室二）",
            "Accredited calibration laboratory 2 (sample)",
        ),
        (
            "国家计量器具检测中心（示例实验室三）",
            "Accredited calibration laboratory 3 (sample)",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        v.push(Org {
            code: format!("CNAS-L{:04}", 101 + i * 37),
            kind: "accredited_lab",
            name_zh: zh.into(),
            name_en: en.into(),
            city: String::new(),
        });
    }
    v
}

/// The expanded uncertainty stated on a certificate at each place in the hierarchy, as
/// a multiple of the provincial level's (a standard can only be as good as its parent).
fn u_factor(level: &str) -> f64 {
    match level {
        "provincial_public" => 1.0,
        "city_public" | "department_highest" => 2.5,
        "county_public" => 4.0,
        "enterprise_highest" => 6.0,
        _ => 10.0, // enterprises' working instruments
    }
}

/// The value and unit of a range limit written as "100 mm".
fn split_value(text: &str) -> Option<(f64, &str)> {
    let (v, unit) = text.trim().split_once(' ')?;
    Some((v.parse().ok()?, unit.trim()))
}

/// An instrument's name from its standard's ("通用卡尺检定装置" → "通用卡尺").
fn instrument_name(standard: &str) -> String {
    let mut n = standard.to_owned();
    for suffix in ["检定装置", "校准装置", "标准装置", "装置"] {
        if let Some(stem) = n.strip_suffix(suffix) {
            n = stem.to_owned();
            break;
        }
    }
    n
}

/// What an item was calibrated against, in the file's terms.
#[derive(Clone)]
enum Against {
    /// A standard (by certificate number) or a device ("certificate#serial").
    Item(&'static str, String),
    /// An external provider's code and evidence.
    Provider(String, String),
}

/// Writes instruments.csv and calibrations.csv: three years of yearly calibrations of
/// every standard and its standard devices, each against a standard one level up (or,
/// at the provincial level, the NIM or an accredited laboratory), and two years of the
/// enterprises' instruments, calibrated by the institutes' and centres' standards.
/// Some chains are broken on purpose, in each of the ways the audit finds: a lapsed
/// certificate (about 4 %), a parent whose uncertainty is not smaller (1 %), inverted
/// levels (1 % of city and county standards), an external link without evidence (8 %).
fn traceability(
    spec: &Spec,
    rng: &mut ChaCha8Rng,
    orgs: &[Org],
    providers: &[Org],
    templates: &[TemplateRow],
    stds: &[GenStandard],
    dir: &Path,
) -> std::io::Result<(usize, usize)> {
    use crate::domain::conformity::{decide, DecisionRule};
    use crate::domain::units::{format_value, round_sig};
    // Certificates state U and MPE to two significant digits (ILAC-P14 §5.4), errors to three.
    let two = |v: f64, unit: &str| format_value(round_sig(v, 2), unit);
    let io = |e: csv::Error| std::io::Error::other(e.to_string());
    // Standards by template and level: where each finds its parent.
    let mut by: std::collections::HashMap<(usize, &str), Vec<usize>> = std::collections::HashMap::new();
    for (i, s) in stds.iter().enumerate() {
        by.entry((s.template, s.level)).or_default().push(i);
    }
    let base = |t: usize| -> (f64, String) {
        let (v, unit) = split_value(&templates[t].range_max).unwrap_or((1.0, ""));
        (v.abs().max(1e-9) * 2e-5, unit.to_owned())
    };
    let mut w = csv::Writer::from_path(dir.join(CALIBRATIONS)).map_err(io)?;
    w.write_record(CALIBRATION_COLUMNS).map_err(io)?;
    let mut seq = 0u64;
    let mut rows = 0usize;
    // The yearly calibrations of one item, the latest `last` days before the data set's date.
    let mut write = |w: &mut csv::Writer<std::fs::File>,
                     rng: &mut ChaCha8Rng,
                     item_kind: &str,
                     item: &str,
                     against: &Against,
                     quantity: &str,
                     (u, unit): (f64, &str),
                     years: i64,
                     last: i64,
                     instrument: Option<f64>|
     -> Result<(), csv::Error> {
        let latest = spec.as_of - Duration::days(last);
        for k in (0..years).rev() {
            seq += 1;
            let on = latest - Duration::days(360 * k + rng.random_range(0..5));
            let until = on + Duration::days(364);
            let (reference_kind, reference, provider, evidence) = match against {
                Against::Item(kind, key) => (*kind, key.as_str(), "", ""),
                Against::Provider(code, evidence) => ("", "", code.as_str(), evidence.as_str()),
            };
            let (mpe, error, rule, decision) = match instrument {
                Some(mpe) => {
                    // Errors mostly well inside the MPE, a few near or beyond it; decided on
                    // the figures as the certificate states them.
                    let mpe = round_sig(mpe, 2);
                    let e = round_sig(mpe * (rng.random::<f64>() + rng.random::<f64>() - 1.0) * 1.1, 3);
                    let rule = match rng.random_range(0..10) {
                        0..=4 => DecisionRule::Simple,
                        5..=6 => DecisionRule::Guarded,
                        _ => DecisionRule::NonBinary,
                    };
                    let d = decide(rule, e, mpe, round_sig(u, 2));
                    (two(mpe, unit), format_value(e, unit), rule.as_str(), d.as_str())
                }
                None => (String::new(), String::new(), "", ""),
            };
            w.write_record([
                item_kind,
                item,
                reference_kind,
                reference,
                provider,
                evidence,
                &format!("JZ{}-{seq:08}", on.format("%Y")),
                &on.to_string(),
                &until.to_string(),
                quantity,
                &two(u, unit),
                &mpe,
                &error,
                rule,
                decision,
            ])?;
            rows += 1;
        }
        Ok(())
    };
    let mut u_of: Vec<f64> = vec![0.0; stds.len()];
    // Parents before children: provincial, then city/department/county, then enterprise.
    let order = [
        "provincial_public",
        "department_highest",
        "city_public",
        "county_public",
        "enterprise_highest",
    ];
    // A city or county standard calibrated against an enterprise's (inverted levels) is
    // never anyone's parent: the enterprise's own chain may lead back to it, and the
    // anomaly is a wrong link, not a cycle (which the import rightly refuses).
    let mut inverted: Vec<bool> = vec![false; stds.len()];
    for level in order {
        for (i, s) in stds.iter().enumerate().filter(|(_, s)| s.level == level) {
            let t = &templates[s.template];
            let (b, unit) = base(s.template);
            let mut u = b * u_factor(level) * (0.9 + 0.2 * rng.random::<f64>());
            // Most of a kind's calibrations go to its first standard at that level (the
            // provincial institute's, which disseminates the unit); the rest spread.
            let pick_parent = |rng: &mut ChaCha8Rng, levels: &[&str]| -> Option<usize> {
                let pool: Vec<usize> = levels
                    .iter()
                    .flat_map(|l| by.get(&(s.template, *l)).into_iter().flatten().copied())
                    .filter(|&p| p != i && !inverted[p])
                    .collect();
                match pool.len() {
                    0 => None,
                    _ if rng.random_range(0..10) < 6 => Some(pool[0]),
                    n => Some(pool[rng.random_range(0..n)]),
                }
            };
            let roll = rng.random_range(0..1000);
            let parent = match level {
                "provincial_public" => None,
                "enterprise_highest" => pick_parent(rng, &["city_public", "county_public", "department_highest"])
                    .or_else(|| pick_parent(rng, &["provincial_public"])),
                // 1 % of city and county standards on an enterprise's: inverted levels.
                "city_public" | "county_public" if roll < 10 => {
                    pick_parent(rng, &["enterprise_highest"]).or_else(|| pick_parent(rng, &["provincial_public"]))
                }
                "county_public" => pick_parent(rng, &["city_public", "provincial_public"]),
                _ => pick_parent(rng, &["provincial_public"]),
            };
            if parent.is_some_and(|p| stds[p].level == "enterprise_highest") && level != "enterprise_highest" {
                inverted[i] = true;
            }
            let against = match parent {
                Some(p) => {
                    // 1 %: stated as good as (or better than) its parent.
                    if rng.random_range(0..100) == 0 && u_of[p] > 0.0 {
                        u = u_of[p] * 0.8;
                    } else if u_of[p] > 0.0 && u <= u_of[p] {
                        u = u_of[p] * 1.5;
                    }
                    Against::Item("standard", stds[p].cert_no.clone())
                }
                None => {
                    let which = rng.random_range(0..100);
                    let provider = if which < 80 {
                        &providers[0]
                    } else {
                        &providers[1 + which % 3]
                    };
                    // 8 % of external links come without their MRA evidence.
                    let evidence = if rng.random_range(0..100) < 8 {
                        String::new()
                    } else if provider.kind == "external_nmi" {
                        format!("KCDB {}-{}", t.quantity.to_uppercase(), rng.random_range(1000..9999))
                    } else {
                        provider.code.replace('-', " ")
                    };
                    u = b * 0.5 * (0.9 + 0.2 * rng.random::<f64>());
                    Against::Provider(provider.code.clone(), evidence)
                }
            };
            u_of[i] = u;
            // About 4 % have not been recalibrated for over a year: expired.
            let last = if rng.random_range(0..100) < 4 {
                rng.random_range(380..700)
            } else {
                rng.random_range(0..355)
            };
            write(
                &mut w,
                rng,
                "standard",
                &s.cert_no,
                &against,
                &t.quantity,
                (u, &unit),
                3,
                last,
                None,
            )
            .map_err(io)?;
            for serial in &s.devices {
                let last = rng.random_range(0..355);
                let key = format!("{}#{serial}", s.cert_no);
                write(
                    &mut w,
                    rng,
                    "device",
                    &key,
                    &against,
                    &t.quantity,
                    (u, &unit),
                    2,
                    last,
                    None,
                )
                .map_err(io)?;
            }
        }
    }
    // Enterprises' instruments, two per standard, calibrated by the institutes' and
    // centres' standards (or one of their devices).
    let labs: Vec<usize> = stds
        .iter()
        .enumerate()
        .filter(|(_, s)| s.level != "enterprise_highest")
        .map(|(i, _)| i)
        .collect();
    let enterprises: Vec<&Org> = orgs.iter().filter(|o| o.kind == "enterprise").collect();
    let mut wi = csv::Writer::from_path(dir.join(INSTRUMENTS)).map_err(io)?;
    wi.write_record(INSTRUMENT_COLUMNS).map_err(io)?;
    let n_instruments = if labs.is_empty() { 0 } else { stds.len() * 2 };
    for n in 0..n_instruments {
        let p = labs[rng.random_range(0..labs.len())];
        let s = &stds[p];
        let t = &templates[s.template];
        let owner = enterprises[rng.random_range(0..enterprises.len())];
        let (maker, model) = MAKERS[rng.random_range(0..MAKERS.len())];
        let serial = format!("SN{:08}", n + 1);
        let u = u_of[p] * u_factor("instrument") / u_factor(s.level).max(1.0) * (0.9 + 0.2 * rng.random::<f64>());
        let (_, unit) = base(s.template);
        // Test-uncertainty ratios from 2:1 to 12:1; those below 4:1 are warned of.
        let mpe = u * rng.random_range(2.0..12.0);
        wi.write_record([
            owner.code.as_str(),
            &instrument_name(&t.name_zh),
            maker,
            &format!("{model}-{}", rng.random_range(100..999)),
            &serial,
            &t.code,
            &t.quantity,
            &two(mpe, &unit),
        ])
        .map_err(io)?;
        let against = match s.devices.first() {
            Some(d) if rng.random_range(0..2) == 0 => Against::Item("device", format!("{}#{d}", s.cert_no)),
            _ => Against::Item("standard", s.cert_no.clone()),
        };
        let key = format!("{}#{serial}", owner.code);
        let last = rng.random_range(0..340);
        write(
            &mut w,
            rng,
            "instrument",
            &key,
            &against,
            &t.quantity,
            (u, &unit),
            2,
            last,
            Some(mpe),
        )
        .map_err(io)?;
    }
    w.flush()?;
    wi.flush()?;
    Ok((n_instruments, rows))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::codes::validate_uscc;

    #[test]
    fn generated_credit_codes_validate() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for _ in 0..500 {
            let c = uscc(&mut rng, "91", "440300");
            validate_uscc("code", &c).unwrap();
        }
    }

    #[test]
    fn gb11714_check_of_a_published_code() {
        // GB 11714-1997 §4: C9 = 11 − (Σ Ci·Wi mod 11), W = 3,7,9,10,5,8,4,2.
        // 12345678: 3+14+27+40+25+48+28+16 = 201; 201 mod 11 = 3; 11 − 3 = 8.
        // Letters count from A = 10: "ABCDEFGH" gives 30+77+108+130+70+120+64+34 = 633,
        // 633 mod 11 = 6, 11 − 6 = 5.
        assert_eq!(org_code_check(b"12345678"), b'8');
        assert_eq!(org_code_check(b"ABCDEFGH"), b'5');
    }

    #[test]
    fn traceability_between_standards_has_no_cycle() {
        // The import refuses a cycle whole (a standard cannot be traced through itself);
        // the planted anomalies (inverted levels among them) must not make one. 2,000
        // standards once did: a city standard on an enterprise's that was on it.
        for standards in [1500, 2000, 3000] {
            let dir = tempfile::tempdir().unwrap();
            let spec = Spec {
                standards,
                seed: 2026,
                as_of: NaiveDate::from_ymd_opt(2026, 11, 28).unwrap(),
            };
            generate(&spec, dir.path(), &super::super::transfer::Quiet).unwrap();
            let mut parents: std::collections::HashMap<String, Vec<String>> = Default::default();
            let mut r = csv::Reader::from_path(dir.path().join(CALIBRATIONS)).unwrap();
            let mut inverted = 0;
            for row in r.records() {
                let row = row.unwrap();
                if &row[0] == "standard" && &row[2] == "standard" {
                    parents.entry(row[1].to_owned()).or_default().push(row[3].to_owned());
                }
            }
            let mut levels: std::collections::HashMap<String, String> = Default::default();
            let mut r = csv::Reader::from_path(dir.path().join(STANDARDS)).unwrap();
            let headers = r.headers().unwrap().clone();
            let at = |name: &str| headers.iter().position(|h| h == name).unwrap();
            let (cert, level) = (at("cert_no"), at("level"));
            for row in r.records() {
                let row = row.unwrap();
                levels.insert(row[cert].to_owned(), row[level].to_owned());
            }
            // Follow each standard's parents upward: a walk longer than the number of
            // standards has met itself.
            for (start, ps) in &parents {
                if ps.iter().any(|p| levels[p] == "enterprise_highest") && levels[start] != "enterprise_highest" {
                    inverted += 1;
                }
                let mut frontier: Vec<&String> = ps.iter().collect();
                let mut seen = std::collections::HashSet::new();
                while let Some(p) = frontier.pop() {
                    assert_ne!(p, start, "{standards} standards: {start} is traced through itself");
                    if seen.insert(p) {
                        frontier.extend(parents.get(p).into_iter().flatten());
                    }
                }
            }
            assert!(
                inverted > 0,
                "{standards} standards: the inverted-level anomaly is still planted"
            );
        }
    }

    #[test]
    fn same_seed_same_files() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let spec = Spec {
            standards: 50,
            seed: 42,
            as_of: NaiveDate::from_ymd_opt(2026, 11, 28).unwrap(),
        };
        generate(&spec, a.path(), &super::super::transfer::Quiet).unwrap();
        generate(&spec, b.path(), &super::super::transfer::Quiet).unwrap();
        for f in [ORGANISATIONS, STANDARDS, DEVICES, INSTRUMENTS, CALIBRATIONS] {
            assert_eq!(
                std::fs::read(a.path().join(f)).unwrap(),
                std::fs::read(b.path().join(f)).unwrap(),
                "{f}"
            );
        }
    }
}
