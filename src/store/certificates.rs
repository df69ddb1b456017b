//! Issued certificates, their numbering, and the laboratories' public keys.

use super::entities::{certificate, lab_key};
use super::traceability::statement;
use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};

/// The next number of a laboratory's year: the sequence row is created or bumped in one
/// statement, which takes the row's write lock until the caller's transaction ends, so
/// concurrent issues queue on it and the numbers have neither gaps nor duplicates (a
/// rolled-back issue gives its number back).
pub async fn next_seq<C: ConnectionTrait>(db: &C, lab: i32, year: i32) -> Result<i32, DbErr> {
    let sql = "INSERT INTO certificate_sequences (lab_id, year, last_seq) VALUES ($1, $2, 1) \
               ON CONFLICT (lab_id, year) DO UPDATE SET last_seq = certificate_sequences.last_seq + 1 \
               RETURNING last_seq";
    let row = db
        .query_one_raw(statement(db.get_database_backend(), sql, vec![lab.into(), year.into()]))
        .await?
        .ok_or_else(|| DbErr::Custom("the sequence returned no row".into()))?;
    row.try_get("", "last_seq")
}

pub async fn insert<C: ConnectionTrait>(db: &C, row: certificate::ActiveModel) -> Result<certificate::Model, DbErr> {
    sea_orm::ActiveModelTrait::insert(row, db).await
}

pub async fn by_id<C: ConnectionTrait>(db: &C, id: i32) -> Result<Option<certificate::Model>, DbErr> {
    certificate::Entity::find_by_id(id).one(db).await
}

pub async fn by_number<C: ConnectionTrait>(db: &C, number: &str) -> Result<Option<certificate::Model>, DbErr> {
    certificate::Entity::find()
        .filter(certificate::Column::Number.eq(number))
        .one(db)
        .await
}

pub async fn by_token<C: ConnectionTrait>(db: &C, token: &str) -> Result<Option<certificate::Model>, DbErr> {
    certificate::Entity::find()
        .filter(certificate::Column::Token.eq(token))
        .one(db)
        .await
}

/// The certificate whose PDF or DCC has this SHA-256.
pub async fn by_file_sha<C: ConnectionTrait>(db: &C, sha: &str) -> Result<Option<certificate::Model>, DbErr> {
    certificate::Entity::find()
        .filter(
            Condition::any()
                .add(certificate::Column::DccSha256.eq(sha))
                .add(certificate::Column::PdfSha256.eq(sha)),
        )
        .one(db)
        .await
}

/// The certificate that replaced `id`, if any.
pub async fn replacement_of<C: ConnectionTrait>(db: &C, id: i32) -> Result<Option<certificate::Model>, DbErr> {
    certificate::Entity::find()
        .filter(certificate::Column::ReplacesId.eq(id))
        .one(db)
        .await
}

/// Changes a certificate's status from `from`; 0 rows when it was not in that status.
pub async fn set_status<C: ConnectionTrait>(
    db: &C,
    id: i32,
    from: &str,
    to: &str,
    reason: &str,
    at: DateTime<Utc>,
) -> Result<u64, DbErr> {
    Ok(certificate::Entity::update_many()
        .col_expr(certificate::Column::Status, to.into())
        .col_expr(certificate::Column::StatusReason, reason.into())
        .col_expr(certificate::Column::StatusChangedAt, Some(at).into())
        .filter(certificate::Column::Id.eq(id))
        .filter(certificate::Column::Status.eq(from))
        .exec(db)
        .await?
        .rows_affected)
}

/// A customer's certificates (or every one, for None), newest first, without their files.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    customer: Option<i32>,
    lab: Option<i32>,
    text: Option<&str>,
    offset: u64,
    limit: u64,
) -> Result<(Vec<certificate::Model>, u64), DbErr> {
    use certificate::Column as C_;
    let mut c = Condition::all();
    if let Some(o) = customer {
        c = c.add(C_::CustomerId.eq(o));
    }
    if let Some(l) = lab {
        c = c.add(C_::LabId.eq(l));
    }
    if let Some(t) = text.filter(|t| !t.is_empty()) {
        c = c.add(
            Condition::any()
                .add(C_::Number.contains(t))
                .add(C_::Snapshot.contains(t)),
        );
    }
    let total = certificate::Entity::find().filter(c.clone()).count(db).await?;
    let rows = certificate::Entity::find()
        .select_only()
        .columns([
            C_::Id,
            C_::LabId,
            C_::CustomerId,
            C_::Number,
            C_::Year,
            C_::Seq,
            C_::Kind,
            C_::Revision,
            C_::ReplacesId,
            C_::Reason,
            C_::Status,
            C_::StatusReason,
            C_::Token,
            C_::Snapshot,
            C_::ContentSha256,
            C_::DccSha256,
            C_::PdfSha256,
            C_::KeyId,
            C_::Signature,
            C_::IssuedAt,
            C_::IssuedBy,
            C_::StatusChangedAt,
        ])
        .expr_as(sea_orm::sea_query::Expr::val(""), "dcc")
        .expr_as(sea_orm::sea_query::Expr::val(Option::<Vec<u8>>::None), "pdf")
        .filter(c)
        .order_by_desc(C_::IssuedAt)
        .order_by_desc(C_::Id)
        .offset(offset)
        .limit(limit)
        .into_model::<certificate::Model>()
        .all(db)
        .await?;
    Ok((rows, total))
}

pub async fn active_key<C: ConnectionTrait>(db: &C, lab: i32) -> Result<Option<lab_key::Model>, DbErr> {
    lab_key::Entity::find()
        .filter(lab_key::Column::LabId.eq(lab))
        .filter(lab_key::Column::RetiredAt.is_null())
        .order_by_desc(lab_key::Column::Id)
        .one(db)
        .await
}

/// The laboratory's key with this id. The laboratory is part of the lookup, so that on a
/// database distributed by organisation it is answered by the laboratory's own node
/// (docs/operations.md, "The next step").
pub async fn key_by_id<C: ConnectionTrait>(db: &C, lab: i32, key_id: &str) -> Result<Option<lab_key::Model>, DbErr> {
    lab_key::Entity::find()
        .filter(lab_key::Column::LabId.eq(lab))
        .filter(lab_key::Column::KeyId.eq(key_id))
        .one(db)
        .await
}

pub async fn keys_of<C: ConnectionTrait>(db: &C, lab: i32) -> Result<Vec<lab_key::Model>, DbErr> {
    lab_key::Entity::find()
        .filter(lab_key::Column::LabId.eq(lab))
        .order_by_asc(lab_key::Column::Id)
        .all(db)
        .await
}

pub async fn insert_key<C: ConnectionTrait>(
    db: &C,
    lab: i32,
    key_id: &str,
    public_key: &str,
    sealed: (&str, &str),
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    // No conflict target: a key id already there, or (lab_keys_one_active) another
    // active key of the laboratory made at the same moment by another instance, and this
    // one is not stored. The caller reads back the laboratory's active key.
    let sql = "INSERT INTO lab_keys (lab_id, key_id, public_key, created_at, retired_at, sealed_private, kek_id) \
               VALUES ($1, $2, $3, $4, NULL, $5, $6) ON CONFLICT DO NOTHING";
    db.execute_raw(sea_orm::Statement::from_sql_and_values(
        db.get_database_backend(),
        sql,
        [
            lab.into(),
            key_id.into(),
            public_key.into(),
            at.into(),
            sealed.0.into(),
            sealed.1.into(),
        ],
    ))
    .await?;
    Ok(())
}

/// Every key, for sealing legacy key files and re-sealing under a new key-encryption key.
pub async fn all_keys<C: ConnectionTrait>(db: &C) -> Result<Vec<lab_key::Model>, DbErr> {
    lab_key::Entity::find().order_by_asc(lab_key::Column::Id).all(db).await
}

/// Stores a key's sealed private half.
pub async fn seal_key<C: ConnectionTrait>(db: &C, id: i32, sealed: &str, kek_id: &str) -> Result<(), DbErr> {
    lab_key::Entity::update_many()
        .col_expr(lab_key::Column::SealedPrivate, Some(sealed.to_owned()).into())
        .col_expr(lab_key::Column::KekId, Some(kek_id.to_owned()).into())
        .filter(lab_key::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn retire_keys<C: ConnectionTrait>(db: &C, lab: i32, at: DateTime<Utc>) -> Result<u64, DbErr> {
    Ok(lab_key::Entity::update_many()
        .col_expr(lab_key::Column::RetiredAt, Some(at).into())
        .filter(lab_key::Column::LabId.eq(lab))
        .filter(lab_key::Column::RetiredAt.is_null())
        .exec(db)
        .await?
        .rows_affected)
}
