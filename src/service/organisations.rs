//! Organisations of the province's metrology network, and their staff.
//!
//! The regulator and system admins see every organisation; everyone else sees their
//! own only. Another organisation is, to them, not there: 404, never 403, so that
//! nothing leaks about which enterprises are registered.

use super::accounts::{self, NewUser};
use super::audit::{self, Changes, Entry, EventView};
use super::{Actor, Error, Result};
use crate::domain::accounts::Role;
use crate::domain::register::{validate_organisation, OrgKind, OrganisationDraft, OrganisationInput};
use crate::store::accounts as users_q;
use crate::store::entities::{organisation, user};
use crate::store::{organisations, reference, standards};
use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, ConnectionTrait, DatabaseConnection};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OrganisationView {
    pub id: i32,
    pub code: String,
    pub kind: String,
    pub kind_name_zh: String,
    pub kind_name_en: String,
    pub name_zh: String,
    pub name_en: String,
    pub address: String,
}

fn view(o: organisation::Model) -> OrganisationView {
    let kind = OrgKind::parse(&o.kind);
    OrganisationView {
        id: o.id,
        kind_name_zh: kind.map(|k| k.name_zh()).unwrap_or_default().into(),
        kind_name_en: kind.map(|k| k.name_en()).unwrap_or_default().into(),
        code: o.code,
        kind: o.kind,
        name_zh: o.name_zh,
        name_en: o.name_en,
        address: o.address,
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserView {
    pub id: i32,
    pub email: String,
    pub name: String,
    pub roles: Vec<String>,
    pub disabled_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

fn user_view(u: user::Model) -> UserView {
    UserView {
        id: u.id,
        roles: u
            .roles
            .split(',')
            .filter(|r| !r.is_empty())
            .map(str::to_owned)
            .collect(),
        email: u.email,
        name: u.name,
        disabled_at: u.disabled_at,
        created_at: u.created_at,
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OrganisationPage {
    pub items: Vec<OrganisationView>,
    pub total: u64,
    pub page: u64,
    pub pages: u64,
}

const PER_PAGE: u64 = 50;

/// Organisations the actor may see, by name.
pub async fn list(
    actor: &Actor,
    db: &DatabaseConnection,
    kind: &str,
    name: &str,
    page: u64,
) -> Result<OrganisationPage> {
    actor.require_login()?;
    let page = page.max(1);
    if !actor.oversees() {
        let own = actor.principal().map(|p| p.organisation_id).unwrap_or_default();
        let items: Vec<_> = organisations::organisation_by_id(db, own)
            .await?
            .into_iter()
            .map(view)
            .collect();
        return Ok(OrganisationPage {
            total: items.len() as u64,
            items,
            page: 1,
            pages: 1,
        });
    }
    if !kind.is_empty() && OrgKind::parse(kind).is_none() {
        return Err(Error::field(
            "kind",
            "organisation.kind_invalid",
            format!("kind is one of: {}", OrgKind::choices()),
        ));
    }
    let name = name.trim();
    let (rows, total) = organisations::list_organisations(
        db,
        (!kind.is_empty()).then_some(kind),
        (!name.is_empty()).then_some(name),
        PER_PAGE,
        (page - 1) * PER_PAGE,
    )
    .await?;
    Ok(OrganisationPage {
        items: rows.into_iter().map(view).collect(),
        total,
        page,
        pages: total.div_ceil(PER_PAGE).max(1),
    })
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OrganisationDetail {
    pub organisation: OrganisationView,
    pub standards: u64,
    pub users: Vec<UserView>,
    pub history: Vec<EventView>,
    /// Whether the actor may add and disable this organisation's users.
    pub may_manage_users: bool,
    /// The roles the actor may grant here.
    pub grantable_roles: Vec<&'static str>,
    /// Whether the actor may edit the organisation's record.
    pub may_edit: bool,
}

fn grantable(actor: &Actor, org: &organisation::Model) -> Vec<Role> {
    let kind = OrgKind::parse(&org.kind).unwrap_or(OrgKind::Enterprise);
    let all = Role::ALL.iter().copied().filter(|r| r.fits(kind));
    if actor.may(&[Role::SystemAdmin]) {
        all.collect()
    } else if actor.may(&[Role::InstituteAdmin]) && actor.principal().is_some_and(|p| p.organisation_id == org.id) {
        all.filter(|r| !matches!(r, Role::SystemAdmin | Role::Regulator | Role::Enterprise))
            .collect()
    } else {
        vec![]
    }
}

/// One organisation with its staff and history, for those who may see it.
pub async fn get(actor: &Actor, db: &DatabaseConnection, id: i32) -> Result<OrganisationDetail> {
    actor.require_login()?;
    let org = organisations::organisation_by_id(db, id)
        .await?
        .filter(|_| actor.sees_organisation(id))
        .ok_or(Error::NotFound { what: "organisation" })?;
    let roles = grantable(actor, &org);
    Ok(OrganisationDetail {
        standards: standards::count_standards_of(db, id).await?,
        users: users_q::users_of(db, id).await?.into_iter().map(user_view).collect(),
        history: audit::history(db, "organisation", id).await?,
        may_manage_users: !roles.is_empty(),
        may_edit: check_manager(actor).is_ok(),
        grantable_roles: roles.iter().map(|r| r.as_str()).collect(),
        organisation: view(org),
    })
}

/// Adds a user to organisation `id` with a one-time password, which is returned to be
/// handed to the person (it is stored only hashed).
pub async fn add_user(
    actor: &Actor,
    db: &DatabaseConnection,
    id: i32,
    email: &str,
    name: &str,
    roles: &str,
    now: DateTime<Utc>,
) -> Result<(UserView, String)> {
    actor.require_login()?;
    let org = organisations::organisation_by_id(db, id)
        .await?
        .filter(|_| actor.sees_organisation(id))
        .ok_or(Error::NotFound { what: "organisation" })?;
    if grantable(actor, &org).is_empty() {
        return Err(actor.forbidden());
    }
    let password = accounts::one_time_password();
    let input = NewUser {
        email: email.into(),
        name: name.into(),
        organisation: org.id.to_string(),
        roles: roles.into(),
        password: password.clone(),
        one_time: true,
    };
    let u = accounts::add_user(actor, db, &input, now).await?;
    Ok((user_view(u), password))
}

/// Disables a user of organisation `id`.
pub async fn disable_user(
    actor: &Actor,
    db: &DatabaseConnection,
    id: i32,
    user_id: i32,
    now: DateTime<Utc>,
) -> Result<()> {
    actor.require_login()?;
    let u = users_q::user_by_id(db, user_id)
        .await?
        .filter(|u| u.organisation_id == id && actor.sees_organisation(id))
        .ok_or(Error::NotFound { what: "user" })?;
    accounts::disable_user(actor, db, &u.email, now).await
}

/// Only those who oversee the province manage its organisations.
fn check_manager(actor: &Actor) -> Result<()> {
    actor.require_login()?;
    if actor.may(&[Role::Regulator, Role::SystemAdmin]) {
        Ok(())
    } else {
        Err(actor.forbidden())
    }
}

/// An organisation's fields for the audit trail and its form.
fn input_of(o: &organisation::Model, city: Option<&str>) -> OrganisationInput {
    OrganisationInput {
        code: o.code.clone(),
        kind: o.kind.clone(),
        name_zh: o.name_zh.clone(),
        name_en: o.name_en.clone(),
        city: city.unwrap_or_default().to_owned(),
        address: o.address.clone(),
    }
}

fn audit_fields(input: &OrganisationInput) -> BTreeMap<&'static str, String> {
    input.entries().into_iter().map(|(k, v)| (k, v.to_owned())).collect()
}

async fn checked<C: ConnectionTrait>(db: &C, input: &OrganisationInput) -> Result<(OrganisationDraft, Option<i32>)> {
    let regions = reference::all_regions(db).await?;
    let draft = validate_organisation(input, |c| regions.iter().any(|r| r.code == c)).map_err(Error::invalid)?;
    let region_id = draft
        .region_code
        .as_deref()
        .and_then(|c| regions.iter().find(|r| r.code == c))
        .map(|r| r.id);
    Ok((draft, region_id))
}

fn code_taken(code: &str) -> Error {
    Error::Conflict {
        code: "organisation.code_taken",
        message: format!("an organisation with code {code} is already registered"),
        fields: vec![crate::domain::Error::new(
            "code",
            "organisation.code_taken",
            "an organisation with this code is already registered",
        )],
    }
}

/// The empty form, for those who may add an organisation.
pub fn new_form(actor: &Actor) -> Result<OrganisationInput> {
    check_manager(actor)?;
    Ok(OrganisationInput {
        kind: OrgKind::Enterprise.as_str().into(),
        ..Default::default()
    })
}

/// An organisation's form, for those who may edit it.
pub async fn edit_form(actor: &Actor, db: &DatabaseConnection, id: i32) -> Result<OrganisationInput> {
    check_manager(actor)?;
    let o = organisations::organisation_by_id(db, id)
        .await?
        .ok_or(Error::NotFound { what: "organisation" })?;
    let city = city_code(db, o.region_id).await?;
    Ok(input_of(&o, city.as_deref()))
}

async fn city_code<C: ConnectionTrait>(db: &C, region_id: Option<i32>) -> Result<Option<String>> {
    let Some(id) = region_id else { return Ok(None) };
    Ok(reference::all_regions(db)
        .await?
        .into_iter()
        .find(|r| r.id == id)
        .map(|r| r.code))
}

/// Registers an organisation. Returns its id.
pub async fn create(
    actor: &Actor,
    db: &DatabaseConnection,
    input: &OrganisationInput,
    now: DateTime<Utc>,
) -> Result<i32> {
    check_manager(actor)?;
    let txn = crate::store::begin(db).await?;
    let (d, region_id) = checked(&txn, input).await?;
    if organisations::organisation_by_code(&txn, &d.code).await?.is_some() {
        return Err(code_taken(&d.code));
    }
    let o = organisations::insert_organisation(
        &txn,
        organisation::ActiveModel {
            code: Set(d.code.clone()),
            kind: Set(d.kind.as_str().to_owned()),
            name_zh: Set(d.name_zh.clone()),
            name_en: Set(d.name_en.clone()),
            region_id: Set(region_id),
            address: Set(d.address.clone()),
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
            action: "organisation.create",
            entity_type: "organisation",
            entity_id: o.id.to_string(),
            changes: Changes::created(&audit_fields(&input_of(&o, d.region_code.as_deref()))),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(o.id)
}

/// Changes an organisation's record. Its kind may change only if its users' roles
/// still suit the new kind.
pub async fn update(
    actor: &Actor,
    db: &DatabaseConnection,
    id: i32,
    input: &OrganisationInput,
    now: DateTime<Utc>,
) -> Result<()> {
    check_manager(actor)?;
    let txn = crate::store::begin(db).await?;
    let existing = organisations::organisation_by_id(&txn, id)
        .await?
        .ok_or(Error::NotFound { what: "organisation" })?;
    let (d, region_id) = checked(&txn, input).await?;
    if d.code != existing.code && organisations::organisation_by_code(&txn, &d.code).await?.is_some() {
        return Err(code_taken(&d.code));
    }
    for u in users_q::users_of(&txn, id).await? {
        if let Ok(roles) = crate::domain::accounts::Roles::parse("kind", &u.roles) {
            roles.check_fit("kind", d.kind).map_err(|e| {
                Error::invalid(vec![crate::domain::Error::new(
                    "kind",
                    e.code,
                    format!("{}: {} has roles {}", e.message, u.email, u.roles),
                )])
            })?;
        }
    }
    let old = audit_fields(&input_of(
        &existing,
        city_code(&txn, existing.region_id).await?.as_deref(),
    ));
    let mut row: organisation::ActiveModel = existing.into();
    row.code = Set(d.code.clone());
    row.kind = Set(d.kind.as_str().to_owned());
    row.name_zh = Set(d.name_zh.clone());
    row.name_en = Set(d.name_en.clone());
    row.region_id = Set(region_id);
    row.address = Set(d.address.clone());
    row.updated_at = Set(now);
    let o = organisations::update_organisation(&txn, row).await?;
    if old.get("name_zh") != Some(&o.name_zh) {
        // The owner's name is part of its standards' search text.
        standards::refresh_search_text_of_owner(&txn, o.id, &o.name_zh).await?;
    }
    let changes = Changes::diff(&old, &audit_fields(&input_of(&o, d.region_code.as_deref())));
    if changes.is_empty() {
        return Ok(());
    }
    audit::record(
        &txn,
        actor,
        now,
        Entry {
            action: "organisation.update",
            entity_type: "organisation",
            entity_id: id.to_string(),
            changes,
        },
    )
    .await?;
    txn.commit().await?;
    Ok(())
}
