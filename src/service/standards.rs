//! The register of measurement standards: list, read, create, update.

use super::audit::{self, Changes, Entry, EventView};
use super::{Actor, Error, Result};
use crate::domain::accounts::Role;
use crate::domain::codes::jjf1022_level1;
use crate::domain::register::{
    effective_status, search_text, validate_standard, Level, OrgKind, StandardDraft, StandardInput, Status,
};
use crate::domain::units::{display_stored, QuantityKind};
use crate::domain::{self};
use crate::store::entities::{device, organisation, region, standard};
use crate::store::standards::{SortKey, StandardQuery, StatusCond};
use crate::store::{organisations, reference, standards};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use sea_orm::{ActiveValue::Set, ConnectionTrait, DatabaseConnection};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// Default and maximum page sizes of every list (DESIGN.md: default 50, max 200).
pub const DEFAULT_PER_PAGE: u64 = 50;
pub const MAX_PER_PAGE: u64 = 200;
const MAX_PAGE: u64 = 100_000;

/// The list's query parameters, exactly as the API documents them.
pub const LIST_PARAMS: &[&str] = &[
    "q",
    "city",
    "category",
    "owner",
    "level",
    "status",
    "expiring_within_days",
    "sort",
    "page",
    "per_page",
];

pub const SORTS: &[&str] = &[
    "name",
    "-name",
    "cert_expires_on",
    "-cert_expires_on",
    "category_code",
    "-category_code",
    "updated_at",
    "-updated_at",
];

/// The list's filters as typed (raw text), kept so a page can show them back.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq, Hash)]
pub struct ListParams {
    pub q: String,
    pub city: String,
    pub category: String,
    pub owner: String,
    pub level: String,
    pub status: String,
    pub expiring_within_days: String,
    pub sort: String,
    pub page: u64,
    pub per_page: u64,
}

impl ListParams {
    /// Reads query parameters; unknown names and malformed values are field errors.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<ListParams> {
        let mut p = ListParams {
            page: 1,
            per_page: DEFAULT_PER_PAGE,
            ..Default::default()
        };
        let mut errors = Vec::new();
        for (name, value) in pairs {
            let value = value.trim();
            match name {
                "q" => p.q = value.chars().take(200).collect(),
                "city" => p.city = value.to_owned(),
                "category" => p.category = value.to_owned(),
                "owner" => p.owner = value.to_owned(),
                "level" => p.level = value.to_owned(),
                "status" => p.status = value.to_owned(),
                "expiring_within_days" => p.expiring_within_days = value.to_owned(),
                "sort" => p.sort = value.to_owned(),
                "page" => match value.parse::<u64>() {
                    Ok(n) if (1..=MAX_PAGE).contains(&n) => p.page = n,
                    _ if value.is_empty() => {}
                    _ => errors.push(domain::Error::new(
                        "page",
                        "list.page_invalid",
                        format!("page is a whole number from 1 to {MAX_PAGE}"),
                    )),
                },
                "per_page" => match value.parse::<u64>() {
                    Ok(n) if (1..=MAX_PER_PAGE).contains(&n) => p.per_page = n,
                    _ if value.is_empty() => {}
                    _ => errors.push(domain::Error::new(
                        "per_page",
                        "list.per_page_invalid",
                        format!("per_page is a whole number from 1 to {MAX_PER_PAGE}"),
                    )),
                },
                other => errors.push(domain::Error::new(
                    other,
                    "list.unknown_filter",
                    format!("unknown filter '{other}'; the filters are: {}", LIST_PARAMS.join(", ")),
                )),
            }
        }
        if errors.is_empty() {
            Ok(p)
        } else {
            Err(Error::invalid(errors))
        }
    }

    /// The query string for another page of the same list.
    pub fn query_for_page(&self, page: u64) -> String {
        let mut parts = Vec::new();
        for (k, v) in [
            ("q", &self.q),
            ("city", &self.city),
            ("category", &self.category),
            ("owner", &self.owner),
            ("level", &self.level),
            ("status", &self.status),
            ("expiring_within_days", &self.expiring_within_days),
            ("sort", &self.sort),
        ] {
            if !v.is_empty() {
                parts.push(format!("{k}={}", urlencode(v)));
            }
        }
        if self.per_page != DEFAULT_PER_PAGE {
            parts.push(format!("per_page={}", self.per_page));
        }
        parts.push(format!("page={page}"));
        parts.join("&")
    }
}

fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A named reference (city, owner) as shown beside a standard.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Named {
    pub id: i32,
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
}

/// A standard as the API and the pages show it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StandardView {
    pub id: i32,
    pub cert_no: String,
    pub name_zh: String,
    pub name_en: String,
    pub category_code: String,
    /// The JJF 1022 discipline or sector (level 1) of the code.
    pub category_name_zh: String,
    pub category_name_en: String,
    pub owner: Option<Named>,
    pub city: Option<Named>,
    pub level: String,
    pub level_name_zh: String,
    pub level_name_en: String,
    pub cert_authority: String,
    pub cert_issued_on: NaiveDate,
    pub cert_expires_on: NaiveDate,
    /// The status as of today: `expired` once the assessment certificate has expired.
    pub status: String,
    /// The status as recorded.
    pub recorded_status: String,
    /// Days until the assessment certificate expires (negative once expired).
    pub days_to_expiry: i64,
    pub quantity: String,
    pub quantity_name_zh: String,
    pub quantity_name_en: String,
    /// "0.5 mm", in the unit the range was entered in.
    pub range_min: String,
    pub range_max: String,
    pub range_min_unit: String,
    pub range_max_unit: String,
    /// Range limits in the coherent SI unit (`si_unit`).
    pub range_min_si: f64,
    pub range_max_si: f64,
    pub si_unit: String,
    pub accuracy_kind: String,
    pub accuracy: String,
    pub accuracy_si: Option<f64>,
    pub accuracy_unit: Option<String>,
    pub regulations: String,
    pub responsible_person: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A device or auxiliary equipment of a standard, as shown.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DeviceView {
    pub id: i32,
    pub role: String,
    pub name: String,
    pub manufacturer: String,
    pub model: String,
    pub serial: String,
    pub range: String,
    pub accuracy: String,
    pub cal_cert_no: Option<String>,
    pub cal_date: Option<NaiveDate>,
    pub cal_due: Option<NaiveDate>,
    /// Whether the device's calibration is past due today.
    pub overdue: bool,
}

/// One page of the register.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StandardPage {
    pub items: Vec<StandardView>,
    pub total: u64,
    pub page: u64,
    pub per_page: u64,
    pub pages: u64,
}

fn named_org(o: &organisation::Model) -> Named {
    Named {
        id: o.id,
        code: o.code.clone(),
        name_zh: o.name_zh.clone(),
        name_en: o.name_en.clone(),
    }
}

fn named_region(r: &region::Model) -> Named {
    Named {
        id: r.id,
        code: r.code.clone(),
        name_zh: r.name_zh.clone(),
        name_en: r.name_en.clone(),
    }
}

fn view(
    s: standard::Model,
    owners: &HashMap<i32, organisation::Model>,
    regions: &HashMap<i32, region::Model>,
    today: NaiveDate,
) -> StandardView {
    let level = Level::parse(&s.level);
    let kind = QuantityKind::parse(&s.quantity);
    let l1 = jjf1022_level1(&s.category_code[..2.min(s.category_code.len())]);
    let recorded = Status::parse(&s.status).unwrap_or(Status::InService);
    StandardView {
        id: s.id,
        category_name_zh: l1.map(|l| l.1).unwrap_or("其他").to_owned(),
        category_name_en: l1.map(|l| l.2).unwrap_or("Other").to_owned(),
        owner: owners.get(&s.owner_id).map(named_org),
        city: s.region_id.and_then(|r| regions.get(&r)).map(named_region),
        level_name_zh: level.map(|l| l.name_zh()).unwrap_or("").to_owned(),
        level_name_en: level.map(|l| l.name_en()).unwrap_or("").to_owned(),
        status: effective_status(recorded, s.cert_expires_on, today).as_str().to_owned(),
        recorded_status: s.status.clone(),
        days_to_expiry: (s.cert_expires_on - today).num_days(),
        quantity_name_zh: kind.map(|k| k.name_zh()).unwrap_or("").to_owned(),
        quantity_name_en: kind.map(|k| k.name_en()).unwrap_or("").to_owned(),
        range_min: display_stored(&s.quantity, s.range_min_si, &s.range_min_unit),
        range_max: display_stored(&s.quantity, s.range_max_si, &s.range_max_unit),
        si_unit: kind.map(|k| k.si_symbol()).unwrap_or("").to_owned(),
        accuracy: s.accuracy_text.clone(),
        cert_no: s.cert_no,
        name_zh: s.name_zh,
        name_en: s.name_en,
        category_code: s.category_code,
        level: s.level,
        cert_authority: s.cert_authority,
        cert_issued_on: s.cert_issued_on,
        cert_expires_on: s.cert_expires_on,
        quantity: s.quantity,
        range_min_unit: s.range_min_unit,
        range_max_unit: s.range_max_unit,
        range_min_si: s.range_min_si,
        range_max_si: s.range_max_si,
        accuracy_kind: s.accuracy_kind,
        accuracy_si: s.accuracy_si,
        accuracy_unit: s.accuracy_unit,
        regulations: s.regulations,
        responsible_person: s.responsible_person,
        created_at: s.created_at,
        updated_at: s.updated_at,
    }
}

async fn regions_map<C: ConnectionTrait>(db: &C) -> Result<HashMap<i32, region::Model>> {
    Ok(reference::all_regions(db)
        .await?
        .into_iter()
        .map(|r| (r.id, r))
        .collect())
}

/// Turns validated parameters into a store query, resolving codes to ids.
async fn build_query<C: ConnectionTrait>(db: &C, p: &ListParams, today: NaiveDate) -> Result<StandardQuery> {
    let mut errors = Vec::new();
    let mut query = StandardQuery {
        limit: p.per_page,
        offset: (p.page - 1) * p.per_page,
        ..Default::default()
    };
    query.terms =
        p.q.split(|c: char| c.is_whitespace() || c == '%' || c == '_')
            .filter(|t| !t.is_empty())
            .take(8)
            // The space after a last Chinese character adds a trigram but no precision:
            // the indexed text always has it.
            .map(|t| crate::domain::register::search_form(t).trim_end().to_owned())
            .collect();
    if !p.city.is_empty() {
        let regions = reference::all_regions(db).await?;
        match regions.iter().find(|r| r.code == p.city) {
            Some(r) => query.region_id = Some(r.id),
            None => errors.push(domain::Error::new(
                "city",
                "list.city_unknown",
                format!(
                    "'{}' is not the GB/T 2260 code of a city in the register, e.g. 440100",
                    p.city
                ),
            )),
        }
    }
    if !p.category.is_empty() {
        let c = &p.category;
        let ok = matches!(c.len(), 2 | 4 | 6 | 8)
            && c.bytes().all(|b| b.is_ascii_digit())
            && (jjf1022_level1(&c[..2]).is_some() || matches!(&c[..2], "90" | "91"));
        if ok {
            query.category_prefix = Some(c.clone());
        } else {
            errors.push(domain::Error::new(
                "category",
                "list.category_invalid",
                "category is a JJF 1022 code or its first 2, 4 or 6 digits, e.g. 04 or 0411",
            ));
        }
    }
    if !p.owner.is_empty() {
        let org = match p.owner.parse::<i32>() {
            Ok(id) if p.owner.len() < 10 => organisations::organisation_by_id(db, id).await?,
            _ => organisations::organisation_by_code(db, &p.owner.to_ascii_uppercase()).await?,
        };
        match org {
            Some(o) => query.owner_id = Some(o.id),
            None => errors.push(domain::Error::new(
                "owner",
                "list.owner_unknown",
                format!("no organisation with id or code '{}'", p.owner),
            )),
        }
    }
    if !p.level.is_empty() {
        match Level::parse(&p.level) {
            Some(l) => query.level = Some(l.as_str()),
            None => errors.push(domain::Error::new(
                "level",
                "list.level_invalid",
                format!("level is one of: {}", Level::choices()),
            )),
        }
    }
    if !p.status.is_empty() {
        query.status = match Status::parse(&p.status) {
            Some(Status::InService) => Some(StatusCond::InServiceOn(today)),
            Some(Status::Expired) => Some(StatusCond::ExpiredOn(today)),
            Some(s) => Some(StatusCond::Stored(s.as_str())),
            None => {
                errors.push(domain::Error::new(
                    "status",
                    "list.status_invalid",
                    format!("status is one of: {}", Status::choices()),
                ));
                None
            }
        };
    }
    if !p.expiring_within_days.is_empty() {
        match p.expiring_within_days.parse::<i64>() {
            Ok(n) if (0..=3650).contains(&n) => query.expiring = Some((today, today + Duration::days(n))),
            _ => errors.push(domain::Error::new(
                "expiring_within_days",
                "list.expiring_invalid",
                "expiring_within_days is a whole number of days from 0 to 3650",
            )),
        }
    }
    if !p.sort.is_empty() {
        let (desc, key) = match p.sort.strip_prefix('-') {
            Some(k) => (true, k),
            None => (false, p.sort.as_str()),
        };
        query.descending = desc;
        query.sort = match key {
            "name" => SortKey::Name,
            "cert_expires_on" => SortKey::CertExpiresOn,
            "category_code" => SortKey::CategoryCode,
            "updated_at" => SortKey::UpdatedAt,
            _ => {
                errors.push(domain::Error::new(
                    "sort",
                    "list.sort_invalid",
                    format!("sort is one of: {}", SORTS.join(", ")),
                ));
                SortKey::Name
            }
        };
    }
    if errors.is_empty() {
        Ok(query)
    } else {
        Err(Error::invalid(errors))
    }
}

/// A page of the public register. Anyone may read it.
pub async fn list(_actor: &Actor, db: &DatabaseConnection, p: &ListParams, today: NaiveDate) -> Result<StandardPage> {
    let query = build_query(db, p, today).await?;
    let (rows, total) = standards::list_standards(db, &query).await?;
    let mut owner_ids: Vec<i32> = rows.iter().map(|s| s.owner_id).collect();
    owner_ids.sort_unstable();
    owner_ids.dedup();
    let owners = organisations::organisations_by_ids(db, &owner_ids).await?;
    let regions = regions_map(db).await?;
    let items = rows.into_iter().map(|s| view(s, &owners, &regions, today)).collect();
    Ok(StandardPage {
        items,
        total,
        page: p.page,
        per_page: p.per_page,
        pages: total.div_ceil(p.per_page).max(1),
    })
}

/// Pages of the register kept in memory, so that the public search answers repeated
/// queries at once (46,000 standards: the search itself is a few milliseconds; the same
/// page from memory is microseconds).
///
/// An entry is the page and its JSON, keyed by the filters and the day (the status and
/// days to expiry depend on it). It is used while the register is unchanged: every
/// audited change to a standard, device, organisation or region advances the database's
/// `register` change counter in its own transaction, and each request reads the counter
/// first. A change made through any app instance, or the CLI, is seen by the next
/// request to every other; no time limit is needed. The cache holds at most
/// [`RegisterCache::MAX_BYTES`] of JSON; when full it starts again.
#[derive(Default)]
pub struct RegisterCache(std::sync::Mutex<CacheState>);

#[derive(Default)]
struct CacheState {
    version: i64,
    bytes: usize,
    pages: HashMap<(NaiveDate, ListParams), std::sync::Arc<CachedPage>>,
}

/// A page of the register and its JSON, as cached.
pub struct CachedPage {
    pub page: StandardPage,
    pub json: std::sync::Arc<[u8]>,
}

impl RegisterCache {
    /// The most JSON kept (bytes).
    pub const MAX_BYTES: usize = 16 << 20;

    fn get(&self, version: i64, key: &(NaiveDate, ListParams)) -> Option<std::sync::Arc<CachedPage>> {
        let state = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if state.version != version {
            return None;
        }
        state.pages.get(key).cloned()
    }

    fn put(&self, version: i64, key: (NaiveDate, ListParams), page: std::sync::Arc<CachedPage>) {
        let mut state = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if version < state.version {
            // Read before a change that newer pages already show: not kept.
            return;
        }
        if version > state.version || state.bytes + page.json.len() > Self::MAX_BYTES {
            // The register changed since (or the cache is full): start again from this page.
            state.pages.clear();
            state.bytes = 0;
            state.version = version;
        }
        state.bytes += page.json.len();
        if let Some(old) = state.pages.insert(key, page) {
            state.bytes -= old.json.len();
        }
    }
}

/// [`list`], answered from `cache` when the register has not changed since the same
/// page was read. The register is public: the page is the same for every actor.
pub async fn list_cached(
    actor: &Actor,
    db: &DatabaseConnection,
    cache: &RegisterCache,
    p: &ListParams,
    today: NaiveDate,
) -> Result<std::sync::Arc<CachedPage>> {
    let key = (today, p.clone());
    // Read before the query: a change committed while it runs makes the page stale, and
    // it is then kept under a version that is already behind.
    let version = crate::store::changes::value(db, crate::store::changes::REGISTER).await?;
    if let Some(page) = cache.get(version, &key) {
        return Ok(page);
    }
    let page = list(actor, db, p, today).await?;
    let json = serde_json::to_vec(&page).map_err(|e| Error::Internal(e.to_string()))?;
    let cached = std::sync::Arc::new(CachedPage {
        page,
        json: json.into(),
    });
    cache.put(version, key, cached.clone());
    Ok(cached)
}

/// One standard with its devices.
pub async fn get(
    _actor: &Actor,
    db: &DatabaseConnection,
    id: i32,
    today: NaiveDate,
) -> Result<(StandardView, Vec<DeviceView>)> {
    let s = standards::standard_by_id(db, id)
        .await?
        .ok_or(Error::NotFound { what: "standard" })?;
    let owners = organisations::organisations_by_ids(db, &[s.owner_id]).await?;
    let regions = regions_map(db).await?;
    let devices = standards::devices_of(db, id)
        .await?
        .into_iter()
        .map(|d| device_view(d, today))
        .collect();
    Ok((view(s, &owners, &regions, today), devices))
}

/// A device's range limits in their entered units ("0 mm", "500 mm"), when it has one.
pub(crate) fn device_range(d: &device::Model) -> Option<(String, String)> {
    match (
        &d.quantity,
        d.range_min_si,
        d.range_max_si,
        &d.range_min_unit,
        &d.range_max_unit,
    ) {
        (Some(k), Some(lo), Some(hi), Some(ul), Some(uh)) => {
            Some((display_stored(k, lo, ul), display_stored(k, hi, uh)))
        }
        _ => None,
    }
}

fn device_view(d: device::Model, today: NaiveDate) -> DeviceView {
    let range = device_range(&d)
        .map(|(lo, hi)| format!("{lo} … {hi}"))
        .unwrap_or_default();
    DeviceView {
        id: d.id,
        overdue: d.cal_due.is_some_and(|due| due < today),
        role: d.role,
        name: d.name,
        manufacturer: d.manufacturer,
        model: d.model,
        serial: d.serial,
        range,
        accuracy: d.accuracy,
        cal_cert_no: d.cal_cert_no,
        cal_date: d.cal_date,
        cal_due: d.cal_due,
    }
}

/// A stored standard as the text a form, a CSV file and the audit trail show: each
/// quantity in the unit it was entered in.
pub(crate) fn input_from_model(s: &standard::Model, owner_code: &str) -> StandardInput {
    StandardInput {
        range_min: display_stored(&s.quantity, s.range_min_si, &s.range_min_unit),
        range_max: display_stored(&s.quantity, s.range_max_si, &s.range_max_unit),
        owner: owner_code.to_owned(),
        cert_issued_on: s.cert_issued_on.to_string(),
        cert_expires_on: s.cert_expires_on.to_string(),
        name_zh: s.name_zh.clone(),
        name_en: s.name_en.clone(),
        category_code: s.category_code.clone(),
        level: s.level.clone(),
        cert_no: s.cert_no.clone(),
        cert_authority: s.cert_authority.clone(),
        status: s.status.clone(),
        quantity: s.quantity.clone(),
        accuracy_kind: s.accuracy_kind.clone(),
        accuracy: s.accuracy_text.clone(),
        regulations: s.regulations.clone(),
        responsible_person: s.responsible_person.clone(),
    }
}

/// A standard's fields for the audit trail.
pub(crate) fn audit_fields(input: &StandardInput) -> BTreeMap<&'static str, String> {
    input.entries().into_iter().map(|(k, v)| (k, v.to_owned())).collect()
}

/// Who may change the register: the regulator and system admins for any owner
/// (`Ok(None)`), an institute admin for their own organisation's standards only
/// (`Ok(Some(org))`). Nobody else.
pub fn edit_scope(actor: &Actor) -> Result<Option<i32>> {
    if actor.may(&[Role::Regulator, Role::SystemAdmin]) {
        Ok(None)
    } else if actor.may(&[Role::InstituteAdmin]) {
        Ok(actor.principal().map(|p| p.organisation_id))
    } else {
        Err(actor.forbidden())
    }
}

/// The empty form for a new standard, for those who may add one.
pub async fn new_form(actor: &Actor, db: &DatabaseConnection) -> Result<StandardInput> {
    let scope = edit_scope(actor)?;
    let owner = match scope {
        Some(org) => organisations::organisation_by_id(db, org)
            .await?
            .map(|o| o.code)
            .unwrap_or_default(),
        None => String::new(),
    };
    Ok(StandardInput {
        status: "in_service".into(),
        level: "city_public".into(),
        accuracy_kind: "uncertainty".into(),
        owner,
        ..Default::default()
    })
}

/// A standard's form, for those who may edit it.
pub async fn edit_form(actor: &Actor, db: &DatabaseConnection, id: i32) -> Result<StandardInput> {
    let scope = edit_scope(actor)?;
    let s = standards::standard_by_id(db, id)
        .await?
        .ok_or(Error::NotFound { what: "standard" })?;
    if scope.is_some_and(|org| org != s.owner_id) {
        return Err(Error::Forbidden);
    }
    let owner = organisations::organisation_by_id(db, s.owner_id).await?;
    Ok(input_from_model(
        &s,
        owner.map(|o| o.code).as_deref().unwrap_or_default(),
    ))
}

/// Whether the actor may edit a standard of this owner (to offer the edit link).
pub fn may_edit(actor: &Actor, owner_id: Option<i32>) -> bool {
    match edit_scope(actor) {
        Ok(None) => true,
        Ok(Some(org)) => owner_id.is_none_or(|o| o == org),
        Err(_) => false,
    }
}

/// A standard's history, for those who may see who changed it: the regulator, system
/// admins and the owner's staff. `None` for everyone else.
pub async fn history(actor: &Actor, db: &DatabaseConnection, id: i32) -> Result<Option<Vec<EventView>>> {
    let Some(s) = standards::standard_by_id(db, id).await? else {
        return Err(Error::NotFound { what: "standard" });
    };
    if !actor.sees_organisation(s.owner_id) {
        return Ok(None);
    }
    Ok(Some(audit::history(db, "standard", id).await?))
}

/// Validates an input and resolves its owner; used by create, update and import.
pub(crate) fn check_owner(draft: &StandardDraft, owner: Option<&organisation::Model>) -> Result<(), domain::Error> {
    match owner {
        None => Err(domain::Error::new(
            "owner",
            "standard.owner_unknown",
            format!("no organisation with code '{}' is registered", draft.owner_code),
        )),
        Some(o) if !OrgKind::parse(&o.kind).is_some_and(OrgKind::may_own_standards) => Err(domain::Error::new(
            "owner",
            "standard.owner_kind",
            format!(
                "{} is a {}, which cannot own a standard in the register",
                o.name_zh, o.kind
            ),
        )),
        Some(_) => Ok(()),
    }
}

/// The row for a validated standard.
pub(crate) fn active_model(
    draft: &StandardDraft,
    owner: &organisation::Model,
    now: DateTime<Utc>,
) -> standard::ActiveModel {
    standard::ActiveModel {
        cert_no: Set(draft.cert_no.clone()),
        name_zh: Set(draft.name_zh.clone()),
        name_en: Set(draft.name_en.clone()),
        category_code: Set(draft.category_code.clone()),
        owner_id: Set(owner.id),
        region_id: Set(owner.region_id),
        level: Set(draft.level.as_str().to_owned()),
        cert_authority: Set(draft.cert_authority.clone()),
        cert_issued_on: Set(draft.cert_issued_on),
        cert_expires_on: Set(draft.cert_expires_on),
        status: Set(draft.status.as_str().to_owned()),
        quantity: Set(draft.quantity.as_str().to_owned()),
        range_min_si: Set(draft.range_min_si),
        range_max_si: Set(draft.range_max_si),
        range_min_unit: Set(draft.range_min_unit.to_owned()),
        range_max_unit: Set(draft.range_max_unit.to_owned()),
        accuracy_kind: Set(draft.accuracy_kind.as_str().to_owned()),
        accuracy_si: Set(draft.accuracy_si),
        accuracy_unit: Set(draft.accuracy_unit.map(str::to_owned)),
        accuracy_text: Set(draft.accuracy_text.clone()),
        regulations: Set(draft.regulations.clone()),
        responsible_person: Set(draft.responsible_person.clone()),
        search_text: Set(search_text(
            &draft.name_zh,
            &draft.name_en,
            &draft.category_code,
            &draft.cert_no,
            &owner.name_zh,
        )),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
}

async fn validated<C: ConnectionTrait>(db: &C, input: &StandardInput) -> Result<(StandardDraft, organisation::Model)> {
    let mut errors = Vec::new();
    let owner_code = input.owner.trim().to_ascii_uppercase();
    let owner = if owner_code.is_empty() {
        None
    } else {
        organisations::organisation_by_code(db, &owner_code).await?
    };
    // No expiry given: the issue date plus the owner's validity (JJF 1033: 4 years − 1 day).
    let mut filled;
    let mut input = input;
    if input.cert_expires_on.trim().is_empty() {
        if let Ok(issued) = domain::register::parse_date("cert_issued_on", &input.cert_issued_on) {
            let years_of = owner.as_ref().map(|o| o.id);
            filled = input.clone();
            filled.cert_expires_on = match years_of {
                Some(o) => super::lifecycle::default_expiry(db, o, issued).await?,
                None => domain::lifecycle::certificate_expiry(issued, domain::lifecycle::DEFAULT_VALIDITY_YEARS),
            }
            .to_string();
            input = &filled;
        }
    }
    let draft = validate_standard(input).map_err(|e| errors = e).ok();
    if let Some(d) = &draft {
        if let Err(e) = check_owner(d, owner.as_ref()) {
            errors.push(e);
        }
    } else if !owner_code.is_empty() && owner.is_none() {
        errors.push(domain::Error::new(
            "owner",
            "standard.owner_unknown",
            format!("no organisation with code '{owner_code}' is registered"),
        ));
    }
    if !errors.is_empty() {
        return Err(Error::invalid(errors));
    }
    Ok((draft.expect("no errors"), owner.expect("no errors")))
}

fn cert_no_taken(cert_no: &str) -> Error {
    Error::Conflict {
        code: "standard.cert_no_taken",
        message: format!("another standard already has certificate number {cert_no}"),
        fields: vec![domain::Error::new(
            "cert_no",
            "standard.cert_no_taken",
            "another standard already has this certificate number",
        )],
    }
}

/// An institute admin's standards belong to their organisation, whatever owner the
/// request names.
async fn scoped_input<C: ConnectionTrait>(db: &C, scope: Option<i32>, input: &StandardInput) -> Result<StandardInput> {
    let mut input = input.clone();
    if let Some(org) = scope {
        let own = organisations::organisation_by_id(db, org)
            .await?
            .ok_or(Error::Forbidden)?;
        input.owner = own.code;
    }
    Ok(input)
}

/// Adds a standard to the register. Returns its id.
pub async fn create(actor: &Actor, db: &DatabaseConnection, input: &StandardInput, now: DateTime<Utc>) -> Result<i32> {
    let scope = edit_scope(actor)?;
    let txn = crate::store::begin(db).await?;
    let input = scoped_input(&txn, scope, input).await?;
    let (draft, owner) = validated(&txn, &input).await?;
    if standards::standard_by_cert_no(&txn, &draft.cert_no).await?.is_some() {
        return Err(cert_no_taken(&draft.cert_no));
    }
    let model = sea_orm::ActiveModelTrait::insert(active_model(&draft, &owner, now), &txn).await?;
    audit::record(
        &txn,
        actor,
        now,
        Entry {
            action: "standard.create",
            entity_type: "standard",
            entity_id: model.id.to_string(),
            changes: Changes::created(&audit_fields(&input_from_model(&model, &owner.code))),
        },
    )
    .await?;
    txn.commit().await?;
    tracing::info!(standard = model.id, cert_no = %model.cert_no, actor = %actor.label(), "standard created");
    Ok(model.id)
}

/// The fields of a standard that the regulator sets and its owner may not change
/// (JJF 1033-2023 §7–§9: the assessment certificate is issued by the authority, which
/// alone suspends or cancels it): the certificate's number, authority and dates, the
/// measurement range and accuracy it was assessed for, and a suspension or withdrawal
/// (to it or from it). Returns those the draft changes.
fn regulator_fields_changed(existing: &standard::Model, draft: &domain::register::StandardDraft) -> Vec<&'static str> {
    use domain::register::Status;
    let held = |s: &str| s == Status::Suspended.as_str() || s == Status::Withdrawn.as_str();
    let mut changed = Vec::new();
    let mut check = |field: &'static str, differs: bool| {
        if differs {
            changed.push(field);
        }
    };
    check("cert_no", draft.cert_no != existing.cert_no);
    check("cert_authority", draft.cert_authority != existing.cert_authority);
    check("cert_issued_on", draft.cert_issued_on != existing.cert_issued_on);
    check("cert_expires_on", draft.cert_expires_on != existing.cert_expires_on);
    check(
        "status",
        draft.status.as_str() != existing.status && (held(draft.status.as_str()) || held(&existing.status)),
    );
    check("range_min", draft.range_min_si != existing.range_min_si);
    check("range_max", draft.range_max_si != existing.range_max_si);
    check("accuracy_kind", draft.accuracy_kind.as_str() != existing.accuracy_kind);
    check("accuracy", draft.accuracy_si != existing.accuracy_si);
    changed
}

/// Replaces a standard's fields with the submitted ones. The old values are kept in
/// the audit trail, field by field. An institute admin may not change what the
/// regulator set ([`regulator_fields_changed`]).
pub async fn update(
    actor: &Actor,
    db: &DatabaseConnection,
    id: i32,
    input: &StandardInput,
    now: DateTime<Utc>,
) -> Result<()> {
    let scope = edit_scope(actor)?;
    let txn = crate::store::begin(db).await?;
    let existing = standards::standard_by_id(&txn, id)
        .await?
        .ok_or(Error::NotFound { what: "standard" })?;
    if scope.is_some_and(|org| org != existing.owner_id) {
        return Err(Error::Forbidden);
    }
    let input = scoped_input(&txn, scope, input).await?;
    let (draft, owner) = validated(&txn, &input).await?;
    if scope.is_some() {
        let theirs = regulator_fields_changed(&existing, &draft);
        if !theirs.is_empty() {
            return Err(Error::Refused {
                code: "standard.regulator_field",
                message: "only the regulator changes the fields marked: the assessment certificate, the range and \
                          accuracy it was assessed for, and a suspension or withdrawal are theirs"
                    .into(),
                fields: theirs
                    .iter()
                    .map(|f| {
                        domain::Error::new(
                            *f,
                            "standard.regulator_field",
                            "set by the regulator (the assessment certificate, a suspension or withdrawal); ask them to change it",
                        )
                    })
                    .collect(),
            });
        }
    }
    if draft.cert_no != existing.cert_no && standards::standard_by_cert_no(&txn, &draft.cert_no).await?.is_some() {
        return Err(cert_no_taken(&draft.cert_no));
    }
    let old_owner = organisations::organisation_by_id(&txn, existing.owner_id).await?;
    let old = audit_fields(&input_from_model(
        &existing,
        old_owner.map(|o| o.code).as_deref().unwrap_or_default(),
    ));
    let mut model = active_model(&draft, &owner, now);
    model.id = Set(id);
    model.created_at = Set(existing.created_at);
    let updated = sea_orm::ActiveModelTrait::update(model, &txn).await?;
    let changes = Changes::diff(&old, &audit_fields(&input_from_model(&updated, &owner.code)));
    if changes.is_empty() {
        // Nothing changed: keep the row (and its updated_at) as it was.
        return Ok(());
    }
    audit::record(
        &txn,
        actor,
        now,
        Entry {
            action: "standard.update",
            entity_type: "standard",
            entity_id: id.to_string(),
            changes,
        },
    )
    .await?;
    txn.commit().await?;
    tracing::info!(standard = id, actor = %actor.label(), "standard updated");
    Ok(())
}

/// A choice in a filter or form select.
#[derive(Debug, Clone, Serialize)]
pub struct Choice {
    pub value: String,
    pub name_zh: String,
    pub name_en: String,
}

/// The choices the register's filters and forms offer.
#[derive(Debug, Clone, Serialize)]
pub struct Choices {
    pub cities: Vec<Choice>,
    pub categories: Vec<Choice>,
    pub levels: Vec<Choice>,
    pub statuses: Vec<Choice>,
    pub quantities: Vec<Choice>,
    pub accuracy_kinds: Vec<Choice>,
    pub sorts: Vec<&'static str>,
}

pub async fn choices(db: &DatabaseConnection) -> Result<Choices> {
    let cities = reference::all_regions(db)
        .await?
        .into_iter()
        .filter(|r| r.parent_code.is_some())
        .map(|r| Choice {
            value: r.code,
            name_zh: r.name_zh,
            name_en: r.name_en,
        })
        .collect();
    fn from<T: Copy>(all: &[T], f: impl Fn(T) -> (&'static str, &'static str, &'static str)) -> Vec<Choice> {
        all.iter()
            .map(|x| {
                let (v, zh, en) = f(*x);
                Choice {
                    value: v.into(),
                    name_zh: zh.into(),
                    name_en: en.into(),
                }
            })
            .collect()
    }
    Ok(Choices {
        cities,
        categories: crate::domain::codes::JJF1022_LEVEL1
            .iter()
            .map(|(c, zh, en)| Choice {
                value: (*c).into(),
                name_zh: format!("{c} {zh}"),
                name_en: format!("{c} {en}"),
            })
            .collect(),
        levels: from(Level::ALL, |l| (l.as_str(), l.name_zh(), l.name_en())),
        statuses: from(Status::ALL, |s| (s.as_str(), s.name_zh(), s.name_en())),
        quantities: from(
            &QuantityKind::ALL
                .iter()
                .copied()
                .filter(|k| *k != QuantityKind::TemperatureInterval)
                .collect::<Vec<_>>(),
            |k| (k.as_str(), k.name_zh(), k.name_en()),
        ),
        accuracy_kinds: from(crate::domain::register::AccuracyKind::ALL, |a| {
            (a.as_str(), a.name_zh(), a.name_en())
        }),
        sorts: SORTS.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn page(json_len: usize) -> Arc<CachedPage> {
        Arc::new(CachedPage {
            page: StandardPage {
                items: Vec::new(),
                total: 0,
                page: 1,
                per_page: DEFAULT_PER_PAGE,
                pages: 1,
            },
            json: vec![b' '; json_len].into(),
        })
    }

    fn key(q: &str) -> (NaiveDate, ListParams) {
        let day = NaiveDate::from_ymd_opt(2026, 11, 28).unwrap();
        (day, ListParams::from_pairs([("q", q)]).unwrap())
    }

    #[test]
    fn a_cached_page_is_used_only_at_its_register_version() {
        let cache = RegisterCache::default();
        cache.put(7, key("压力"), page(10));
        assert!(cache.get(7, &key("压力")).is_some());
        assert!(cache.get(7, &key("温度")).is_none(), "another query");
        assert!(cache.get(8, &key("压力")).is_none(), "the register changed since");
        cache.put(8, key("温度"), page(10));
        assert!(cache.get(8, &key("压力")).is_none());
        assert!(cache.get(8, &key("温度")).is_some());
        // A page read before a change the cache has already seen (the change committed
        // while it was read) is not kept, and does not push out the newer pages.
        cache.put(7, key("压力"), page(10));
        assert!(cache.get(8, &key("压力")).is_none());
        assert!(cache.get(7, &key("压力")).is_none());
        assert!(cache.get(8, &key("温度")).is_some());
        let next_day = (NaiveDate::from_ymd_opt(2026, 11, 29).unwrap(), key("温度").1);
        assert!(cache.get(8, &next_day).is_none(), "statuses depend on the day");
    }

    #[test]
    fn the_cache_starts_again_when_full() {
        let cache = RegisterCache::default();
        let half = RegisterCache::MAX_BYTES / 2 + 1;
        cache.put(1, key("a"), page(half));
        cache.put(1, key("b"), page(half));
        assert!(cache.get(1, &key("a")).is_none(), "the first page made room");
        assert!(cache.get(1, &key("b")).is_some());
        // Replacing a page counts its size once.
        cache.put(1, key("b"), page(half));
        assert!(cache.get(1, &key("b")).is_some());
        assert_eq!(cache.0.lock().unwrap().bytes, half);
    }
}
