//! Accounts, sessions, API tokens, login attempts and the hash-chained audit trail.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Organisations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    OrganisationId,
    Email,
    Name,
    Roles,
    PasswordHash,
    MustChangePassword,
    DisabledAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    Id,
    UserId,
    TokenHash,
    ClientAddr,
    CreatedAt,
    LastSeenAt,
    ReauthAt,
}

#[derive(DeriveIden)]
enum ApiTokens {
    Table,
    Id,
    UserId,
    Name,
    TokenHash,
    Prefix,
    CreatedAt,
    LastUsedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum LoginAttempts {
    Table,
    Id,
    Email,
    ClientAddr,
    AttemptedAt,
    Succeeded,
}

#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    Seq,
    OccurredAt,
    ActorUserId,
    Actor,
    OrganisationId,
    Action,
    EntityType,
    EntityId,
    Changes,
    RequestId,
    PrevHash,
    Hash,
}

#[derive(DeriveIden)]
enum AuditHead {
    Table,
    Id,
    Seq,
    Hash,
}

fn index(name: &str, table: impl IntoIden, cols: &[&'static str]) -> IndexCreateStatement {
    let mut stmt = Index::create();
    stmt.name(name).table(table);
    for c in cols {
        stmt.col(Alias::new(*c));
    }
    stmt.take()
}

/// The hash every chain starts from: 64 zeros.
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(pk_auto(Users::Id))
                    .col(integer(Users::OrganisationId))
                    .col(string_len_uniq(Users::Email, 254))
                    .col(string_len(Users::Name, 200))
                    .col(string_len(Users::Roles, 200))
                    .col(string_len(Users::PasswordHash, 200))
                    .col(boolean(Users::MustChangePassword))
                    .col(timestamp_with_time_zone_null(Users::DisabledAt))
                    .col(timestamp_with_time_zone(Users::CreatedAt))
                    .col(timestamp_with_time_zone(Users::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_users_organisation")
                            .from(Users::Table, Users::OrganisationId)
                            .to(Organisations::Table, Organisations::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("ix_users_organisation", Users::Table, &["organisation_id"]))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Sessions::Table)
                    .col(pk_auto(Sessions::Id))
                    .col(integer(Sessions::UserId))
                    .col(string_len_uniq(Sessions::TokenHash, 64))
                    .col(string_len(Sessions::ClientAddr, 64))
                    .col(timestamp_with_time_zone(Sessions::CreatedAt))
                    .col(timestamp_with_time_zone(Sessions::LastSeenAt))
                    .col(timestamp_with_time_zone_null(Sessions::ReauthAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_sessions_user")
                            .from(Sessions::Table, Sessions::UserId)
                            .to(Users::Table, Users::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("ix_sessions_user", Sessions::Table, &["user_id"]))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ApiTokens::Table)
                    .col(pk_auto(ApiTokens::Id))
                    .col(integer(ApiTokens::UserId))
                    .col(string_len(ApiTokens::Name, 100))
                    .col(string_len_uniq(ApiTokens::TokenHash, 64))
                    .col(string_len(ApiTokens::Prefix, 16))
                    .col(timestamp_with_time_zone(ApiTokens::CreatedAt))
                    .col(timestamp_with_time_zone_null(ApiTokens::LastUsedAt))
                    .col(timestamp_with_time_zone_null(ApiTokens::RevokedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_api_tokens_user")
                            .from(ApiTokens::Table, ApiTokens::UserId)
                            .to(Users::Table, Users::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("ix_api_tokens_user", ApiTokens::Table, &["user_id"]))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(LoginAttempts::Table)
                    .col(pk_auto(LoginAttempts::Id))
                    .col(string_len(LoginAttempts::Email, 254))
                    .col(string_len(LoginAttempts::ClientAddr, 64))
                    .col(timestamp_with_time_zone(LoginAttempts::AttemptedAt))
                    .col(boolean(LoginAttempts::Succeeded))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_login_attempts_email",
                LoginAttempts::Table,
                &["email", "attempted_at"],
            ))
            .await?;
        manager
            .create_index(index(
                "ix_login_attempts_client",
                LoginAttempts::Table,
                &["client_addr", "attempted_at"],
            ))
            .await?;

        // The audit trail. `seq` is assigned by the application from `audit_head`
        // (never by an auto-increment), so a gap is a deleted event.
        manager
            .create_table(
                Table::create()
                    .table(AuditEvents::Table)
                    .col(big_integer(AuditEvents::Seq).primary_key())
                    .col(timestamp_with_time_zone(AuditEvents::OccurredAt))
                    .col(integer_null(AuditEvents::ActorUserId))
                    .col(string_len(AuditEvents::Actor, 254))
                    .col(integer_null(AuditEvents::OrganisationId))
                    .col(string_len(AuditEvents::Action, 64))
                    .col(string_len(AuditEvents::EntityType, 64))
                    .col(string_len(AuditEvents::EntityId, 128))
                    .col(text(AuditEvents::Changes))
                    .col(string_len(AuditEvents::RequestId, 64))
                    .col(string_len(AuditEvents::PrevHash, 64))
                    .col(string_len(AuditEvents::Hash, 64))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_audit_entity",
                AuditEvents::Table,
                &["entity_type", "entity_id", "seq"],
            ))
            .await?;
        manager
            .create_index(index("ix_audit_actor", AuditEvents::Table, &["actor_user_id", "seq"]))
            .await?;
        manager
            .create_index(index("ix_audit_action", AuditEvents::Table, &["action", "seq"]))
            .await?;
        manager
            .create_index(index("ix_audit_time", AuditEvents::Table, &["occurred_at"]))
            .await?;

        // The head of the chain: one row, locked by every append, so appends from
        // several transactions (and several app instances on PostgreSQL) form one chain.
        manager
            .create_table(
                Table::create()
                    .table(AuditHead::Table)
                    .col(integer(AuditHead::Id).primary_key())
                    .col(big_integer(AuditHead::Seq))
                    .col(string_len(AuditHead::Hash, 64))
                    .to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::insert()
                    .into_table(AuditHead::Table)
                    .columns([AuditHead::Id, AuditHead::Seq, AuditHead::Hash])
                    .values_panic([1.into(), 0i64.into(), GENESIS.into()])
                    .to_owned(),
            )
            .await?;

        // Events are append-only: the database itself refuses to change or remove one.
        let conn = manager.get_connection();
        match manager.get_database_backend() {
            DbBackend::Postgres => {
                conn.execute_unprepared(
                    "CREATE FUNCTION audit_events_append_only() RETURNS trigger
                     LANGUAGE plpgsql AS $$
                     BEGIN
                         RAISE EXCEPTION 'audit events are append-only (% refused)', TG_OP
                             USING ERRCODE = 'insufficient_privilege';
                     END $$",
                )
                .await?;
                conn.execute_unprepared(
                    "CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events
                         FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()",
                )
                .await?;
                conn.execute_unprepared(
                    "CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
                         FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()",
                )
                .await?;
            }
            DbBackend::Sqlite => {
                conn.execute_unprepared(
                    "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
                         BEGIN SELECT RAISE(ABORT, 'audit events are append-only (UPDATE refused)'); END;
                     CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
                         BEGIN SELECT RAISE(ABORT, 'audit events are append-only (DELETE refused)'); END;",
                )
                .await?;
            }
            _ => {}
        }
        Ok(())
    }
}
