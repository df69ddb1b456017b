//! Accounts: users, login and sessions, password changes, API tokens.
//!
//! Passwords are hashed with argon2id (RFC 9106) at the argon2 crate's defaults
//! (m = 19 MiB, t = 2, p = 1: the OWASP recommendation). Session secrets and API tokens
//! are 256-bit random values; being unguessable, they are stored as plain SHA-256,
//! which lets a lookup use an index.

use super::audit::{self, Changes, Entry};
use super::{random_hex, Actor, Error, Principal, Result, Who};
use crate::domain::accounts::{check_password, normalise_email, Role, Roles};
use crate::domain::register::OrgKind;
use crate::domain::{self};
use crate::store::accounts::{self as q, Credential};
use crate::store::entities::{api_token, organisation, user};
use crate::store::{organisations, reference};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use chrono::{DateTime, Duration, Utc};
use sea_orm::{ActiveValue::Set, ConnectionTrait, DatabaseConnection};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// A session ends after this long without a request.
pub const IDLE_TIMEOUT: Duration = Duration::minutes(30);
/// `last_seen_at` is written at most this often, so a page view costs no write.
const TOUCH_EVERY: Duration = Duration::seconds(60);
/// Failed logins are counted within this window (docs/security.md, "Logins").
pub const THROTTLE_WINDOW: Duration = Duration::minutes(15);
/// Failures for one account from one client address before that pair is refused.
pub const MAX_FAILURES_PER_ACCOUNT: u64 = 10;
/// Failures from one client address, over every account, before it is refused. Higher,
/// as several people may share an office's address.
pub const MAX_FAILURES_PER_CLIENT: u64 = 30;
/// The longest a login waits when its account is being guessed at from elsewhere.
pub const MAX_GUESSING_DELAY: std::time::Duration = std::time::Duration::from_secs(5);

/// The throttling decision for an attempt (docs/security.md): a pair (account,
/// address) or an address past its limit is refused until the window has passed; an
/// account that other addresses are guessing at is not locked, which would let anyone
/// lock anyone out, but each attempt on it waits a little longer (half a second per
/// failure past the limit, at most [`MAX_GUESSING_DELAY`]) before the password is
/// checked, and the right password still gets in.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Throttle {
    Pair,
    Client,
    Delay(std::time::Duration),
    Open,
}

fn throttle(f: q::Failures) -> Throttle {
    if f.pair >= MAX_FAILURES_PER_ACCOUNT {
        Throttle::Pair
    } else if f.client >= MAX_FAILURES_PER_CLIENT {
        Throttle::Client
    } else if f.account >= MAX_FAILURES_PER_ACCOUNT {
        let past = (f.account + 1 - MAX_FAILURES_PER_ACCOUNT) as u32;
        Throttle::Delay((std::time::Duration::from_millis(500) * past).min(MAX_GUESSING_DELAY))
    } else {
        Throttle::Open
    }
}

/// Longest e-mail address (RFC 5321 §4.5.3.1 path limit less the brackets).
pub const MAX_EMAIL_CHARS: usize = 254;

/// What the trail keeps of a typed e-mail address: the address when it is of a
/// plausible length, else its first 64 characters and its length, so that an anonymous
/// visitor cannot grow the append-only trail with what they type.
fn typed_email(email: &str) -> String {
    if email.chars().count() <= MAX_EMAIL_CHARS {
        email.to_owned()
    } else {
        let head: String = email.chars().take(64).collect();
        format!("{head}… ({} characters)", email.chars().count())
    }
}
/// API tokens start with this, so that secret scanners and people recognise them.
pub const TOKEN_PREFIX: &str = "mtc_";

pub fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

fn salt() -> SaltString {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    SaltString::encode_b64(&bytes).expect("16 bytes is a valid salt")
}

/// Hashes a password with argon2id, off the async threads.
pub async fn hash_password(password: &str) -> Result<String> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes(), &salt())
            .map(|h| h.to_string())
            .map_err(|e| Error::Internal(format!("password hashing failed: {e}")))
    })
    .await
    .map_err(|e| Error::Internal(e.to_string()))?
}

/// A hash of a password nobody has, checked when the account does not exist, so an
/// unknown e-mail address takes as long to refuse as a wrong password.
static DUMMY_HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();

async fn verify_password(stored: Option<&str>, password: &str) -> bool {
    let stored = match stored {
        Some(s) => s.to_owned(),
        None => DUMMY_HASH
            .get_or_init(|| {
                Argon2::default()
                    .hash_password(b"no account has this password", &salt())
                    .expect("hashing works")
                    .to_string()
            })
            .clone(),
    };
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&stored)
            .map(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

fn principal(c: Credential, session_id: Option<i32>) -> Principal {
    Principal {
        user_id: c.user_id,
        roles: Roles::parse("roles", &c.roles).unwrap_or_default(),
        email: c.email,
        name: c.name,
        organisation_id: c.organisation_id,
        organisation_name: c.organisation_name,
        session_id,
        must_change_password: c.must_change_password,
    }
}

/// A new user, as typed.
#[derive(Debug, Default, Clone)]
pub struct NewUser {
    pub email: String,
    pub name: String,
    /// The organisation's code (unified social credit code) or id.
    pub organisation: String,
    pub roles: String,
    pub password: String,
    /// Issued by someone else: the user must choose their own at first login.
    pub one_time: bool,
}

fn user_fields(u: &user::Model, org_code: &str) -> BTreeMap<&'static str, String> {
    BTreeMap::from([
        ("email", u.email.clone()),
        ("name", u.name.clone()),
        ("organisation", org_code.to_owned()),
        ("roles", u.roles.clone()),
        ("disabled_at", u.disabled_at.map(|t| t.to_rfc3339()).unwrap_or_default()),
    ])
}

async fn organisation_named<C: ConnectionTrait>(db: &C, text: &str) -> Result<Option<organisation::Model>> {
    let t = text.trim();
    Ok(match t.parse::<i32>() {
        Ok(id) if t.len() < 10 => organisations::organisation_by_id(db, id).await?,
        _ => organisations::organisation_by_code(db, &t.to_ascii_uppercase()).await?,
    })
}

/// Adds a user. System admins add anyone anywhere; an institute admin adds staff to
/// their own organisation only (whatever organisation the request names).
/// The roles an institute admin grants and manages: a laboratory's own staff. A system
/// admin or a regulator of the same organisation is above them.
const STAFF_ROLES: [Role; 5] = [
    Role::InstituteAdmin,
    Role::Scheduler,
    Role::Technician,
    Role::Reviewer,
    Role::Approver,
];

pub async fn add_user(
    actor: &Actor,
    db: &DatabaseConnection,
    input: &NewUser,
    now: DateTime<Utc>,
) -> Result<user::Model> {
    let staff_roles = STAFF_ROLES;
    let forced_org = if actor.may(&[Role::SystemAdmin]) {
        None
    } else if actor.may(&[Role::InstituteAdmin]) {
        actor.principal().map(|p| p.organisation_id)
    } else {
        return Err(actor.forbidden());
    };
    let mut errors = Vec::new();
    let email = normalise_email("email", &input.email).map_err(|e| errors.push(e)).ok();
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        errors.push(domain::Error::new(
            "name",
            "user.name_required",
            "a name of 1 to 200 characters is required",
        ));
    }
    let roles = Roles::parse("roles", &input.roles).map_err(|e| errors.push(e)).ok();
    if let Err(e) = check_password("password", &input.password, &input.email) {
        errors.push(e);
    }
    let org = match forced_org {
        Some(id) => organisations::organisation_by_id(db, id).await?,
        None => organisation_named(db, &input.organisation).await?,
    };
    match (&org, &roles) {
        (None, _) => errors.push(domain::Error::new(
            "organisation",
            "user.organisation_unknown",
            format!("no organisation with code or id '{}'", input.organisation.trim()),
        )),
        (Some(o), Some(r)) => {
            if let Err(e) = r.check_fit("roles", OrgKind::parse(&o.kind).unwrap_or(OrgKind::Enterprise)) {
                errors.push(e);
            }
            if forced_org.is_some() && r.iter().any(|x| !staff_roles.contains(&x)) {
                errors.push(domain::Error::new(
                    "roles",
                    "user.role_not_grantable",
                    "an institute admin grants only the roles institute_admin, scheduler, technician, reviewer and approver",
                ));
            }
        }
        _ => {}
    }
    if !errors.is_empty() {
        return Err(Error::invalid(errors));
    }
    let (email, roles, org) = (email.expect("checked"), roles.expect("checked"), org.expect("checked"));
    let password_hash = hash_password(&input.password).await?;
    let txn = crate::store::begin(db).await?;
    if q::user_by_email(&txn, &email).await?.is_some() {
        return Err(Error::Conflict {
            code: "user.email_taken",
            message: format!("{email} already has an account"),
            fields: vec![domain::Error::new(
                "email",
                "user.email_taken",
                "this e-mail address already has an account",
            )],
        });
    }
    let u = q::insert_user(
        &txn,
        user::ActiveModel {
            organisation_id: Set(org.id),
            email: Set(email),
            name: Set(name.to_owned()),
            roles: Set(roles.as_stored()),
            password_hash: Set(password_hash),
            must_change_password: Set(input.one_time),
            disabled_at: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        },
    )
    .await?;
    audit::record(
        &txn,
        actor,
        now,
        Entry {
            action: "user.create",
            entity_type: "user",
            entity_id: u.id.to_string(),
            changes: Changes::created(&user_fields(&u, &org.code)),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(u)
}

/// Disables an account: its sessions end and its tokens stop working.
pub async fn disable_user(actor: &Actor, db: &DatabaseConnection, email: &str, now: DateTime<Utc>) -> Result<()> {
    let email = normalise_email("email", email).map_err(|e| Error::invalid(vec![e]))?;
    let txn = crate::store::begin(db).await?;
    let u = q::user_by_email(&txn, &email)
        .await?
        .ok_or(Error::NotFound { what: "user" })?;
    // An institute admin disables their own laboratory's staff, never an account that
    // holds a role they cannot grant (a system admin or regulator of the same organisation).
    let staff_only = Roles::parse("roles", &u.roles).is_ok_and(|r| r.iter().all(|x| STAFF_ROLES.contains(&x)));
    let allowed = actor.may(&[Role::SystemAdmin])
        || (actor.may(&[Role::InstituteAdmin])
            && staff_only
            && actor
                .principal()
                .is_some_and(|p| p.organisation_id == u.organisation_id));
    if !allowed {
        return Err(if actor.sees_organisation(u.organisation_id) {
            actor.forbidden()
        } else {
            Error::NotFound { what: "user" }
        });
    }
    if u.disabled_at.is_some() {
        return Ok(());
    }
    let mut row: user::ActiveModel = u.clone().into();
    row.disabled_at = Set(Some(now));
    row.updated_at = Set(now);
    q::update_user(&txn, row).await?;
    q::delete_sessions_of(&txn, u.id).await?;
    let mut changes = Changes::new();
    changes.set("disabled_at", serde_json::Value::Null, now.to_rfc3339().into());
    audit::record(
        &txn,
        actor,
        now,
        Entry {
            action: "user.disable",
            entity_type: "user",
            entity_id: u.id.to_string(),
            changes,
        },
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// A successful login: the new session's secret (for the cookie), and whether the
/// user must first replace a one-time password.
pub struct LoggedIn {
    pub session_secret: String,
    pub must_change_password: bool,
}

/// Logs in. Throttled per account and per client address; every attempt is audited
/// (`login`, `login.failed`, `login.throttled`) in the transaction that records it.
/// The previous session of this browser, if any, is ended: a login always starts a
/// new session (no session fixation).
pub async fn login(
    db: &DatabaseConnection,
    email: &str,
    password: &str,
    client_addr: &str,
    previous_session: Option<&str>,
    request_id: &str,
    now: DateTime<Utc>,
) -> Result<LoggedIn> {
    // As accounts are named (NFKC, lower case); what cannot be a login name is still
    // counted and kept, in part, as typed.
    let email =
        crate::domain::accounts::normalise_email("email", email).unwrap_or_else(|_| email.trim().to_lowercase());
    let since = now - THROTTLE_WINDOW;
    // An address longer than any account's is no account's: it is checked against
    // nothing and stored only in part.
    let email = if email.chars().count() > MAX_EMAIL_CHARS {
        typed_email(&email)
    } else {
        email
    };
    let failures = q::recent_failures(db, &email, client_addr, since).await?;
    let found = q::user_by_email(db, &email).await?;
    let who = found.as_ref().map(|u| (u.id, u.email.as_str(), u.organisation_id));
    let attempt = |action: &'static str, reason: &str| {
        let mut changes = Changes::new();
        changes.note("email", email.clone().into());
        changes.note("client", client_addr.into());
        if !reason.is_empty() {
            changes.note("reason", reason.into());
        }
        Entry {
            action,
            entity_type: "user",
            entity_id: found.as_ref().map(|u| u.id.to_string()).unwrap_or_default(),
            changes,
        }
    };

    match throttle(failures) {
        refused @ (Throttle::Pair | Throttle::Client) => {
            let txn = crate::store::begin(db).await?;
            q::insert_login_attempt(&txn, &email, client_addr, now, false).await?;
            let (reason, retry_at) = if refused == Throttle::Pair {
                let oldest = q::oldest_failure_since(&txn, &email, client_addr, since)
                    .await?
                    .unwrap_or(now);
                ("account from this address", oldest + THROTTLE_WINDOW)
            } else {
                ("client address", now + THROTTLE_WINDOW)
            };
            // The person trying is not known: the attempt is on the account, not by it.
            audit::record_for_user(&txn, None, request_id, now, attempt("login.throttled", reason)).await?;
            txn.commit().await?;
            return Err(Error::Throttled { retry_at });
        }
        Throttle::Delay(wait) => tokio::time::sleep(wait).await,
        Throttle::Open => {}
    }

    let active = found.as_ref().filter(|u| u.disabled_at.is_none());
    let ok = verify_password(active.map(|u| u.password_hash.as_str()), password).await;
    let txn = crate::store::begin(db).await?;
    q::insert_login_attempt(&txn, &email, client_addr, now, ok).await?;
    if !ok {
        let reason = match (&found, active) {
            (None, _) => "no such account",
            (Some(_), None) => "account disabled",
            _ => "wrong password",
        };
        audit::record_for_user(&txn, None, request_id, now, attempt("login.failed", reason)).await?;
        txn.commit().await?;
        return Err(Error::field(
            "password",
            "login.failed",
            "the e-mail address or the password is wrong",
        ));
    }
    let u = found.clone().expect("checked");
    if let Some(old) = previous_session {
        if let Some(c) = q::session_credential(&txn, &sha256_hex(old)).await? {
            q::delete_session(&txn, c.credential_id).await?;
        }
    }
    q::delete_idle_sessions(&txn, now - IDLE_TIMEOUT).await?;
    q::prune_login_attempts(&txn, now - Duration::days(1)).await?;
    let secret = random_hex(32);
    q::insert_session(
        &txn,
        crate::store::entities::session::ActiveModel {
            user_id: Set(u.id),
            token_hash: Set(sha256_hex(&secret)),
            client_addr: Set(client_addr.to_owned()),
            created_at: Set(now),
            last_seen_at: Set(now),
            ..Default::default()
        },
    )
    .await?;
    audit::record_for_user(&txn, who, request_id, now, attempt("login", "")).await?;
    txn.commit().await?;
    Ok(LoggedIn {
        session_secret: secret,
        must_change_password: u.must_change_password,
    })
}

/// Why a session cookie did not give a user.
#[derive(Debug, PartialEq, Eq)]
pub enum SessionState {
    Unknown,
    Expired,
}

/// The user behind a session cookie. A session idle for 30 minutes is deleted; a
/// disabled user's sessions are not honoured.
pub async fn session_user(
    db: &DatabaseConnection,
    secret: &str,
    now: DateTime<Utc>,
) -> Result<std::result::Result<Principal, SessionState>> {
    let Some(c) = q::session_credential(db, &sha256_hex(secret)).await? else {
        return Ok(Err(SessionState::Unknown));
    };
    let session_id = c.credential_id;
    let last_seen = c.seen_at.unwrap_or(now);
    if c.disabled_at.is_some() {
        q::delete_session(db, session_id).await?;
        return Ok(Err(SessionState::Unknown));
    }
    if now - last_seen > IDLE_TIMEOUT {
        q::delete_session(db, session_id).await?;
        return Ok(Err(SessionState::Expired));
    }
    if now - last_seen > TOUCH_EVERY {
        q::touch_session(db, session_id, now).await?;
    }
    Ok(Ok(principal(c, Some(session_id))))
}

/// Ends the actor's session on the server, so the cookie is worthless even if kept.
pub async fn logout(actor: &Actor, db: &DatabaseConnection, now: DateTime<Utc>) -> Result<()> {
    let Some(p) = actor.principal() else { return Ok(()) };
    let Some(session_id) = p.session_id else { return Ok(()) };
    let txn = crate::store::begin(db).await?;
    if q::delete_session(&txn, session_id).await? > 0 {
        audit::record(
            &txn,
            actor,
            now,
            Entry {
                action: "logout",
                entity_type: "user",
                entity_id: p.user_id.to_string(),
                changes: Changes::new(),
            },
        )
        .await?;
    }
    txn.commit().await?;
    Ok(())
}

/// Checks the actor's password again before a signing action. A wrong password counts
/// as a failed login for throttling and is audited.
pub async fn confirm_password(
    actor: &Actor,
    db: &DatabaseConnection,
    password: &str,
    client_addr: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let Some(p) = actor.principal() else {
        // The operator at the machine signs with the machine's keys, not a password.
        return if actor.is_system() {
            Ok(())
        } else {
            Err(Error::Unauthenticated)
        };
    };
    let since = now - THROTTLE_WINDOW;
    match throttle(q::recent_failures(db, &p.email, client_addr, since).await?) {
        Throttle::Pair => {
            let oldest = q::oldest_failure_since(db, &p.email, client_addr, since)
                .await?
                .unwrap_or(now);
            return Err(Error::Throttled {
                retry_at: oldest + THROTTLE_WINDOW,
            });
        }
        Throttle::Client => {
            return Err(Error::Throttled {
                retry_at: now + THROTTLE_WINDOW,
            })
        }
        Throttle::Delay(wait) => tokio::time::sleep(wait).await,
        Throttle::Open => {}
    }
    let u = q::user_by_id(db, p.user_id).await?.ok_or(Error::Unauthenticated)?;
    if verify_password(Some(&u.password_hash), password).await {
        return Ok(());
    }
    let txn = crate::store::begin(db).await?;
    q::insert_login_attempt(&txn, &p.email, client_addr, now, false).await?;
    audit::record(
        &txn,
        actor,
        now,
        Entry {
            action: "reauth.failed",
            entity_type: "user",
            entity_id: p.user_id.to_string(),
            changes: Changes::new(),
        },
    )
    .await?;
    txn.commit().await?;
    Err(Error::field(
        "password",
        "reauth.failed",
        "the password is wrong; enter your own password to confirm",
    ))
}

/// Changes the actor's own password; every other session of theirs ends.
pub async fn change_password(
    actor: &Actor,
    db: &DatabaseConnection,
    current: &str,
    new: &str,
    client_addr: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let p = actor.principal().ok_or(Error::Unauthenticated)?;
    let mut errors = Vec::new();
    if let Err(e) = check_password("new_password", new, &p.email) {
        errors.push(e);
    }
    if current == new {
        errors.push(domain::Error::new(
            "new_password",
            "password.unchanged",
            "the new password must differ from the current one",
        ));
    }
    if !errors.is_empty() {
        return Err(Error::invalid(errors));
    }
    confirm_password(actor, db, current, client_addr, now)
        .await
        .map_err(|e| match e {
            Error::Invalid { .. } => Error::field("current_password", "reauth.failed", "the current password is wrong"),
            other => other,
        })?;
    let hash = hash_password(new).await?;
    let txn = crate::store::begin(db).await?;
    let u = q::user_by_id(&txn, p.user_id).await?.ok_or(Error::Unauthenticated)?;
    let mut row: user::ActiveModel = u.into();
    row.password_hash = Set(hash);
    row.must_change_password = Set(false);
    row.updated_at = Set(now);
    q::update_user(&txn, row).await?;
    // End every other session: whoever knew the old password is logged out.
    q::delete_sessions_of_except(&txn, p.user_id, p.session_id).await?;
    let mut changes = Changes::new();
    changes.note("password", "changed".into());
    audit::record(
        &txn,
        actor,
        now,
        Entry {
            action: "user.password_change",
            entity_type: "user",
            entity_id: p.user_id.to_string(),
            changes,
        },
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// A token as its owner sees it (never the secret, after creation).
#[derive(Debug, Serialize)]
pub struct TokenView {
    pub id: i32,
    pub name: String,
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

fn token_view(t: api_token::Model) -> TokenView {
    TokenView {
        id: t.id,
        name: t.name,
        prefix: t.prefix,
        created_at: t.created_at,
        last_used_at: t.last_used_at,
        revoked_at: t.revoked_at,
    }
}

/// Creates an API token for `email` (the operator, or the user themselves) and returns
/// it: this is the only time it is ever shown. A user confirms with their password;
/// an API token cannot create another.
pub async fn create_token(
    actor: &Actor,
    db: &DatabaseConnection,
    email: Option<&str>,
    name: &str,
    password: Option<(&str, &str)>,
    now: DateTime<Utc>,
) -> Result<(String, TokenView)> {
    let user = match (&actor.who, email) {
        (Who::System(_), Some(e)) => {
            let e = normalise_email("email", e).map_err(|e| Error::invalid(vec![e]))?;
            q::user_by_email(db, &e)
                .await?
                .ok_or(Error::NotFound { what: "user" })?
        }
        (Who::User(p), None) if p.session_id.is_some() => {
            if p.must_change_password {
                return Err(Error::PasswordChangeRequired);
            }
            let (pw, client) = password.unwrap_or(("", ""));
            confirm_password(actor, db, pw, client, now).await?;
            q::user_by_id(db, p.user_id).await?.ok_or(Error::Unauthenticated)?
        }
        (Who::Public, _) => return Err(Error::Unauthenticated),
        _ => return Err(Error::Forbidden),
    };
    if user.disabled_at.is_some() {
        return Err(Error::field("email", "user.disabled", "this account is disabled"));
    }
    let name = name.trim();
    if name.chars().count() > 100 {
        return Err(Error::field(
            "name",
            "token.name_too_long",
            "a token's name has at most 100 characters",
        ));
    }
    let name = if name.is_empty() { "API token" } else { name };
    let secret = format!("{TOKEN_PREFIX}{}", random_hex(32));
    let txn = crate::store::begin(db).await?;
    let t = q::insert_token(
        &txn,
        api_token::ActiveModel {
            user_id: Set(user.id),
            name: Set(name.to_owned()),
            token_hash: Set(sha256_hex(&secret)),
            prefix: Set(secret[..12].to_owned()),
            created_at: Set(now),
            ..Default::default()
        },
    )
    .await?;
    let mut changes = Changes::new();
    changes.note("user", user.email.clone().into());
    changes.note("name", t.name.clone().into());
    changes.note("prefix", t.prefix.clone().into());
    audit::record(
        &txn,
        actor,
        now,
        Entry {
            action: "token.create",
            entity_type: "api_token",
            entity_id: t.id.to_string(),
            changes,
        },
    )
    .await?;
    txn.commit().await?;
    Ok((secret, token_view(t)))
}

/// The actor's own tokens.
pub async fn tokens(actor: &Actor, db: &DatabaseConnection) -> Result<Vec<TokenView>> {
    let p = actor.principal().ok_or(Error::Unauthenticated)?;
    Ok(q::tokens_of(db, p.user_id).await?.into_iter().map(token_view).collect())
}

/// Revokes one of the actor's own tokens (a system admin may revoke anyone's).
pub async fn revoke_token(actor: &Actor, db: &DatabaseConnection, id: i32, now: DateTime<Utc>) -> Result<()> {
    actor.require_login()?;
    let txn = crate::store::begin(db).await?;
    let t = q::token_by_id(&txn, id)
        .await?
        .ok_or(Error::NotFound { what: "token" })?;
    let own = actor.principal().is_some_and(|p| p.user_id == t.user_id);
    if !own && !actor.may(&[Role::SystemAdmin]) {
        return Err(Error::NotFound { what: "token" });
    }
    if t.revoked_at.is_some() {
        return Ok(());
    }
    q::revoke_token(&txn, t.id, now).await?;
    let mut changes = Changes::new();
    changes.set("revoked_at", serde_json::Value::Null, now.to_rfc3339().into());
    audit::record(
        &txn,
        actor,
        now,
        Entry {
            action: "token.revoke",
            entity_type: "api_token",
            entity_id: t.id.to_string(),
            changes,
        },
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// The user behind a bearer token, if it is live and its user is enabled.
pub async fn token_user(db: &DatabaseConnection, token: &str, now: DateTime<Utc>) -> Result<Option<Principal>> {
    if !token.starts_with(TOKEN_PREFIX) || token.len() > 100 {
        return Ok(None);
    }
    let Some(c) = q::token_credential(db, &sha256_hex(token)).await? else {
        return Ok(None);
    };
    if c.disabled_at.is_some() {
        return Ok(None);
    }
    if c.seen_at.is_none_or(|at| now - at > TOUCH_EVERY) {
        q::touch_token(db, c.credential_id, now).await?;
    }
    Ok(Some(principal(c, None)))
}

/// The actor's own account, for the account page and `GET /api/v1/me`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Me {
    pub id: i32,
    pub email: String,
    pub name: String,
    pub organisation_id: i32,
    pub organisation: String,
    pub roles: Vec<String>,
    pub must_change_password: bool,
}

pub fn me(actor: &Actor) -> Result<Me> {
    let p = actor.principal().ok_or(Error::Unauthenticated)?;
    Ok(Me {
        id: p.user_id,
        email: p.email.clone(),
        name: p.name.clone(),
        organisation_id: p.organisation_id,
        organisation: p.organisation_name.clone(),
        roles: p.roles.iter().map(|r| r.as_str().to_owned()).collect(),
        must_change_password: p.must_change_password,
    })
}

/// One demo account and its one-time password.
pub struct DemoAccount {
    pub email: String,
    pub role: Role,
    pub organisation: String,
    pub password: String,
}

/// The regulator of the demo province (the data set's owners are institutes, centres
/// and enterprises; the regulator is added with the accounts).
const DEMO_REGULATOR_FIRST17: &str = "11440000MB0000001";

/// Who holds each demo role: (e-mail, role, organisation code).
const DEMO_ACCOUNTS: &[(&str, Role, &str)] = &[
    ("regulator@demo.metrocal.example", Role::Regulator, ""),
    ("admin@demo.metrocal.example", Role::SystemAdmin, ""),
    (
        "institute-admin@demo.metrocal.example",
        Role::InstituteAdmin,
        "124400001JA7N1F563",
    ),
    ("scheduler@demo.metrocal.example", Role::Scheduler, "124400001JA7N1F563"),
    (
        "technician@demo.metrocal.example",
        Role::Technician,
        "1244010002E6HRCU7H",
    ),
    ("reviewer@demo.metrocal.example", Role::Reviewer, "1244010002E6HRCU7H"),
    ("approver@demo.metrocal.example", Role::Approver, "1244010002E6HRCU7H"),
    (
        "enterprise@demo.metrocal.example",
        Role::Enterprise,
        "91440100KMJQMXMD0D",
    ),
];

/// A one-time password: 20 characters from an alphabet without look-alikes.
pub fn one_time_password() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut rng = rand::rng();
    (0..4)
        .map(|_| {
            (0..5)
                .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// On a database with no users, creates one demo account per role, each with a
/// one-time password that must be changed at first login. Returns the accounts so
/// the operator can be told how to log in; the passwords are stored only hashed.
pub async fn create_demo_accounts(db: &DatabaseConnection, now: DateTime<Utc>) -> Result<Vec<DemoAccount>> {
    if q::count_users(db).await? > 0 {
        return Ok(vec![]);
    }
    let check = crate::domain::codes::uscc_check_char(DEMO_REGULATOR_FIRST17).expect("valid first 17 characters");
    let regulator_code = format!("{DEMO_REGULATOR_FIRST17}{check}");
    if organisations::organisation_by_code(db, &regulator_code)
        .await?
        .is_none()
    {
        let province = reference::all_regions(db)
            .await?
            .into_iter()
            .find(|r| r.code == "440000");
        let row = organisation::ActiveModel {
            code: Set(regulator_code.clone()),
            kind: Set(OrgKind::Regulator.as_str().to_owned()),
            name_zh: Set("广东省市场监督管理局（示例）".into()),
            name_en: Set("Guangdong Administration for Market Regulation (sample)".into()),
            region_id: Set(province.map(|r| r.id)),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        };
        let txn = crate::store::begin(db).await?;
        let org = sea_orm::ActiveModelTrait::insert(row, &txn).await?;
        let operator = Actor::system("first start");
        audit::record(
            &txn,
            &operator,
            now,
            Entry {
                action: "organisation.create",
                entity_type: "organisation",
                entity_id: org.id.to_string(),
                changes: Changes::created(&BTreeMap::from([
                    ("code", org.code.clone()),
                    ("kind", org.kind.clone()),
                    ("name_zh", org.name_zh.clone()),
                ])),
            },
        )
        .await?;
        txn.commit().await?;
    }
    let operator = Actor::system("first start");
    let mut out = Vec::new();
    for (email, role, org) in DEMO_ACCOUNTS {
        let org = if org.is_empty() { regulator_code.as_str() } else { org };
        if organisations::organisation_by_code(db, org).await?.is_none() {
            continue; // a data set without this organisation: no account for it
        }
        let password = one_time_password();
        let input = NewUser {
            email: (*email).into(),
            name: format!("{} (demo)", role.name_en()),
            organisation: org.into(),
            roles: role.as_str().into(),
            password: password.clone(),
            one_time: true,
        };
        add_user(&operator, db, &input, now).await?;
        out.push(DemoAccount {
            email: (*email).into(),
            role: *role,
            organisation: org.into(),
            password,
        });
    }
    Ok(out)
}
