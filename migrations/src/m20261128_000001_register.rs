//! The province's register: regions, JJF 1022 categories, organisations,
//! measurement standards and their devices.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Regions {
    Table,
    Id,
    Code,
    NameZh,
    NameEn,
    ParentCode,
}

#[derive(DeriveIden)]
enum Categories {
    Table,
    Id,
    Code,
    Level,
    NameZh,
    NameEn,
    Source,
}

#[derive(DeriveIden)]
enum Organisations {
    Table,
    Id,
    Code,
    Kind,
    NameZh,
    NameEn,
    RegionId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Standards {
    Table,
    Id,
    CertNo,
    NameZh,
    NameEn,
    CategoryCode,
    OwnerId,
    RegionId,
    Level,
    CertAuthority,
    CertIssuedOn,
    CertExpiresOn,
    Status,
    Quantity,
    RangeMinSi,
    RangeMaxSi,
    RangeMinUnit,
    RangeMaxUnit,
    AccuracyKind,
    AccuracySi,
    AccuracyUnit,
    AccuracyText,
    Regulations,
    ResponsiblePerson,
    SearchText,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Devices {
    Table,
    Id,
    StandardId,
    Role,
    Name,
    Manufacturer,
    Model,
    Serial,
    Quantity,
    RangeMinSi,
    RangeMaxSi,
    RangeMinUnit,
    RangeMaxUnit,
    Accuracy,
    CalCertNo,
    CalDate,
    CalDue,
    CreatedAt,
    UpdatedAt,
}

fn index(name: &str, table: impl IntoIden, cols: &[&'static str]) -> IndexCreateStatement {
    let mut stmt = Index::create();
    stmt.name(name).table(table);
    for c in cols {
        stmt.col(Alias::new(*c));
    }
    stmt.take()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Regions::Table)
                    .col(pk_auto(Regions::Id))
                    .col(string_len_uniq(Regions::Code, 6))
                    .col(string(Regions::NameZh))
                    .col(string(Regions::NameEn))
                    .col(string_len_null(Regions::ParentCode, 6))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Categories::Table)
                    .col(pk_auto(Categories::Id))
                    .col(string_len_uniq(Categories::Code, 8))
                    .col(small_integer(Categories::Level))
                    .col(string(Categories::NameZh))
                    .col(string(Categories::NameEn))
                    .col(string(Categories::Source))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Organisations::Table)
                    .col(pk_auto(Organisations::Id))
                    .col(string_len_uniq(Organisations::Code, 64))
                    .col(string_len(Organisations::Kind, 32))
                    .col(string(Organisations::NameZh))
                    .col(string(Organisations::NameEn))
                    .col(integer_null(Organisations::RegionId))
                    .col(timestamp_with_time_zone(Organisations::CreatedAt))
                    .col(timestamp_with_time_zone(Organisations::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_organisations_region")
                            .from(Organisations::Table, Organisations::RegionId)
                            .to(Regions::Table, Regions::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("ix_organisations_region", Organisations::Table, &["region_id"]))
            .await?;
        manager
            .create_index(index("ix_organisations_name", Organisations::Table, &["name_zh"]))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Standards::Table)
                    .col(pk_auto(Standards::Id))
                    .col(string_len_uniq(Standards::CertNo, 128))
                    .col(string(Standards::NameZh))
                    .col(string(Standards::NameEn))
                    .col(string_len(Standards::CategoryCode, 8))
                    .col(integer(Standards::OwnerId))
                    .col(integer_null(Standards::RegionId))
                    .col(string_len(Standards::Level, 32))
                    .col(string(Standards::CertAuthority))
                    .col(date(Standards::CertIssuedOn))
                    .col(date(Standards::CertExpiresOn))
                    .col(string_len(Standards::Status, 16))
                    .col(string_len(Standards::Quantity, 32))
                    .col(double(Standards::RangeMinSi))
                    .col(double(Standards::RangeMaxSi))
                    .col(string_len(Standards::RangeMinUnit, 16))
                    .col(string_len(Standards::RangeMaxUnit, 16))
                    .col(string_len(Standards::AccuracyKind, 16))
                    .col(double_null(Standards::AccuracySi))
                    .col(string_len_null(Standards::AccuracyUnit, 16))
                    .col(string(Standards::AccuracyText))
                    .col(string(Standards::Regulations))
                    .col(string(Standards::ResponsiblePerson))
                    .col(text(Standards::SearchText))
                    .col(timestamp_with_time_zone(Standards::CreatedAt))
                    .col(timestamp_with_time_zone(Standards::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_standards_owner")
                            .from(Standards::Table, Standards::OwnerId)
                            .to(Organisations::Table, Organisations::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_standards_region")
                            .from(Standards::Table, Standards::RegionId)
                            .to(Regions::Table, Regions::Id),
                    )
                    .to_owned(),
            )
            .await?;
        // One index per filter and per sort key of the register list. Each filter's index
        // leads with its column, then the default sort (name, then id as the tie-break the
        // list uses), then the other filter columns, so that the list's COUNT(*) is answered from the index alone and the
        // first page comes in name order without a sort. docs/benchmarks.md lists the
        // query plans checked at 46,000 rows.
        for (name, cols) in [
            (
                "ix_standards_owner",
                &[
                    "owner_id",
                    "name_zh",
                    "id",
                    "status",
                    "cert_expires_on",
                    "level",
                    "category_code",
                    "region_id",
                ][..],
            ),
            (
                "ix_standards_region",
                &[
                    "region_id",
                    "name_zh",
                    "id",
                    "status",
                    "cert_expires_on",
                    "level",
                    "category_code",
                    "owner_id",
                ][..],
            ),
            (
                "ix_standards_level",
                &[
                    "level",
                    "name_zh",
                    "id",
                    "status",
                    "cert_expires_on",
                    "region_id",
                    "category_code",
                    "owner_id",
                ][..],
            ),
            (
                "ix_standards_category",
                &[
                    "category_code",
                    "status",
                    "cert_expires_on",
                    "level",
                    "region_id",
                    "owner_id",
                ][..],
            ),
            (
                "ix_standards_status_expiry",
                &[
                    "status",
                    "cert_expires_on",
                    "region_id",
                    "category_code",
                    "level",
                    "owner_id",
                ][..],
            ),
            // The sort keys carry the filter columns too: a sorted page with a filter is
            // an in-order index scan that stops after one page of matches.
            (
                "ix_standards_expiry",
                &[
                    "cert_expires_on",
                    "id",
                    "category_code",
                    "level",
                    "status",
                    "region_id",
                    "owner_id",
                ][..],
            ),
            (
                "ix_standards_name",
                &[
                    "name_zh",
                    "id",
                    "category_code",
                    "level",
                    "status",
                    "cert_expires_on",
                    "region_id",
                    "owner_id",
                ][..],
            ),
            ("ix_standards_updated", &["updated_at", "id"][..]),
        ] {
            manager.create_index(index(name, Standards::Table, cols)).await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(Devices::Table)
                    .col(pk_auto(Devices::Id))
                    .col(integer(Devices::StandardId))
                    .col(string_len(Devices::Role, 16))
                    .col(string(Devices::Name))
                    .col(string(Devices::Manufacturer))
                    .col(string(Devices::Model))
                    .col(string_len(Devices::Serial, 64))
                    .col(string_len_null(Devices::Quantity, 32))
                    .col(double_null(Devices::RangeMinSi))
                    .col(double_null(Devices::RangeMaxSi))
                    .col(string_len_null(Devices::RangeMinUnit, 16))
                    .col(string_len_null(Devices::RangeMaxUnit, 16))
                    .col(string(Devices::Accuracy))
                    .col(string_null(Devices::CalCertNo))
                    .col(date_null(Devices::CalDate))
                    .col(date_null(Devices::CalDue))
                    .col(timestamp_with_time_zone(Devices::CreatedAt))
                    .col(timestamp_with_time_zone(Devices::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_devices_standard")
                            .from(Devices::Table, Devices::StandardId)
                            .to(Standards::Table, Standards::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index("ux_devices_standard_serial", Devices::Table, &["standard_id", "serial"])
                    .unique()
                    .take(),
            )
            .await?;
        manager
            .create_index(index("ix_devices_due", Devices::Table, &["cal_due"]))
            .await?;

        // Full-text search over name, code, certificate number and owner. The text
        // lives in standards.search_text on both engines; each engine indexes it with
        // its own substring index, so `q` never scans the table for 3+ characters.
        let conn = manager.get_connection();
        match manager.get_database_backend() {
            DbBackend::Sqlite => {
                conn.execute_unprepared(
                    "CREATE VIRTUAL TABLE standards_fts USING fts5(
                        search_text, content='standards', content_rowid='id',
                        tokenize='trigram')",
                )
                .await?;
                conn.execute_unprepared(crate::SQLITE_FTS_TRIGGERS).await?;
            }
            DbBackend::Postgres => {
                conn.execute_unprepared("CREATE EXTENSION IF NOT EXISTS pg_trgm")
                    .await?;
                conn.execute_unprepared(
                    "CREATE INDEX ix_standards_search ON standards
                        USING gin (search_text gin_trgm_ops)",
                )
                .await?;
            }
            _ => {}
        }
        Ok(())
    }
}
