//! Certificates: each laboratory's signing keys (public halves; the private keys live in
//! files outside the database), its gap-free number sequence per year, and the issued
//! certificates with their frozen content, files, digests and signature.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

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
}

#[derive(DeriveIden)]
enum LabKeys {
    Table,
    Id,
    LabId,
    KeyId,
    PublicKey,
    CreatedAt,
    RetiredAt,
}

#[derive(DeriveIden)]
enum CertificateSequences {
    Table,
    LabId,
    Year,
    LastSeq,
}

#[derive(DeriveIden)]
enum Certificates {
    Table,
    Id,
    LabId,
    CustomerId,
    Number,
    Year,
    Seq,
    Kind,
    Revision,
    ReplacesId,
    Reason,
    Status,
    StatusReason,
    Token,
    Snapshot,
    ContentSha256,
    Dcc,
    DccSha256,
    Pdf,
    PdfSha256,
    KeyId,
    Signature,
    IssuedAt,
    IssuedBy,
    StatusChangedAt,
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
                    .table(LabKeys::Table)
                    .col(pk_auto(LabKeys::Id))
                    .col(integer(LabKeys::LabId))
                    // The first 16 hex digits of the public key's SHA-256.
                    .col(string_len(LabKeys::KeyId, 16).unique_key())
                    .col(string_len(LabKeys::PublicKey, 64))
                    .col(timestamp_with_time_zone(LabKeys::CreatedAt))
                    .col(timestamp_with_time_zone_null(LabKeys::RetiredAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_lab_keys_lab")
                            .from(LabKeys::Table, LabKeys::LabId)
                            .to(Organisations::Table, Organisations::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(CertificateSequences::Table)
                    .col(integer(CertificateSequences::LabId))
                    .col(integer(CertificateSequences::Year))
                    .col(integer(CertificateSequences::LastSeq))
                    .primary_key(
                        Index::create()
                            .col(CertificateSequences::LabId)
                            .col(CertificateSequences::Year),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Certificates::Table)
                    .col(pk_auto(Certificates::Id))
                    .col(integer(Certificates::LabId))
                    .col(integer(Certificates::CustomerId))
                    .col(string_len(Certificates::Number, 64).unique_key())
                    .col(integer(Certificates::Year))
                    .col(integer(Certificates::Seq))
                    .col(string_len(Certificates::Kind, 24))
                    .col(integer(Certificates::Revision))
                    .col(integer_null(Certificates::ReplacesId))
                    .col(text(Certificates::Reason))
                    // issued, superseded or withdrawn.
                    .col(string_len(Certificates::Status, 16))
                    .col(text(Certificates::StatusReason))
                    // The unguessable token of the public verification page.
                    .col(string_len(Certificates::Token, 64).unique_key())
                    .col(text(Certificates::Snapshot))
                    .col(string_len(Certificates::ContentSha256, 64))
                    .col(text(Certificates::Dcc))
                    .col(string_len(Certificates::DccSha256, 64))
                    .col(blob_null(Certificates::Pdf))
                    .col(string_len_null(Certificates::PdfSha256, 64))
                    .col(string_len(Certificates::KeyId, 16))
                    .col(string_len(Certificates::Signature, 128))
                    .col(timestamp_with_time_zone(Certificates::IssuedAt))
                    .col(integer_null(Certificates::IssuedBy))
                    .col(timestamp_with_time_zone_null(Certificates::StatusChangedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_certificates_lab")
                            .from(Certificates::Table, Certificates::LabId)
                            .to(Organisations::Table, Organisations::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_certificates_customer")
                            .from(Certificates::Table, Certificates::CustomerId)
                            .to(Organisations::Table, Organisations::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_certificates_replaces")
                            .from(Certificates::Table, Certificates::ReplacesId)
                            .to(Certificates::Table, Certificates::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_certificates_issued_by")
                            .from(Certificates::Table, Certificates::IssuedBy)
                            .to(Users::Table, Users::Id),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, cols, unique) in [
            (
                "ux_certificates_lab_seq",
                vec![Certificates::LabId, Certificates::Year, Certificates::Seq],
                true,
            ),
            (
                "ix_certificates_customer",
                vec![Certificates::CustomerId, Certificates::IssuedAt],
                false,
            ),
            ("ix_certificates_dcc_sha", vec![Certificates::DccSha256], false),
            ("ix_certificates_pdf_sha", vec![Certificates::PdfSha256], false),
        ] {
            let mut i = Index::create();
            i.name(name).table(Certificates::Table);
            for c in cols {
                i.col(c);
            }
            if unique {
                i.unique();
            }
            manager.create_index(i.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            Certificates::Table.into_iden(),
            CertificateSequences::Table.into_iden(),
            LabKeys::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
