//! Users, sessions, API tokens and login attempts.

use super::entities::{api_token, login_attempt, organisation, session, user};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
};

pub async fn user_by_email<C: ConnectionTrait>(db: &C, email: &str) -> Result<Option<user::Model>, DbErr> {
    user::Entity::find().filter(user::Column::Email.eq(email)).one(db).await
}

pub async fn user_by_id<C: ConnectionTrait>(db: &C, id: i32) -> Result<Option<user::Model>, DbErr> {
    user::Entity::find_by_id(id).one(db).await
}

pub async fn users_of<C: ConnectionTrait>(db: &C, organisation_id: i32) -> Result<Vec<user::Model>, DbErr> {
    user::Entity::find()
        .filter(user::Column::OrganisationId.eq(organisation_id))
        .order_by_asc(user::Column::Email)
        .all(db)
        .await
}

pub async fn count_users<C: ConnectionTrait>(db: &C) -> Result<u64, DbErr> {
    user::Entity::find().count(db).await
}

pub async fn insert_user<C: ConnectionTrait>(db: &C, row: user::ActiveModel) -> Result<user::Model, DbErr> {
    sea_orm::ActiveModelTrait::insert(row, db).await
}

pub async fn update_user<C: ConnectionTrait>(db: &C, row: user::ActiveModel) -> Result<user::Model, DbErr> {
    sea_orm::ActiveModelTrait::update(row, db).await
}

/// Who a session or token belongs to, read in one query (every authenticated request
/// makes it).
#[derive(Debug, Clone, sea_orm::FromQueryResult)]
pub struct Credential {
    /// The session's or token's id.
    pub credential_id: i32,
    /// When the session was last seen, or the token last used.
    pub seen_at: Option<DateTime<Utc>>,
    pub user_id: i32,
    pub email: String,
    pub name: String,
    pub roles: String,
    pub must_change_password: bool,
    pub disabled_at: Option<DateTime<Utc>>,
    pub organisation_id: i32,
    pub organisation_name: String,
}

fn credential_query<E: EntityTrait>(id: E::Column, seen_at: E::Column, user_id: E::Column) -> sea_orm::Select<E> {
    use sea_orm::{JoinType, QuerySelect};
    E::find()
        .select_only()
        .column_as(id, "credential_id")
        .column_as(seen_at, "seen_at")
        .column_as(user::Column::Id, "user_id")
        .column_as(user::Column::Email, "email")
        .column_as(user::Column::Name, "name")
        .column_as(user::Column::Roles, "roles")
        .column_as(user::Column::MustChangePassword, "must_change_password")
        .column_as(user::Column::DisabledAt, "disabled_at")
        .column_as(organisation::Column::Id, "organisation_id")
        .column_as(organisation::Column::NameZh, "organisation_name")
        .join(
            JoinType::InnerJoin,
            E::belongs_to(user::Entity).from(user_id).to(user::Column::Id).into(),
        )
        .join(
            JoinType::InnerJoin,
            user::Entity::belongs_to(organisation::Entity)
                .from(user::Column::OrganisationId)
                .to(organisation::Column::Id)
                .into(),
        )
}

/// The holder of a session, by the hash of its cookie secret.
pub async fn session_credential<C: ConnectionTrait>(db: &C, token_hash: &str) -> Result<Option<Credential>, DbErr> {
    credential_query::<session::Entity>(
        session::Column::Id,
        session::Column::LastSeenAt,
        session::Column::UserId,
    )
    .filter(session::Column::TokenHash.eq(token_hash))
    .into_model::<Credential>()
    .one(db)
    .await
}

/// The holder of a live (not revoked) API token, by the token's hash.
pub async fn token_credential<C: ConnectionTrait>(db: &C, token_hash: &str) -> Result<Option<Credential>, DbErr> {
    credential_query::<api_token::Entity>(
        api_token::Column::Id,
        api_token::Column::LastUsedAt,
        api_token::Column::UserId,
    )
    .filter(api_token::Column::TokenHash.eq(token_hash))
    .filter(api_token::Column::RevokedAt.is_null())
    .into_model::<Credential>()
    .one(db)
    .await
}

pub async fn insert_session<C: ConnectionTrait>(db: &C, row: session::ActiveModel) -> Result<session::Model, DbErr> {
    sea_orm::ActiveModelTrait::insert(row, db).await
}

pub async fn delete_session<C: ConnectionTrait>(db: &C, id: i32) -> Result<u64, DbErr> {
    Ok(session::Entity::delete_by_id(id).exec(db).await?.rows_affected)
}

pub async fn delete_sessions_of<C: ConnectionTrait>(db: &C, user_id: i32) -> Result<u64, DbErr> {
    Ok(session::Entity::delete_many()
        .filter(session::Column::UserId.eq(user_id))
        .exec(db)
        .await?
        .rows_affected)
}

pub async fn delete_sessions_of_except<C: ConnectionTrait>(
    db: &C,
    user_id: i32,
    keep: Option<i32>,
) -> Result<u64, DbErr> {
    let mut q = session::Entity::delete_many().filter(session::Column::UserId.eq(user_id));
    if let Some(k) = keep {
        q = q.filter(session::Column::Id.ne(k));
    }
    Ok(q.exec(db).await?.rows_affected)
}

/// Sessions idle since before `cutoff` are gone for good.
pub async fn delete_idle_sessions<C: ConnectionTrait>(db: &C, cutoff: DateTime<Utc>) -> Result<u64, DbErr> {
    Ok(session::Entity::delete_many()
        .filter(session::Column::LastSeenAt.lt(cutoff))
        .exec(db)
        .await?
        .rows_affected)
}

pub async fn touch_session<C: ConnectionTrait>(db: &C, id: i32, now: DateTime<Utc>) -> Result<(), DbErr> {
    session::Entity::update_many()
        .col_expr(session::Column::LastSeenAt, Expr::value(now))
        .filter(session::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn set_session_reauth<C: ConnectionTrait>(db: &C, id: i32, now: DateTime<Utc>) -> Result<(), DbErr> {
    session::Entity::update_many()
        .col_expr(session::Column::ReauthAt, Expr::value(Some(now)))
        .col_expr(session::Column::LastSeenAt, Expr::value(now))
        .filter(session::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn tokens_of<C: ConnectionTrait>(db: &C, user_id: i32) -> Result<Vec<api_token::Model>, DbErr> {
    api_token::Entity::find()
        .filter(api_token::Column::UserId.eq(user_id))
        .order_by_desc(api_token::Column::Id)
        .all(db)
        .await
}

pub async fn token_by_id<C: ConnectionTrait>(db: &C, id: i32) -> Result<Option<api_token::Model>, DbErr> {
    api_token::Entity::find_by_id(id).one(db).await
}

pub async fn insert_token<C: ConnectionTrait>(db: &C, row: api_token::ActiveModel) -> Result<api_token::Model, DbErr> {
    sea_orm::ActiveModelTrait::insert(row, db).await
}

pub async fn revoke_token<C: ConnectionTrait>(db: &C, id: i32, now: DateTime<Utc>) -> Result<(), DbErr> {
    api_token::Entity::update_many()
        .col_expr(api_token::Column::RevokedAt, Expr::value(Some(now)))
        .filter(api_token::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn touch_token<C: ConnectionTrait>(db: &C, id: i32, now: DateTime<Utc>) -> Result<(), DbErr> {
    api_token::Entity::update_many()
        .col_expr(api_token::Column::LastUsedAt, Expr::value(Some(now)))
        .filter(api_token::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn insert_login_attempt<C: ConnectionTrait>(
    db: &C,
    email: &str,
    client_addr: &str,
    at: DateTime<Utc>,
    succeeded: bool,
) -> Result<(), DbErr> {
    let row = login_attempt::ActiveModel {
        email: Set(email.to_owned()),
        client_addr: Set(client_addr.to_owned()),
        attempted_at: Set(at),
        succeeded: Set(succeeded),
        ..Default::default()
    };
    login_attempt::Entity::insert(row).exec_without_returning(db).await?;
    Ok(())
}

/// Failed attempts since a moment, counted three ways (see [`recent_failures`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failures {
    /// For this account from this client address.
    pub pair: u64,
    /// For this account from every address.
    pub account: u64,
    /// From this client address for every account.
    pub client: u64,
}

/// Failed attempts since `since`: for the account from the address, for the account,
/// and from the address.
pub async fn recent_failures<C: ConnectionTrait>(
    db: &C,
    email: &str,
    client_addr: &str,
    since: DateTime<Utc>,
) -> Result<Failures, DbErr> {
    let failed = || {
        login_attempt::Entity::find()
            .filter(login_attempt::Column::AttemptedAt.gte(since))
            .filter(login_attempt::Column::Succeeded.eq(false))
    };
    let account = failed()
        .filter(login_attempt::Column::Email.eq(email))
        .count(db)
        .await?;
    let pair = if account == 0 {
        0
    } else {
        failed()
            .filter(login_attempt::Column::Email.eq(email))
            .filter(login_attempt::Column::ClientAddr.eq(client_addr))
            .count(db)
            .await?
    };
    let client = failed()
        .filter(login_attempt::Column::ClientAddr.eq(client_addr))
        .count(db)
        .await?;
    Ok(Failures { pair, account, client })
}

/// The oldest failure for the account from the address inside the window, which decides
/// when that pair is free again.
pub async fn oldest_failure_since<C: ConnectionTrait>(
    db: &C,
    email: &str,
    client_addr: &str,
    since: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, DbErr> {
    Ok(login_attempt::Entity::find()
        .filter(login_attempt::Column::Email.eq(email))
        .filter(login_attempt::Column::ClientAddr.eq(client_addr))
        .filter(login_attempt::Column::AttemptedAt.gte(since))
        .filter(login_attempt::Column::Succeeded.eq(false))
        .order_by_asc(login_attempt::Column::AttemptedAt)
        .one(db)
        .await?
        .map(|a| a.attempted_at))
}

/// Attempts older than the throttling window are no longer needed.
pub async fn prune_login_attempts<C: ConnectionTrait>(db: &C, before: DateTime<Utc>) -> Result<u64, DbErr> {
    Ok(login_attempt::Entity::delete_many()
        .filter(login_attempt::Column::AttemptedAt.lt(before))
        .exec(db)
        .await?
        .rows_affected)
}
