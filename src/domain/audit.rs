//! The audit trail's hash chain (ISO/IEC 17025 §7.5, §7.11.3; 21 CFR 11.10(e)).
//!
//! Every event stores the SHA-256 of its own content and the hash of the event before
//! it. Editing an event changes its hash; deleting one leaves a gap in `seq` and a
//! `prev_hash` that no longer matches; reordering breaks the links; cutting events off
//! the end is caught by comparing the last event with a head kept outside the database.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::fmt;

/// The `prev_hash` of the first event.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// An event as it is hashed. The fields are serialised to JSON in this order, so the
/// hash is independent of the database engine and of the order of columns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    pub seq: i64,
    /// UTC, microsecond precision (what both SQLite and PostgreSQL keep exactly).
    #[serde(serialize_with = "micros")]
    pub occurred_at: DateTime<Utc>,
    pub actor_user_id: Option<i32>,
    pub actor: String,
    pub organisation_id: Option<i32>,
    pub action: String,
    pub entity_type: String,
    pub entity_id: String,
    /// The changed fields as a JSON object `{field: [old, new]}`, as stored.
    pub changes: String,
    pub request_id: String,
    pub prev_hash: String,
}

fn micros<S: serde::Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string())
}

/// Drops the nanoseconds a clock may report, so the stored time hashes the same.
pub fn truncate_to_micros(t: DateTime<Utc>) -> DateTime<Utc> {
    use chrono::{SubsecRound, Timelike};
    let t = t.trunc_subsecs(6);
    debug_assert_eq!(t.nanosecond() % 1000, 0);
    t
}

impl Event {
    /// The SHA-256 of the event's canonical JSON, in lowercase hex.
    pub fn hash(&self) -> String {
        let json = serde_json::to_vec(self).expect("an event always serialises");
        hex::encode(Sha256::digest(&json))
    }
}

/// The newest event of a chain, as `metrocal audit head` prints it ("<seq>:<hash>"),
/// to be kept outside the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub seq: i64,
    pub hash: String,
}

impl fmt::Display for Head {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.seq, self.hash)
    }
}

impl std::str::FromStr for Head {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (seq, hash) = s.trim().split_once(':').ok_or("a head is <seq>:<sha256 hex>")?;
        let seq = seq.parse().map_err(|_| format!("'{seq}' is not a sequence number"))?;
        if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err("the hash of a head is 64 hexadecimal digits".into());
        }
        Ok(Head {
            seq,
            hash: hash.to_ascii_lowercase(),
        })
    }
}

/// The first broken link found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Break {
    /// The event's content no longer matches its stored hash: it was edited.
    Edited { seq: i64 },
    /// A sequence number is missing: the event was deleted.
    Missing { seq: i64, found: i64 },
    /// The event does not point at the event before it: events were reordered,
    /// replaced or deleted and renumbered.
    Unlinked { seq: i64 },
    /// The chain ends before the head kept outside the database: events were cut off.
    Truncated { last_seq: i64, head_seq: i64 },
    /// The chain reaches the head's sequence number with another hash: rewritten.
    HeadMismatch { seq: i64 },
}

impl fmt::Display for Break {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Break::Edited { seq } => write!(f, "event {seq} was altered: its content does not match its hash"),
            Break::Missing { seq, found } => {
                write!(f, "event {seq} is missing (the next event found is {found})")
            }
            Break::Unlinked { seq } => write!(
                f,
                "event {seq} does not follow the event before it (events reordered or replaced)"
            ),
            Break::Truncated { last_seq, head_seq } => write!(
                f,
                "the trail ends at event {last_seq} but the recorded head is event {head_seq}: events were removed from the end"
            ),
            Break::HeadMismatch { seq } => {
                write!(f, "event {seq} differs from the recorded head: the trail was rewritten")
            }
        }
    }
}

/// Walks a chain event by event (in `seq` order), so it can be checked in pages.
#[derive(Debug)]
pub struct Verifier {
    next_seq: i64,
    prev_hash: String,
    checked: u64,
}

impl Default for Verifier {
    fn default() -> Self {
        Verifier {
            next_seq: 1,
            prev_hash: GENESIS.to_owned(),
            checked: 0,
        }
    }
}

impl Verifier {
    /// Checks the next event with its stored hash.
    pub fn push(&mut self, event: &Event, stored_hash: &str) -> Result<(), Break> {
        if event.seq != self.next_seq {
            return Err(if event.seq > self.next_seq {
                Break::Missing {
                    seq: self.next_seq,
                    found: event.seq,
                }
            } else {
                Break::Unlinked { seq: event.seq }
            });
        }
        if event.hash() != stored_hash {
            return Err(Break::Edited { seq: event.seq });
        }
        if event.prev_hash != self.prev_hash {
            return Err(Break::Unlinked { seq: event.seq });
        }
        self.next_seq += 1;
        self.prev_hash = stored_hash.to_owned();
        self.checked += 1;
        Ok(())
    }

    /// Ends the walk; with a head kept outside the database, also proves nothing was
    /// cut off the end. Returns the chain's own head.
    pub fn finish(self, head: Option<&Head>) -> Result<(u64, Head), Break> {
        let last = Head {
            seq: self.next_seq - 1,
            hash: self.prev_hash,
        };
        if let Some(h) = head {
            if last.seq < h.seq {
                return Err(Break::Truncated {
                    last_seq: last.seq,
                    head_seq: h.seq,
                });
            }
            if last.seq == h.seq && last.hash != h.hash {
                return Err(Break::HeadMismatch { seq: h.seq });
            }
        }
        Ok((self.checked, last))
    }

    /// The hash at `seq` as the walk saw it, for a head that lies inside the chain.
    pub fn at(&self) -> Head {
        Head {
            seq: self.next_seq - 1,
            hash: self.prev_hash.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn chain(n: i64) -> Vec<(Event, String)> {
        let mut prev = GENESIS.to_owned();
        (1..=n)
            .map(|seq| {
                let e = Event {
                    seq,
                    occurred_at: Utc.with_ymd_and_hms(2026, 11, 28, 3, 0, seq as u32).unwrap(),
                    actor_user_id: Some(3),
                    actor: "li.wei@gdmi.example.cn".into(),
                    organisation_id: Some(1),
                    action: "standard.update".into(),
                    entity_type: "standard".into(),
                    entity_id: seq.to_string(),
                    changes: r#"{"status":["in_service","suspended"]}"#.into(),
                    request_id: format!("r{seq}"),
                    prev_hash: prev.clone(),
                };
                let h = e.hash();
                prev = h.clone();
                (e, h)
            })
            .collect()
    }

    fn verify(events: &[(Event, String)], head: Option<&Head>) -> Result<(u64, Head), Break> {
        let mut v = Verifier::default();
        for (e, h) in events {
            v.push(e, h)?;
        }
        v.finish(head)
    }

    #[test]
    fn the_hash_is_sha256_of_the_canonical_json() {
        // The digest below was computed independently, with Python's hashlib over the
        // JSON text shown (`hashlib.sha256(json.encode()).hexdigest()`).
        let (e, h) = &chain(1)[0];
        let json = serde_json::to_string(e).unwrap();
        assert_eq!(
            json,
            r#"{"seq":1,"occurred_at":"2026-11-28T03:00:01.000000Z","actor_user_id":3,"actor":"li.wei@gdmi.example.cn","organisation_id":1,"action":"standard.update","entity_type":"standard","entity_id":"1","changes":"{\"status\":[\"in_service\",\"suspended\"]}","request_id":"r1","prev_hash":"0000000000000000000000000000000000000000000000000000000000000000"}"#
        );
        assert_eq!(h, "66ed0d123d0354c4bb934821995aec444f22c00c975e38c585df66f91f75b8d7");
    }

    #[test]
    fn sha256_matches_the_fips_180_2_example() {
        // FIPS 180-2 Appendix B.1: SHA-256("abc").
        assert_eq!(
            hex::encode(Sha256::digest(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn an_intact_chain_verifies_to_its_head() {
        let c = chain(5);
        let (n, head) = verify(&c, None).unwrap();
        assert_eq!((n, head.seq), (5, 5));
        assert_eq!(head.hash, c[4].1);
        assert!(verify(&c, Some(&head)).is_ok());
        // A head recorded earlier still verifies once the chain has grown.
        assert!(verify(
            &c,
            Some(&Head {
                seq: 3,
                hash: c[2].1.clone()
            })
        )
        .is_ok());
        assert_eq!(verify(&[], None).unwrap().0, 0);
    }

    #[test]
    fn an_edited_event_is_found() {
        let mut c = chain(5);
        c[2].0.changes = r#"{"status":["in_service","withdrawn"]}"#.into();
        assert_eq!(verify(&c, None).unwrap_err(), Break::Edited { seq: 3 });
        // Recomputing the edited event's hash moves the break to the next link.
        c[2].1 = c[2].0.hash();
        assert_eq!(verify(&c, None).unwrap_err(), Break::Unlinked { seq: 4 });
    }

    #[test]
    fn a_deleted_event_is_found() {
        let mut c = chain(5);
        c.remove(1);
        assert_eq!(verify(&c, None).unwrap_err(), Break::Missing { seq: 2, found: 3 });
    }

    #[test]
    fn reordered_events_are_found() {
        let mut c = chain(5);
        c.swap(1, 2);
        assert!(matches!(verify(&c, None).unwrap_err(), Break::Missing { seq: 2, .. }));
        // Swapping the contents but keeping the numbering breaks the links.
        let mut c = chain(5);
        let (a, b) = (c[1].0.seq, c[2].0.seq);
        c.swap(1, 2);
        c[1].0.seq = a;
        c[2].0.seq = b;
        c[1].1 = c[1].0.hash();
        c[2].1 = c[2].0.hash();
        assert_eq!(verify(&c, None).unwrap_err(), Break::Unlinked { seq: 2 });
    }

    #[test]
    fn truncation_is_found_against_the_head_kept_outside() {
        let c = chain(5);
        let head = verify(&c, None).unwrap().1;
        assert_eq!(
            verify(&c[..3], Some(&head)).unwrap_err(),
            Break::Truncated {
                last_seq: 3,
                head_seq: 5
            }
        );
        // Without the outside head a truncated chain is self-consistent: that is why
        // the head is printed to be kept elsewhere.
        assert!(verify(&c[..3], None).is_ok());
        let forged = Head {
            seq: 5,
            hash: "f".repeat(64),
        };
        assert_eq!(verify(&c, Some(&forged)).unwrap_err(), Break::HeadMismatch { seq: 5 });
    }

    #[test]
    fn heads_parse_and_print() {
        let h: Head = format!("42:{}", "A".repeat(64)).parse().unwrap();
        assert_eq!(h.to_string(), format!("42:{}", "a".repeat(64)));
        assert!("42".parse::<Head>().is_err());
        assert!("x:00".parse::<Head>().is_err());
        assert!(format!("1:{}", "g".repeat(64)).parse::<Head>().is_err());
    }

    #[test]
    fn times_hash_at_microsecond_precision() {
        let t = Utc.timestamp_opt(1_700_000_000, 123_456_789).unwrap();
        assert_eq!(truncate_to_micros(t).timestamp_subsec_nanos(), 123_456_000);
    }
}
