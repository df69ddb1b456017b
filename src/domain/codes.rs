//! Identification codes the register depends on.
//!
//! - the unified social credit code of an organisation (GB 32100-2015);
//! - the JJF 1022-2014 classification code of a measurement standard;
//! - the GB/T 2260 administrative-division code of a city.

use super::Error;

/// GB 32100-2015 §4.2: the code alphabet. It is the 10 digits and 21 capital
/// letters, without I, O, Z, S and V (too easily confused with 1, 0, 2, 5 and U).
const USCC_ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

/// GB 32100-2015 §5 and Appendix: position weights W_i = 3^(i-1) mod 31 for i = 1..17.
const USCC_WEIGHTS: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

/// The check character of the first 17 characters of a unified social credit code:
/// C18 = 31 − (Σ Ci·Wi mod 31), with 31 written as 0 (GB 32100-2015 §5).
pub fn uscc_check_char(first17: &str) -> Option<char> {
    let bytes = first17.as_bytes();
    if bytes.len() != 17 {
        return None;
    }
    let mut sum = 0u32;
    for (b, w) in bytes.iter().zip(USCC_WEIGHTS) {
        let v = USCC_ALPHABET.iter().position(|c| c == b)? as u32;
        sum += v * w;
    }
    let c = (31 - sum % 31) % 31;
    Some(USCC_ALPHABET[c as usize] as char)
}

/// Validates an 18-character unified social credit code (统一社会信用代码).
///
/// Checks the alphabet, the length, that characters 3–8 are a 6-digit administrative
/// division code, and the check character. Lower-case input is accepted and the
/// normalised (upper-case) code returned.
pub fn validate_uscc(field: &str, input: &str) -> Result<String, Error> {
    let code = input.trim().to_ascii_uppercase();
    if code.chars().count() != 18 {
        return Err(Error::new(
            field,
            "organisation.uscc_length",
            format!(
                "a unified social credit code has 18 characters, this one has {}",
                code.chars().count()
            ),
        ));
    }
    if let Some((i, c)) = code
        .char_indices()
        .find(|(_, c)| !USCC_ALPHABET.contains(&(*c as u8)) || !c.is_ascii())
    {
        return Err(Error::new(
            field,
            "organisation.uscc_character",
            format!(
                "character {} ('{}') is not allowed in a unified social credit code (no I, O, Z, S or V)",
                i + 1,
                c
            ),
        ));
    }
    if !code[2..8].bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::new(
            field,
            "organisation.uscc_region",
            "characters 3 to 8 must be the 6-digit administrative division code",
        ));
    }
    let expected = uscc_check_char(&code[..17]).expect("alphabet checked above");
    let got = code.as_bytes()[17] as char;
    if expected != got {
        return Err(Error::new(
            field,
            "organisation.uscc_check_digit",
            format!("check character is '{got}' but GB 32100 gives '{expected}' for the first 17 characters"),
        ));
    }
    Ok(code)
}

/// JJF 1022-2014 §4.1: the first level is the metrology discipline (01–46) or the
/// sector of a special-purpose standard (51–65).
pub const JJF1022_LEVEL1: &[(&str, &str, &str)] = &[
    ("01", "几何量", "Geometrical quantities"),
    ("04", "热学", "Thermal"),
    ("12", "力学", "Mechanical"),
    ("15", "电磁学", "Electromagnetism"),
    ("23", "无线电", "Radio"),
    ("25", "时间频率", "Time and frequency"),
    ("28", "光学", "Optics"),
    ("33", "声学", "Acoustics"),
    ("37", "电离辐射", "Ionizing radiation"),
    ("46", "物理化学", "Physical chemistry"),
    ("51", "纺织", "Textiles"),
    ("53", "铁路", "Railways"),
    ("55", "气象", "Meteorology"),
    ("57", "海洋", "Oceanography"),
    ("59", "邮电", "Post and telecommunications"),
    ("61", "交通运输", "Transport"),
    ("63", "建材", "Building materials"),
    ("65", "农林牧渔", "Agriculture, forestry, husbandry and fishery"),
];

/// The level-1 entry (code, Chinese name, English name) for a 2-digit code.
pub fn jjf1022_level1(code2: &str) -> Option<(&'static str, &'static str, &'static str)> {
    JJF1022_LEVEL1.iter().copied().find(|(c, _, _)| *c == code2)
}

/// A parsed JJF 1022-2014 code: four levels of two digits each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Jjf1022Code {
    digits: [u8; 8],
}

impl Jjf1022Code {
    /// The code's 8 digits.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.digits).expect("ASCII digits")
    }

    /// The level-1 (discipline or sector) part, e.g. "04".
    pub fn level1(&self) -> &str {
        &self.as_str()[..2]
    }

    /// How many levels are filled before the zero padding (1–4).
    pub fn depth(&self) -> u8 {
        let s = self.as_str();
        (1..=4u8)
            .take_while(|l| &s[(*l as usize - 1) * 2..*l as usize * 2] != "00")
            .count() as u8
    }
}

/// Validates a JJF 1022-2014 classification code (计量标准分类编码).
///
/// JJF 1022-2014 §4.2: eight digits, two per level; a level that is not subdivided is
/// padded with "0" to the eighth digit, so no level may follow a "00" level; the first
/// level must be one of the disciplines or sectors of §4.1. "90" and "91" are the
/// catch-all codes at levels 1–3, under which provinces assign temporary codes.
pub fn validate_jjf1022(field: &str, input: &str) -> Result<Jjf1022Code, Error> {
    let s: String = input.chars().filter(|c| !c.is_whitespace()).collect();
    if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::new(
            field,
            "standard.category_format",
            "a JJF 1022 code is 8 digits (4 levels × 2 digits), e.g. 01219000",
        ));
    }
    let mut digits = [0u8; 8];
    digits.copy_from_slice(s.as_bytes());
    let code = Jjf1022Code { digits };
    if jjf1022_level1(code.level1()).is_none() && !matches!(code.level1(), "90" | "91") {
        return Err(Error::new(
            field,
            "standard.category_unknown",
            format!("{} is not a JJF 1022-2014 discipline or sector code", code.level1()),
        ));
    }
    let levels: Vec<&str> = (0..4).map(|i| &s[i * 2..i * 2 + 2]).collect();
    if levels[1] == "00" {
        return Err(Error::new(
            field,
            "standard.category_too_broad",
            "a measurement standard is classified at least to level 2 (the 3rd and 4th digits are not 00)",
        ));
    }
    if let Some(i) = (1..4).find(|&i| levels[i - 1] == "00" && levels[i] != "00") {
        return Err(Error::new(
            field,
            "standard.category_padding",
            format!(
                "level {} follows an empty level; JJF 1022 pads unused levels with 0 to the 8th digit",
                i + 1
            ),
        ));
    }
    Ok(code)
}

/// Validates a 6-digit GB/T 2260 administrative-division code.
pub fn validate_region_code(field: &str, input: &str) -> Result<String, Error> {
    let s = input.trim();
    if s.len() == 6 && s.bytes().all(|b| b.is_ascii_digit()) && &s[..2] != "00" {
        Ok(s.to_owned())
    } else {
        Err(Error::new(
            field,
            "region.code_invalid",
            "a GB/T 2260 division code is 6 digits, e.g. 440100",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // GB 32100-2015 Appendix A worked example: 91350100M000100Y43.
    // Σ Ci·Wi over the first 17 characters = 1640; 1640 mod 31 = 28; 31 − 28 = 3 → '3'.
    #[test]
    fn uscc_published_example_validates() {
        assert_eq!(validate_uscc("c", "91350100M000100Y43").unwrap(), "91350100M000100Y43");
        assert_eq!(uscc_check_char("91350100M000100Y4"), Some('3'));
    }

    #[test]
    fn uscc_wrong_check_digit_is_named() {
        let e = validate_uscc("code", "91350100M000100Y44").unwrap_err();
        assert_eq!(e.field, "code");
        assert_eq!(e.code, "organisation.uscc_check_digit");
        assert!(e.message.contains("'3'"), "{}", e.message);
    }

    #[test]
    fn uscc_rejects_letters_outside_the_alphabet() {
        // 'O' replaced for '0' in position 9 is the classic typing error.
        let e = validate_uscc("c", "91350100O000100Y43").unwrap_err();
        assert_eq!(e.code, "organisation.uscc_character");
        let e = validate_uscc("c", "9135010").unwrap_err();
        assert_eq!(e.code, "organisation.uscc_length");
    }

    #[test]
    fn uscc_lower_case_is_normalised() {
        assert_eq!(
            validate_uscc("c", " 91350100m000100y43 ").unwrap(),
            "91350100M000100Y43"
        );
    }

    #[test]
    fn uscc_every_single_character_change_is_detected() {
        // A mod-31 check with weights coprime to 31 catches every single substitution.
        let good = "91350100M000100Y43";
        for pos in 0..17 {
            for &c in USCC_ALPHABET.iter() {
                let mut b = good.as_bytes().to_vec();
                if b[pos] == c {
                    continue;
                }
                b[pos] = c;
                let s = String::from_utf8(b).unwrap();
                if s[2..8].bytes().all(|b| b.is_ascii_digit()) {
                    assert!(validate_uscc("c", &s).is_err(), "{s} should fail");
                }
            }
        }
    }

    #[test]
    fn jjf1022_grounded_examples() {
        // JJF 1022-2014 §4.2 example: 01219000 其他线纹类计量标准 (catch-all 90 at level 3).
        let c = validate_jjf1022("category", "01219000").unwrap();
        assert_eq!(c.level1(), "01");
        assert_eq!(c.depth(), 3);
        assert_eq!(validate_jjf1022("category", "0121 9000").unwrap().as_str(), "01219000");
    }

    #[test]
    fn jjf1022_rejections_name_the_rule() {
        let bad = [
            ("0121900", "standard.category_format"),
            ("0121900A", "standard.category_format"),
            ("02110000", "standard.category_unknown"),
            ("01000000", "standard.category_too_broad"),
            ("01210010", "standard.category_padding"),
        ];
        for (input, code) in bad {
            let e = validate_jjf1022("category", input).unwrap_err();
            assert_eq!(e.code, code, "{input}");
            assert_eq!(e.field, "category");
        }
    }

    #[test]
    fn jjf1022_sectors_and_catch_alls() {
        assert!(validate_jjf1022("c", "51900000").is_ok());
        assert!(validate_jjf1022("c", "65910000").is_ok());
        assert!(validate_jjf1022("c", "90900000").is_ok());
        assert!(validate_jjf1022("c", "67900000").is_err());
    }

    #[test]
    fn region_codes() {
        assert!(validate_region_code("city", "440100").is_ok());
        assert!(validate_region_code("city", "4401").is_err());
        assert!(validate_region_code("city", "000100").is_err());
    }
}
