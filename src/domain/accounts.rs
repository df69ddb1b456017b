//! Accounts: the roles of the province's metrology network, which organisations each
//! role belongs to, the password rule, and the segregation of duties on certificates.

use super::register::OrgKind;
use super::Error;

vocabulary! {
    /// What a user may do. A user holds one or more roles, all in one organisation.
    Role {
        Regulator => "regulator", "计量监管人员", "regulator";
        SystemAdmin => "system_admin", "系统管理员", "system administrator";
        InstituteAdmin => "institute_admin", "机构管理员", "institute administrator";
        Scheduler => "scheduler", "计划员", "scheduler";
        Technician => "technician", "检定/校准人员", "technician";
        Reviewer => "reviewer", "核验人员", "reviewer";
        Approver => "approver", "批准人员", "approver";
        Enterprise => "enterprise", "企业用户", "enterprise user";
    }
}

impl Role {
    /// The kinds of organisation whose staff may hold this role.
    pub fn fits(self, kind: OrgKind) -> bool {
        use OrgKind::*;
        match self {
            Role::Regulator => kind == Regulator,
            Role::SystemAdmin => matches!(kind, Regulator | Institute),
            Role::InstituteAdmin | Role::Scheduler | Role::Technician | Role::Reviewer | Role::Approver => {
                matches!(kind, Institute | MeasurementCentre)
            }
            Role::Enterprise => kind == Enterprise,
        }
    }
}

/// A user's roles, stored as their stable names joined by commas.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Roles(Vec<Role>);

impl Roles {
    pub fn new(mut roles: Vec<Role>) -> Self {
        roles.sort_by_key(|r| Role::ALL.iter().position(|x| x == r));
        roles.dedup();
        Roles(roles)
    }

    /// Parses the stored or typed form ("reviewer,approver"); every name must be known.
    pub fn parse(field: &str, text: &str) -> Result<Roles, Error> {
        let mut roles = Vec::new();
        for name in text.split([',', ' ']).map(str::trim).filter(|s| !s.is_empty()) {
            match Role::parse(name) {
                Some(r) => roles.push(r),
                None => {
                    return Err(Error::new(
                        field,
                        "user.role_unknown",
                        format!("'{name}' is not a role; the roles are: {}", Role::choices()),
                    ))
                }
            }
        }
        if roles.is_empty() {
            return Err(Error::new(
                field,
                "user.role_required",
                "a user needs at least one role",
            ));
        }
        Ok(Roles::new(roles))
    }

    pub fn has(&self, role: Role) -> bool {
        self.0.contains(&role)
    }

    pub fn iter(&self) -> impl Iterator<Item = Role> + '_ {
        self.0.iter().copied()
    }

    pub fn as_stored(&self) -> String {
        self.0.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(",")
    }

    /// Every role must suit the user's organisation: an enterprise's clerk cannot be
    /// an approver, a regulator cannot be a technician.
    pub fn check_fit(&self, field: &str, kind: OrgKind) -> Result<(), Error> {
        match self.0.iter().find(|r| !r.fits(kind)) {
            None => Ok(()),
            Some(r) => Err(Error::new(
                field,
                "user.role_org_mismatch",
                format!(
                    "the role {} cannot be held in an organisation of kind {}",
                    r.as_str(),
                    kind.as_str()
                ),
            )),
        }
    }
}

/// Fewest characters in a password (NIST SP 800-63B §5.1.1.2 asks for at least 8; the
/// province asks for 12).
pub const PASSWORD_MIN_CHARS: usize = 12;
/// Most characters: long enough for any passphrase, short enough that hashing it is
/// not a denial of service.
pub const PASSWORD_MAX_CHARS: usize = 256;

/// The password rule: length in characters (not bytes, so 12 Chinese characters
/// count as 12), and not the account's own e-mail address.
pub fn check_password(field: &str, password: &str, email: &str) -> Result<(), Error> {
    let n = password.chars().count();
    if n < PASSWORD_MIN_CHARS {
        return Err(Error::new(
            field,
            "password.too_short",
            format!("a password has at least {PASSWORD_MIN_CHARS} characters; this one has {n}"),
        ));
    }
    if n > PASSWORD_MAX_CHARS {
        return Err(Error::new(
            field,
            "password.too_long",
            format!("a password has at most {PASSWORD_MAX_CHARS} characters"),
        ));
    }
    if password.trim().eq_ignore_ascii_case(email.trim()) {
        return Err(Error::new(
            field,
            "password.is_email",
            "the password must not be the e-mail address",
        ));
    }
    Ok(())
}

/// Characters that show nothing or turn the text around (Unicode's format characters,
/// joiners, variation selectors, fillers): in a login name they make two addresses
/// look the same.
fn is_invisible(c: char) -> bool {
    matches!(c as u32,
        0x00AD | 0x034F | 0x061C | 0x115F | 0x1160 | 0x17B4 | 0x17B5 | 0x180B..=0x180F
        | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x206F | 0x3164 | 0xFE00..=0xFE0F
        | 0xFEFF | 0xFFA0 | 0xFFF0..=0xFFFB | 0x1D173..=0x1D17A | 0xE0000..=0xE0FFF)
}

/// Letters an address may hold besides ASCII: the Han, kana and Hangul scripts, which
/// have no letters that pass for Latin ones. Cyrillic, Greek and the rest are refused
/// (`аdmin` with a Cyrillic а is not `admin`).
fn is_allowed_letter(c: char) -> bool {
    c.is_ascii()
        || matches!(c as u32,
            0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xAC00..=0xD7AF
            | 0xF900..=0xFAFF | 0x20000..=0x3134F)
}

/// Normalises and checks an e-mail address used as a login name: Unicode NFKC (so
/// that full-width and compatibility forms become the plain ones), lower case, and no
/// invisible or direction-changing characters, nor letters of scripts that look like
/// Latin ones, so that no account can be made to look like another.
pub fn normalise_email(field: &str, email: &str) -> Result<String, Error> {
    use unicode_normalization::UnicodeNormalization;
    let typed = email.trim();
    if typed.chars().any(is_invisible) {
        return Err(Error::new(
            field,
            "user.email_invisible",
            "the e-mail address holds invisible or direction-changing characters",
        ));
    }
    let e: String = typed.nfkc().collect::<String>().to_lowercase();
    if let Some(c) = e.chars().find(|c| !is_allowed_letter(*c)) {
        return Err(Error::new(
            field,
            "user.email_script",
            format!("'{c}' (U+{:04X}) is a letter of another script that can pass for a Latin one; type the address in Latin letters", c as u32),
        ));
    }
    let ok = e.chars().count() <= 254
        && e.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.')
        })
        && !e.chars().any(|c| c.is_whitespace() || c.is_control())
        && e.matches('@').count() == 1;
    if ok {
        Ok(e)
    } else {
        Err(Error::new(
            field,
            "user.email_invalid",
            format!(
                "'{}' is not an e-mail address",
                typed.chars().take(254).collect::<String>()
            ),
        ))
    }
}

/// The steps of issuing a certificate, each signed by a different person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Duty {
    /// Recording the result (记录/检定员).
    Record,
    /// Checking it (核验).
    Review,
    /// Approving the certificate (批准).
    Approve,
}

/// Segregation of duties (ISO/IEC 17025 §7.8.1.1; JJF 1069 on 检定、核验、批准): the
/// person who recorded a result (entered it, corrected it or signed it as performed) may
/// not review or approve it, and the reviewer may not approve it. `earlier` are the users
/// who took part in the earlier steps.
pub fn check_segregation(duty: Duty, signer: i32, earlier: &[(Duty, i32)]) -> Result<(), Error> {
    match earlier.iter().find(|(d, who)| *who == signer && *d != duty) {
        None => Ok(()),
        Some((d, _)) => Err(Error::new(
            "signer",
            "duty.segregation",
            format!(
                "you took part in the {} step of this record, so you cannot sign its {} step",
                duty_name(*d),
                duty_name(duty)
            ),
        )),
    }
}

fn duty_name(d: Duty) -> &'static str {
    match d {
        Duty::Record => "record",
        Duty::Review => "review",
        Duty::Approve => "approval",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_parse_sort_and_refuse_unknown_names() {
        let r = Roles::parse("role", "approver, reviewer,approver").unwrap();
        assert_eq!(r.as_stored(), "reviewer,approver");
        assert!(r.has(Role::Approver) && !r.has(Role::Technician));
        let e = Roles::parse("role", "approver,boss").unwrap_err();
        assert_eq!((e.field.as_str(), e.code), ("role", "user.role_unknown"));
        assert_eq!(Roles::parse("role", " , ").unwrap_err().code, "user.role_required");
    }

    #[test]
    fn roles_must_suit_the_organisation() {
        let enterprise = Roles::parse("role", "enterprise").unwrap();
        assert!(enterprise.check_fit("role", OrgKind::Enterprise).is_ok());
        assert_eq!(
            enterprise.check_fit("role", OrgKind::Institute).unwrap_err().code,
            "user.role_org_mismatch"
        );
        let lab = Roles::parse("role", "technician,reviewer").unwrap();
        assert!(lab.check_fit("role", OrgKind::MeasurementCentre).is_ok());
        assert!(lab.check_fit("role", OrgKind::Enterprise).is_err());
        assert!(Roles::parse("role", "regulator")
            .unwrap()
            .check_fit("role", OrgKind::Institute)
            .is_err());
    }

    #[test]
    fn password_length_is_counted_in_characters() {
        assert_eq!(
            check_password("password", "short-pw-11", "a@b.cn").unwrap_err().code,
            "password.too_short"
        );
        assert!(check_password("password", "twelve-chars", "a@b.cn").is_ok());
        // Twelve Chinese characters are 36 bytes but 12 characters: accepted; eleven are not.
        assert!(check_password("password", "计量标准考核证书复查申请", "a@b.cn").is_ok());
        assert!(check_password("password", "计量标准考核证书复查申", "a@b.cn").is_err());
        assert_eq!(
            check_password("password", &"x".repeat(257), "a@b.cn").unwrap_err().code,
            "password.too_long"
        );
        assert_eq!(
            check_password("password", "Clerk@Firm.example.cn", "clerk@firm.example.cn")
                .unwrap_err()
                .code,
            "password.is_email"
        );
    }

    #[test]
    fn emails_are_lowercased_and_checked() {
        assert_eq!(
            normalise_email("email", " Li.Wei@GDMI.example.cn ").unwrap(),
            "li.wei@gdmi.example.cn"
        );
        for bad in [
            "",
            "li",
            "li@",
            "@gdmi.cn",
            "li@gdmi",
            "li wei@gdmi.cn",
            "a@b@c.cn",
            "li@.cn",
        ] {
            assert!(normalise_email("email", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn lookalike_and_invisible_addresses_are_refused() {
        // Full-width letters are the same address (NFKC), not a second one.
        assert_eq!(
            normalise_email("email", "ＡＤＭＩＮ@demo.metrocal.example").unwrap(),
            "admin@demo.metrocal.example"
        );
        assert_eq!(
            normalise_email("email", "张伟@gdmi.example.cn").unwrap(),
            "张伟@gdmi.example.cn"
        );
        for (bad, code) in [
            ("ad\u{200B}min@demo.metrocal.example", "user.email_invisible"),
            ("\u{202E}nimda@demo.metrocal.example", "user.email_invisible"),
            ("admin\u{FEFF}@demo.metrocal.example", "user.email_invisible"),
            // Cyrillic а (U+0430) and Greek ο (U+03BF).
            ("\u{0430}dmin@demo.metrocal.example", "user.email_script"),
            ("admin@dem\u{03BF}.metrocal.example", "user.email_script"),
        ] {
            assert_eq!(normalise_email("email", bad).unwrap_err().code, code, "{bad:?}");
        }
        let long = format!("{}@x.cn", "a".repeat(260));
        assert_eq!(normalise_email("email", &long).unwrap_err().code, "user.email_invalid");
    }

    #[test]
    fn the_recorder_may_not_review_or_approve_and_the_reviewer_may_not_approve() {
        let earlier = [(Duty::Record, 7), (Duty::Review, 8)];
        assert!(check_segregation(Duty::Approve, 9, &earlier).is_ok());
        let e = check_segregation(Duty::Approve, 7, &earlier).unwrap_err();
        assert_eq!(e.code, "duty.segregation");
        assert!(e.message.contains("record"));
        assert!(check_segregation(Duty::Approve, 8, &earlier).is_err());
        assert!(check_segregation(Duty::Review, 7, &[(Duty::Record, 7)]).is_err());
        // Signing the same step again (a corrected record) is not a second duty.
        assert!(check_segregation(Duty::Record, 7, &[(Duty::Record, 7)]).is_ok());
    }
}
