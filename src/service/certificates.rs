//! Issuing certificates and verifying them.
//!
//! Issuing freezes the content (the snapshot), numbers it from the laboratory's
//! gap-free yearly sequence, renders the DCC, and signs the digests with the
//! laboratory's Ed25519 key, in one transaction with its audit event. An issued
//! certificate never changes: an amendment is a new certificate that supersedes it.
//! Verification finds a file by its SHA-256 and checks the signature.

use super::keys::{self, KeyStore};
use super::{Actor, Error, Result};
use crate::domain::accounts::Role;
use crate::domain::certificates::{self as rules, CertificateKind, CertificateStatus, Snapshot};
use crate::domain::conformity::Decision;
use crate::store::certificates as q;
use crate::store::entities::certificate;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use sea_orm::{ActiveValue::Set, DatabaseConnection};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// Who issues a laboratory's certificates: its approvers (批准).
const ISSUERS: &[Role] = &[Role::Approver];

/// What the laboratory's signature covers: the number, the content's digest and the
/// digests of the files as served, so that neither the content nor a file can change.
pub fn signed_message(number: &str, content_sha256: &str, dcc_sha256: &str, pdf_sha256: Option<&str>) -> Vec<u8> {
    format!(
        "metrocal certificate v1\nnumber {number}\ncontent sha256 {content_sha256}\ndcc sha256 {dcc_sha256}\npdf sha256 {}\n",
        pdf_sha256.unwrap_or("-")
    )
    .into_bytes()
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// What to issue: the content (its number, revision and replacement are filled in here),
/// the laboratory and the customer, and the certificate it amends, with the reason.
pub struct IssueRequest {
    pub lab_id: i32,
    pub customer_id: i32,
    pub snapshot: Snapshot,
    pub amends: Option<(i32, String)>,
}

/// Issues a certificate.
pub async fn issue(
    actor: &Actor,
    db: &DatabaseConnection,
    keys: &KeyStore,
    req: IssueRequest,
    now: DateTime<Utc>,
) -> Result<certificate::Model> {
    let txn = crate::store::begin(db).await?;
    let row = issue_in(&txn, actor, keys, req, now).await?;
    txn.commit().await?;
    Ok(row)
}

/// [`issue`] inside the caller's transaction, so that what leads to the certificate (an
/// approval) and the certificate stand or fall together.
pub(crate) async fn issue_in(
    txn: &impl sea_orm::ConnectionTrait,
    actor: &Actor,
    keys: &KeyStore,
    req: IssueRequest,
    now: DateTime<Utc>,
) -> Result<certificate::Model> {
    let own = actor.principal().is_none_or(|p| p.organisation_id == req.lab_id);
    if !actor.may(ISSUERS) || !own {
        return Err(actor.forbidden());
    }
    let mut s = req.snapshot;
    let kind = s
        .kind()
        .ok_or_else(|| Error::field("kind", "certificate.kind_invalid", CertificateKind::choices()))?;
    let verdict = s.decision.as_deref().and_then(Decision::parse);
    rules::kind_allowed(kind, verdict).map_err(|m| Error::field("kind", "certificate.kind_not_allowed", m))?;
    // The number first: on SQLite the transaction's first statement takes the write lock
    // (a read first would make a concurrent issue fail on upgrading it), and on both
    // engines the sequence row's lock queues concurrent issues of the laboratory.
    let year = s.issued_on.year();
    let seq = q::next_seq(txn, req.lab_id, year).await?;
    let lab = crate::store::organisations::organisations_by_ids(txn, &[req.lab_id])
        .await?
        .remove(&req.lab_id)
        .ok_or(Error::NotFound { what: "laboratory" })?;
    let replaces = match &req.amends {
        Some((id, reason)) => {
            if reason.trim().is_empty() {
                return Err(Error::field(
                    "reason",
                    "certificate.reason_required",
                    "say why it is amended",
                ));
            }
            let old = q::by_id(txn, *id)
                .await?
                .filter(|c| c.lab_id == req.lab_id)
                .ok_or(Error::NotFound { what: "certificate" })?;
            if old.status != CertificateStatus::Issued.as_str() {
                return Err(Error::Conflict {
                    code: "certificate.not_current",
                    message: format!(
                        "{} is {}; only the current certificate can be amended",
                        old.number, old.status
                    ),
                    fields: vec![],
                });
            }
            Some(old)
        }
        None => None,
    };
    let revision = replaces.as_ref().map_or(1, |o| o.revision + 1);
    s.number = rules::number(&lab.code, year, seq as u32);
    s.revision = revision as u32;
    s.replaces = replaces.as_ref().map(|o| o.number.clone());
    s.amendment_reason = req.amends.as_ref().map(|(_, r)| r.trim().to_owned());
    let missing = rules::checklist(&s);
    if !missing.is_empty() {
        return Err(Error::invalid(
            missing
                .iter()
                .map(|m| crate::domain::Error::new("content", "certificate.incomplete", format!("missing: {m}")))
                .collect(),
        ));
    }
    let (content, content_sha) = s.digest();
    let dcc = crate::render::dcc::render(&s).map_err(|e| Error::Internal(e.to_string()))?;
    let dcc_sha = sha256_hex(&dcc);
    let token = super::random_hex(16);
    let pdf = crate::render::pdf::render(&s, &keys.verify_url(&token)).map_err(|e| Error::Internal(e.to_string()))?;
    let pdf_sha = sha256_hex(&pdf);
    let (key_id, key) = keys.signing_key(txn, req.lab_id, now).await?;
    let signature = keys::sign(&key, &signed_message(&s.number, &content_sha, &dcc_sha, Some(&pdf_sha)));
    let row = q::insert(
        txn,
        certificate::ActiveModel {
            lab_id: Set(req.lab_id),
            customer_id: Set(req.customer_id),
            number: Set(s.number.clone()),
            year: Set(year),
            seq: Set(seq),
            kind: Set(kind.as_str().to_owned()),
            revision: Set(revision),
            replaces_id: Set(replaces.as_ref().map(|o| o.id)),
            reason: Set(s.amendment_reason.clone().unwrap_or_default()),
            status: Set(CertificateStatus::Issued.as_str().to_owned()),
            status_reason: Set(String::new()),
            token: Set(token),
            snapshot: Set(String::from_utf8(content).expect("JSON is UTF-8")),
            content_sha256: Set(content_sha.clone()),
            dcc: Set(String::from_utf8(dcc).expect("the DCC is UTF-8")),
            dcc_sha256: Set(dcc_sha),
            pdf: Set(Some(pdf)),
            pdf_sha256: Set(Some(pdf_sha)),
            key_id: Set(key_id),
            signature: Set(signature),
            issued_at: Set(now),
            issued_by: Set(actor.principal().map(|p| p.user_id)),
            status_changed_at: Set(None),
            ..Default::default()
        },
    )
    .await?;
    if let Some(old) = &replaces {
        q::set_status(
            txn,
            old.id,
            "issued",
            "superseded",
            &format!("superseded by {}", row.number),
            now,
        )
        .await?;
    }
    let mut changes = super::audit::Changes::new();
    for (k, v) in [
        ("number", row.number.clone()),
        ("kind", row.kind.clone()),
        ("content_sha256", content_sha),
        ("dcc_sha256", row.dcc_sha256.clone()),
        ("key_id", row.key_id.clone()),
    ] {
        changes.note(k, v.into());
    }
    if let Some(old) = &replaces {
        changes.note("replaces", old.number.clone().into());
    }
    super::audit::record(
        txn,
        actor,
        now,
        super::audit::Entry {
            action: if replaces.is_some() {
                "certificate.amend"
            } else {
                "certificate.issue"
            },
            entity_type: "certificate",
            entity_id: row.number.clone(),
            changes,
        },
    )
    .await?;
    Ok(row)
}

/// What verification says of a certificate or a file.
#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    /// The file is byte for byte an issued one and its signature holds (for a file), or
    /// the certificate's signature holds (for a token).
    pub genuine: bool,
    pub reason: String,
    pub number: Option<String>,
    /// issued, superseded or withdrawn. Why it was withdrawn is the laboratory's
    /// internal record and is not printed on the certificate, so it is not shown here.
    pub status: Option<String>,
    pub superseded_by: Option<String>,
    pub kind: Option<String>,
    pub revision: Option<i32>,
    pub issuer: Option<String>,
    pub item: Option<String>,
    pub calibrated_on: Option<NaiveDate>,
    pub issued_on: Option<NaiveDate>,
    pub content_sha256: Option<String>,
    pub dcc_sha256: Option<String>,
    pub pdf_sha256: Option<String>,
    pub key_id: Option<String>,
    /// Which file matched: dcc or pdf.
    pub file: Option<&'static str>,
}

fn not_found(reason: &str) -> Verification {
    Verification {
        genuine: false,
        reason: reason.to_owned(),
        number: None,
        status: None,
        superseded_by: None,
        kind: None,
        revision: None,
        issuer: None,
        item: None,
        calibrated_on: None,
        issued_on: None,
        content_sha256: None,
        dcc_sha256: None,
        pdf_sha256: None,
        key_id: None,
        file: None,
    }
}

/// Whether a stored certificate is what its laboratory signed: the content, the DCC and
/// the PDF match their digests, the signature over the number and the digests holds
/// with the laboratory's key, and the row's number, kind, revision, laboratory and
/// customer are the signed content's. A row edited behind the application's back (a
/// customer flipped to another enterprise) fails, so it is neither served nor called
/// genuine.
async fn intact<C: sea_orm::ConnectionTrait>(db: &C, c: &certificate::Model) -> Result<bool> {
    let key = q::key_by_id(db, c.lab_id, &c.key_id).await?;
    let content_ok = sha256_hex(c.snapshot.as_bytes()) == c.content_sha256;
    let dcc_ok = sha256_hex(c.dcc.as_bytes()) == c.dcc_sha256;
    let pdf_ok = match (&c.pdf, &c.pdf_sha256) {
        (Some(p), Some(h)) => &sha256_hex(p) == h,
        (None, None) => true,
        _ => false,
    };
    let signature_ok = key.as_ref().is_some_and(|k| {
        k.lab_id == c.lab_id
            && keys::verify(
                &k.public_key,
                &signed_message(&c.number, &c.content_sha256, &c.dcc_sha256, c.pdf_sha256.as_deref()),
                &c.signature,
            )
    });
    if !(content_ok && dcc_ok && pdf_ok && signature_ok) {
        return Ok(false);
    }
    let Ok(snapshot) = serde_json::from_str::<Snapshot>(&c.snapshot) else {
        return Ok(false);
    };
    let orgs = crate::store::organisations::organisations_by_ids(db, &[c.lab_id, c.customer_id]).await?;
    let code = |id: i32| orgs.get(&id).map(|o| o.code.as_str());
    Ok(snapshot.number == c.number
        && snapshot.kind == c.kind
        && i64::from(snapshot.revision) == i64::from(c.revision)
        && code(c.lab_id) == Some(snapshot.lab.code.as_str())
        && code(c.customer_id) == Some(snapshot.customer.code.as_str()))
}

/// The certificate `number` for one who may see it, refused when its row is not what
/// was signed ([`intact`]).
async fn served(actor: &Actor, db: &DatabaseConnection, number: &str) -> Result<certificate::Model> {
    actor.require_login()?;
    let c = q::by_number(db, number)
        .await?
        .filter(|c| sees(actor, c))
        .ok_or(Error::NotFound { what: "certificate" })?;
    if !intact(db, &c).await? {
        tracing::error!(certificate = %c.number, "stored certificate does not match its signed content; not served");
        return Err(Error::Conflict {
            code: "certificate.not_intact",
            message: format!(
                "{} is stored differently from what the laboratory signed; it is not served. Tell the issuing laboratory",
                c.number
            ),
            fields: vec![],
        });
    }
    Ok(c)
}

async fn describe(db: &DatabaseConnection, c: &certificate::Model, file: Option<&'static str>) -> Result<Verification> {
    let snapshot: Option<Snapshot> = serde_json::from_str(&c.snapshot).ok();
    let superseded_by = q::replacement_of(db, c.id).await?.map(|r| r.number);
    let genuine = intact(db, c).await?;
    Ok(Verification {
        genuine,
        reason: if genuine {
            match file {
                Some(f) => format!("the {f} is byte for byte the one issued, and the laboratory's signature holds"),
                None => "the laboratory's signature holds".to_owned(),
            }
        } else {
            "the stored certificate does not match its signature".to_owned()
        },
        number: Some(c.number.clone()),
        status: Some(c.status.clone()),
        superseded_by,
        kind: Some(c.kind.clone()),
        revision: Some(c.revision),
        issuer: snapshot
            .as_ref()
            .map(|s| format!("{} / {}", s.lab.name.zh, s.lab.name.en)),
        item: snapshot
            .as_ref()
            .map(|s| format!("{} {} {}", s.item.name.zh, s.item.model, s.item.serial)),
        calibrated_on: snapshot.as_ref().map(|s| s.calibrated_on),
        issued_on: snapshot.as_ref().map(|s| s.issued_on),
        content_sha256: Some(c.content_sha256.clone()),
        dcc_sha256: Some(c.dcc_sha256.clone()),
        pdf_sha256: c.pdf_sha256.clone(),
        key_id: Some(c.key_id.clone()),
        file,
    })
}

/// The public verification of a certificate by its token (no login).
pub async fn verify_token(db: &DatabaseConnection, token: &str) -> Result<Verification> {
    if token.len() != 32 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::NotFound { what: "certificate" });
    }
    let c = q::by_token(db, token)
        .await?
        .ok_or(Error::NotFound { what: "certificate" })?;
    describe(db, &c, None).await
}

/// Verifies a file: it must be byte for byte an issued certificate's PDF or DCC, and
/// that certificate's signature must hold.
pub async fn verify_file(db: &DatabaseConnection, bytes: &[u8]) -> Result<Verification> {
    let sha = sha256_hex(bytes);
    let Some(c) = q::by_file_sha(db, &sha).await? else {
        return Ok(not_found(
            "no certificate was issued with this file: it is not one of ours, or it was altered",
        ));
    };
    let file = if c.dcc_sha256 == sha { "dcc" } else { "pdf" };
    describe(db, &c, Some(file)).await
}

/// The certificate `number` of the actor's laboratory, for its staff with one of `roles`:
/// 404 for one the actor may not see, 403 for one they may see but not act on.
async fn of_own_lab(
    actor: &Actor,
    db: &impl sea_orm::ConnectionTrait,
    number: &str,
    roles: &[Role],
) -> Result<certificate::Model> {
    actor.require_login()?;
    let c = q::by_number(db, number)
        .await?
        .filter(|c| sees(actor, c))
        .ok_or(Error::NotFound { what: "certificate" })?;
    let own = actor.principal().is_none_or(|p| p.organisation_id == c.lab_id);
    if !actor.may(roles) || !own {
        return Err(actor.forbidden());
    }
    Ok(c)
}

/// Withdraws a certificate (§7.8.8): it stays downloadable and verifiable, marked
/// withdrawn with the reason. The approver confirms with their password. Audited.
pub async fn withdraw(
    actor: &Actor,
    db: &DatabaseConnection,
    number: &str,
    reason: &str,
    password: &str,
    client_addr: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let c = of_own_lab(actor, db, number, ISSUERS).await?;
    if reason.trim().is_empty() || reason.chars().count() > 500 {
        return Err(Error::field(
            "reason",
            "certificate.reason_required",
            "say why it is withdrawn (at most 500 characters)",
        ));
    }
    super::accounts::confirm_password(actor, db, password, client_addr, now).await?;
    let txn = crate::store::begin(db).await?;
    if q::set_status(&txn, c.id, "issued", "withdrawn", reason.trim(), now).await? == 0 {
        return Err(Error::Conflict {
            code: "certificate.not_current",
            message: format!(
                "{} is {}; only the current certificate can be withdrawn",
                c.number, c.status
            ),
            fields: vec![],
        });
    }
    let mut changes = super::audit::Changes::new();
    changes.set("status", "issued".into(), "withdrawn".into());
    changes.note("reason", reason.trim().into());
    super::audit::record(
        &txn,
        actor,
        now,
        super::audit::Entry {
            action: "certificate.withdraw",
            entity_type: "certificate",
            entity_id: c.number.clone(),
            changes,
        },
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Who may open an amendment of their laboratory's certificate: its technicians and
/// approvers (the workflow's `amend`; two others then review and approve it).
const AMENDERS: &[Role] = &[Role::Technician, Role::Approver];

/// Amends a certificate (ISO/IEC 17025 §7.8.8): its record reopens as the draft of its
/// next revision with the `changes` (a JSON Merge Patch over the amendable parts,
/// `domain::records::amendment`) and the reason. The revision's results are corrected
/// on the record, signed as performed, reviewed and approved by two people other than
/// the one who drafted it; its approval issues the new certificate, with a new number
/// and revision n + 1, which says what it replaces and why and supersedes it. Until
/// then this certificate stays current. The drafter confirms with their password.
#[allow(clippy::too_many_arguments)]
pub async fn amend(
    actor: &Actor,
    db: &DatabaseConnection,
    number: &str,
    reason: &str,
    changes: &serde_json::Value,
    password: &str,
    client_addr: &str,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<super::records::Amendment> {
    let c = of_own_lab(actor, db, number, AMENDERS).await?;
    if c.status != CertificateStatus::Issued.as_str() {
        return Err(Error::Conflict {
            code: "certificate.not_current",
            message: format!(
                "{} is {}; only the current certificate can be amended",
                c.number, c.status
            ),
            fields: vec![],
        });
    }
    super::records::open_amendment(actor, db, &c, reason, changes, password, client_addr, today, now).await
}

/// A laboratory's signing keys, the current one first.
#[derive(Debug, Clone, Serialize)]
pub struct KeyView {
    pub key_id: String,
    pub public_key: String,
    pub created_at: DateTime<Utc>,
    pub retired_at: Option<DateTime<Utc>>,
}

/// Who may rotate a laboratory's key: its institute admins, and system admins.
fn may_rotate(actor: &Actor, lab: i32) -> bool {
    actor.may(&[Role::SystemAdmin])
        || (actor.may(&[Role::InstituteAdmin]) && actor.principal().is_none_or(|p| p.organisation_id == lab))
}

pub async fn keys_of(actor: &Actor, db: &DatabaseConnection, lab: i32) -> Result<(Vec<KeyView>, bool)> {
    actor.require_login()?;
    if !actor.sees_organisation(lab) {
        return Err(Error::NotFound { what: "laboratory" });
    }
    let keys = q::keys_of(db, lab)
        .await?
        .into_iter()
        .map(|k| KeyView {
            key_id: k.key_id,
            public_key: k.public_key,
            created_at: k.created_at,
            retired_at: k.retired_at,
        })
        .collect();
    Ok((keys, may_rotate(actor, lab)))
}

/// Retires the laboratory's signing key and makes a new one (its private half in a 0600
/// file under the data directory). Old public keys stay, so every certificate issued
/// before still verifies. Audited with both key ids.
/// Re-seals every laboratory's signing key under a new key-encryption key, in one
/// transaction (the operator's; audited). Every key must open under the current one
/// first. Returns how many keys were re-sealed; the operator then gives every instance
/// the new key-encryption key.
pub async fn rotate_kek(
    actor: &Actor,
    db: &DatabaseConnection,
    keys: &KeyStore,
    new: &super::keys::Kek,
    now: DateTime<Utc>,
) -> Result<usize> {
    if !actor.is_system() {
        return Err(actor.forbidden());
    }
    let txn = crate::store::begin(db).await?;
    let n = keys.reseal(&txn, new).await?;
    let mut changes = super::audit::Changes::new();
    changes.set("kek_id", keys.kek_id().into(), new.id().into());
    changes.note("keys", n.into());
    super::audit::record(
        &txn,
        actor,
        now,
        super::audit::Entry {
            action: "keys.rotate_kek",
            entity_type: "lab_keys",
            entity_id: "all".into(),
            changes,
        },
    )
    .await?;
    txn.commit().await?;
    Ok(n)
}

pub async fn rotate_key(
    actor: &Actor,
    db: &DatabaseConnection,
    keys: &KeyStore,
    lab: i32,
    now: DateTime<Utc>,
) -> Result<String> {
    actor.require_login()?;
    if !actor.sees_organisation(lab) {
        return Err(Error::NotFound { what: "laboratory" });
    }
    crate::store::organisations::organisations_by_ids(db, &[lab])
        .await?
        .remove(&lab)
        .ok_or(Error::NotFound { what: "laboratory" })?;
    if !may_rotate(actor, lab) {
        return Err(actor.forbidden());
    }
    let txn = crate::store::begin(db).await?;
    let old = q::active_key(&txn, lab).await?.map(|k| k.key_id);
    let new = keys.rotate(&txn, lab, now).await?;
    let mut changes = super::audit::Changes::new();
    changes.set(
        "key_id",
        old.map_or(serde_json::Value::Null, Into::into),
        new.clone().into(),
    );
    super::audit::record(
        &txn,
        actor,
        now,
        super::audit::Entry {
            action: "certificate.key_rotate",
            entity_type: "organisation",
            entity_id: lab.to_string(),
            changes,
        },
    )
    .await?;
    txn.commit().await?;
    Ok(new)
}

/// A certificate's files as served: (file name, bytes).
pub async fn files(db: &DatabaseConnection, number: &str) -> Result<Vec<(String, Vec<u8>)>> {
    let c = q::by_number(db, number)
        .await?
        .ok_or(Error::NotFound { what: "certificate" })?;
    let mut out = vec![(format!("{}.xml", safe_name(&c.number)), c.dcc.into_bytes())];
    if let Some(pdf) = c.pdf {
        out.push((format!("{}.pdf", safe_name(&c.number)), pdf));
    }
    Ok(out)
}

/// A file name made of the certificate number's letters, digits and hyphens only.
pub fn safe_name(number: &str) -> String {
    number
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' })
        .collect()
}

// ---------------------------------------------------------------- the portal

/// A certificate in a list or on its page (without its files).
#[derive(Debug, Clone, Serialize)]
pub struct CertificateView {
    pub number: String,
    pub kind: String,
    pub revision: i32,
    pub status: String,
    pub status_reason: String,
    pub reason: String,
    pub lab_id: i32,
    pub customer_id: i32,
    pub lab: String,
    pub customer: String,
    pub item: String,
    pub calibrated_on: Option<NaiveDate>,
    pub issued_on: Option<NaiveDate>,
    pub valid_until: Option<NaiveDate>,
    pub decision: Option<String>,
    pub token: String,
    pub has_pdf: bool,
    pub dcc_sha256: String,
    pub replaces: Option<String>,
    pub superseded_by: Option<String>,
    /// Whether the caller may open its amendment (a technician or an approver of the
    /// issuing laboratory, while it is current).
    pub may_amend: bool,
    /// The reader is an approver of the issuing laboratory and it is current.
    pub may_withdraw: bool,
    /// Whether the caller administers the issuing laboratory (and is shown what is wrong
    /// with how the server issues its certificates, such as a QR code's address).
    pub lab_admin: bool,
}

fn view(c: &certificate::Model) -> CertificateView {
    let s: Option<Snapshot> = serde_json::from_str(&c.snapshot).ok();
    CertificateView {
        number: c.number.clone(),
        kind: c.kind.clone(),
        revision: c.revision,
        status: c.status.clone(),
        status_reason: c.status_reason.clone(),
        reason: c.reason.clone(),
        lab_id: c.lab_id,
        customer_id: c.customer_id,
        lab: s.as_ref().map(|s| s.lab.name.zh.clone()).unwrap_or_default(),
        customer: s.as_ref().map(|s| s.customer.name.zh.clone()).unwrap_or_default(),
        item: s
            .as_ref()
            .map(|s| format!("{} {} {}", s.item.name.zh, s.item.model, s.item.serial))
            .unwrap_or_default(),
        calibrated_on: s.as_ref().map(|s| s.calibrated_on),
        issued_on: s.as_ref().map(|s| s.issued_on),
        valid_until: s.as_ref().and_then(|s| s.valid_until),
        decision: s.as_ref().and_then(|s| s.decision.clone()),
        token: c.token.clone(),
        has_pdf: c.pdf_sha256.is_some(),
        dcc_sha256: c.dcc_sha256.clone(),
        replaces: s.as_ref().and_then(|s| s.replaces.clone()),
        superseded_by: None,
        may_amend: false,
        may_withdraw: false,
        lab_admin: false,
    }
}

/// Who sees a certificate: the customer's users, the issuing laboratory's staff, and
/// those who oversee the province. Everyone else is told it does not exist.
fn sees(actor: &Actor, c: &certificate::Model) -> bool {
    actor.sees_organisation(c.customer_id) || actor.sees_organisation(c.lab_id)
}

#[derive(Debug, Clone, Serialize)]
pub struct CertificateList {
    pub total: u64,
    pub offset: u64,
    pub limit: u64,
    pub q: String,
    pub certificates: Vec<CertificateView>,
}

pub const MAX_PAGE: u64 = 200;

/// The certificates the actor may see: an enterprise its own organisation's, a
/// laboratory those it issued, the regulator all; `q` searches number, item and names.
pub async fn list(
    actor: &Actor,
    db: &DatabaseConnection,
    q_text: &str,
    offset: u64,
    limit: u64,
) -> Result<CertificateList> {
    let p = actor.require_login()?;
    if limit == 0 || limit > MAX_PAGE {
        return Err(Error::field(
            "limit",
            "page.limit_invalid",
            format!("from 1 to {MAX_PAGE}"),
        ));
    }
    let q_text = q_text.trim();
    if q_text.chars().count() > 100 {
        return Err(Error::field("q", "field.too_long", "at most 100 characters"));
    }
    let (customer, lab) = match p {
        _ if actor.oversees() => (None, None),
        Some(p) if p.roles.has(Role::Enterprise) => (Some(p.organisation_id), None),
        Some(p) => (None, Some(p.organisation_id)),
        None => (None, None),
    };
    let (rows, total) = q::list(db, customer, lab, Some(q_text), offset, limit).await?;
    Ok(CertificateList {
        total,
        offset,
        limit,
        q: q_text.to_owned(),
        certificates: rows.iter().map(view).collect(),
    })
}

/// One certificate's page, for those who may see it.
pub async fn get(actor: &Actor, db: &DatabaseConnection, number: &str) -> Result<(CertificateView, Snapshot)> {
    let c = served(actor, db, number).await?;
    let mut v = view(&c);
    v.superseded_by = q::replacement_of(db, c.id).await?.map(|r| r.number);
    let own = actor.principal().is_some_and(|p| p.organisation_id == c.lab_id);
    let current = c.status == CertificateStatus::Issued.as_str();
    v.may_amend = current && own && actor.may(AMENDERS);
    v.may_withdraw = current && own && actor.may(ISSUERS);
    v.lab_admin =
        actor.may(&[Role::InstituteAdmin]) && actor.principal().is_some_and(|p| p.organisation_id == c.lab_id);
    let s: Snapshot = serde_json::from_str(&c.snapshot).map_err(|e| Error::Internal(e.to_string()))?;
    Ok((v, s))
}

/// A certificate's file as issued, for those who may see it: `dcc` or `pdf`.
pub async fn download(actor: &Actor, db: &DatabaseConnection, number: &str, file: &str) -> Result<(String, Vec<u8>)> {
    let c = served(actor, db, number).await?;
    match file {
        "dcc" => Ok((format!("{}.xml", safe_name(&c.number)), c.dcc.into_bytes())),
        "pdf" => c
            .pdf
            .map(|p| (format!("{}.pdf", safe_name(&c.number)), p))
            .ok_or(Error::NotFound { what: "PDF" }),
        _ => Err(Error::NotFound { what: "file" }),
    }
}

/// The most certificates one ZIP holds.
pub const MAX_ZIP: usize = 200;

/// Several certificates' files in one ZIP. Every number must be one the actor may see:
/// one that is not makes the whole request 404, so nothing tells which exist.
pub async fn zip(actor: &Actor, db: &DatabaseConnection, numbers: &[String]) -> Result<Vec<u8>> {
    use std::io::Write;
    actor.require_login()?;
    if numbers.is_empty() || numbers.len() > MAX_ZIP {
        return Err(Error::field(
            "number",
            "certificate.zip_count",
            format!("choose from 1 to {MAX_ZIP} certificates"),
        ));
    }
    let mut named = std::collections::HashSet::new();
    for n in numbers {
        if !named.insert(safe_name(n.trim())) {
            return Err(Error::field(
                "number",
                "certificate.zip_duplicate",
                format!("{n} is chosen twice; choose each certificate once"),
            ));
        }
    }
    let mut files = Vec::new();
    for n in numbers {
        let c = served(actor, db, n).await?;
        files.push((format!("{}.xml", safe_name(&c.number)), c.dcc.into_bytes()));
        if let Some(p) = c.pdf {
            files.push((format!("{}.pdf", safe_name(&c.number)), p));
        }
    }
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in files {
        w.start_file(name, options)
            .and_then(|_| w.write_all(&bytes).map_err(Into::into))
            .map_err(|e| Error::Internal(format!("zip: {e}")))?;
    }
    Ok(w.finish()
        .map_err(|e| Error::Internal(format!("zip: {e}")))?
        .into_inner())
}

// ---------------------------------------------------------------- the demo set

/// The address a certificate prints for an organisation: its street address, or where
/// none is kept yet, the province, so that the line is never empty.
pub fn party_address(o: &crate::store::entities::organisation::Model) -> String {
    match o.address.trim() {
        "" => "广东省".into(),
        a => a.to_owned(),
    }
}

/// The snapshot a record's certificate freezes: the laboratory and the customer as they
/// print, the item, the standards used with the calibration each was traceable through
/// on the day, the points in the units they were entered in and rounded to their U
/// (JJF 1059.1-2012 §7.4), the item's decision and the signatures. Returns the decision
/// too, for the calibration the certificate records.
pub(crate) async fn record_snapshot(
    db: &impl sea_orm::ConnectionTrait,
    content: &super::records::RecordContent<'_>,
    today: NaiveDate,
) -> Result<(Snapshot, Option<Decision>)> {
    let (r, w, points, standard_ids, signatures) = (
        content.record,
        content.work_order,
        content.points,
        content.standards,
        content.signatures,
    );
    use crate::domain::certificates::{self as cert, Bilingual};
    use crate::domain::units::{from_si, QuantityKind};
    use crate::store::records as q;
    let orgs = crate::store::organisations::organisations_by_ids(db, &[w.lab_id, w.owner_id]).await?;
    let party = |id: i32| {
        orgs.get(&id)
            .map(|o| cert::Party {
                name: Bilingual {
                    zh: o.name_zh.clone(),
                    en: o.name_en.clone(),
                },
                address: party_address(o),
                code: o.code.clone(),
            })
            .unwrap_or_default()
    };
    let lab_rounding = orgs
        .get(&w.lab_id)
        .and_then(|o| crate::domain::numbers::Rounding::parse(&o.u_rounding))
        .unwrap_or(crate::domain::numbers::Rounding::HalfEven);
    let item = match w.item_kind.as_str() {
        "instrument" => q::instrument_by_id(db, w.item_id).await?.map(|i| cert::Item {
            name: Bilingual {
                zh: i.name.clone(),
                en: i.name.clone(),
            },
            manufacturer: i.manufacturer,
            model: i.model,
            serial: i.serial,
        }),
        "device" => q::device_by_id(db, w.item_id).await?.map(|d| cert::Item {
            name: Bilingual {
                zh: d.name.clone(),
                en: d.name.clone(),
            },
            manufacturer: d.manufacturer,
            model: d.model,
            serial: d.serial,
        }),
        _ => None,
    }
    .unwrap_or_else(|| cert::Item {
        name: Bilingual {
            zh: w.label.clone(),
            en: w.label.clone(),
        },
        manufacturer: String::new(),
        model: String::new(),
        serial: format!("{}-{}", w.item_kind, w.item_id),
    });
    let k = QuantityKind::parse(&r.quantity).ok_or_else(|| Error::Internal("record without a quantity".into()))?;
    let d = k.difference_kind();
    // Back in the unit entered, to 12 significant digits: the conversion through SI must
    // not print 20.100000000000023 °C for 20.1 °C.
    let val = |kind: QuantityKind, si: f64, unit: &str| cert::Value {
        value: crate::domain::units::round_sig(from_si(kind, unit, si).unwrap_or(si), 12),
        unit: unit.to_owned(),
    };
    let mut used = Vec::new();
    for id in standard_ids {
        let Some(s) = crate::store::standards::standard_by_id(db, *id).await? else {
            continue;
        };
        let c = q::valid_calibration(db, s.id, r.calibrated_on).await?;
        used.push(cert::StandardUsed {
            name: Bilingual {
                zh: s.name_zh.clone(),
                en: s.name_en.clone(),
            },
            serial: String::new(),
            certificate_no: c.as_ref().map(|c| c.certificate_no.clone()).unwrap_or_default(),
            valid_until: c.as_ref().map_or(s.cert_expires_on, |c| c.valid_until),
            assessment_no: s.cert_no.clone(),
            calibrated_by: match c.as_ref().and_then(|c| c.lab_id.or(c.provider_id)) {
                Some(id) => crate::store::organisations::organisations_by_ids(db, &[id])
                    .await?
                    .remove(&id)
                    .map(|o| match o.name_en.as_str() {
                        "" => o.name_zh,
                        en => format!("{} / {en}", o.name_zh),
                    })
                    .unwrap_or_default(),
                None => String::new(),
            },
        });
    }
    let decisions: Vec<Decision> = points
        .iter()
        .filter_map(|p| p.decision.as_deref().and_then(Decision::parse))
        .collect();
    let verdict = cert::item_decision(decisions.iter().copied());
    let kind = match (r.kind.as_str(), verdict) {
        ("verification", Some(Decision::Pass)) => CertificateKind::Verification,
        ("verification", _) => CertificateKind::VerificationNotice,
        _ => CertificateKind::Calibration,
    };
    let mut snapshot = Snapshot {
        number: String::new(),
        kind: kind.as_str().into(),
        revision: 1,
        replaces: None,
        amendment_reason: None,
        lab: party(w.lab_id),
        customer: party(w.owner_id),
        item,
        method: r.method.clone(),
        received_on: r.received_on,
        calibrated_on: r.calibrated_on,
        issued_on: today,
        valid_until: (kind == CertificateKind::Verification)
            .then(|| crate::domain::schedule::valid_until(r.calibrated_on, super::records::interval_of(r))),
        interval_months: r.interval_months.map(|m| m as u32),
        environment: cert::Environment {
            temperature: val(QuantityKind::Temperature, r.temperature_si, &r.temperature_unit),
            humidity: cert::Value {
                value: r.humidity_percent,
                unit: "%".into(),
            },
        },
        standards: used,
        points: points
            .iter()
            .map(|p| {
                let readings: Vec<String> = serde_json::from_str(&p.readings).unwrap_or_default();
                let u = val(d, p.u_si, &p.u_unit);
                // The laboratory's rounding of U; a U raised to the CMC is rounded up, so
                // that it never prints below it.
                let round = match lab_rounding.for_u(p.raised_to_cmc) {
                    crate::domain::numbers::Rounding::Up => cert::round_to_u_up,
                    crate::domain::numbers::Rounding::HalfEven => cert::round_to_u,
                };
                let (error, u_stated) = round(val(d, p.error_si, &p.u_unit).value, u.value);
                let left = p.as_left_error_si.map(|a| {
                    let v = val(d, a, &p.u_unit);
                    cert::Value {
                        value: cert::round_to_u(v.value, u.value).0,
                        unit: v.unit,
                    }
                });
                cert::Point {
                    nominal: val(k, p.nominal_si, &p.unit),
                    reference: val(k, p.reference_si, &p.unit),
                    readings: readings.iter().filter_map(|r| r.parse().ok()).collect(),
                    error: cert::Value {
                        value: error,
                        unit: p.u_unit.clone(),
                    },
                    u: cert::Value {
                        value: u_stated,
                        unit: p.u_unit.clone(),
                    },
                    k: p.k,
                    p: p.p,
                    raised_to_cmc: p.raised_to_cmc,
                    mpe: p.mpe_si.map(|m| val(d, m, &p.u_unit)),
                    decision: p.decision.clone(),
                    as_left_error: left,
                    nominal_text: p.nominal_text.clone(),
                    reference_text: p.reference_text.clone(),
                    limits_text: p.limits_text.clone(),
                    lower_limit: p.lower_limit_si.map(|m| val(d, m, &p.u_unit)),
                    upper_limit: p.upper_limit_si.map(|m| val(d, m, &p.u_unit)),
                }
            })
            .collect(),
        decision_rule: Some(r.decision_rule.clone()),
        guard_multiple: matches!(
            crate::domain::conformity::DecisionRule::parse(&r.decision_rule),
            Some(crate::domain::conformity::DecisionRule::Guarded | crate::domain::conformity::DecisionRule::NonBinary)
        )
        .then_some(r.guard_multiple),
        decision: verdict.map(|v| v.as_str().to_owned()),
        adjusted: r.adjusted,
        condition_on_receipt: r.condition_on_receipt.clone(),
        on_site: r.on_site,
        signatures: signatures
            .iter()
            .map(|s| cert::Signature {
                name: s.name.clone(),
                role: s.role.clone(),
                meaning: s.meaning.clone(),
                signed_at: s.signed_at,
                content_sha256: s.content_sha256.clone(),
            })
            .collect(),
    };
    // An amendment's corrections to how the item and the customer print.
    if let Some(print) = r
        .print_changes
        .as_deref()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(t).ok())
    {
        let mut v = serde_json::to_value(&snapshot).map_err(|e| Error::Internal(e.to_string()))?;
        crate::domain::records::amendment::apply_print_changes(&mut v, &print);
        snapshot = serde_json::from_value(v).map_err(|e| Error::Internal(e.to_string()))?;
    }
    Ok((snapshot, verdict))
}
