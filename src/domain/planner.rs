//! The automatic planner: which laboratory calibrates each due item, in which week.
//!
//! Each laboratory can do a number of calibrations per JJF 1022 category per week. A
//! holiday takes its share of the week (a week with one holiday has 4/5 of the
//! capacity, rounded down). The planner:
//! 1. places items with a due date in the horizon as late as their due date allows, in
//!    order of due date from the last: the latest week whose first working day is on or
//!    before the due date, at the item's own laboratory first, then at another
//!    laboratory accredited for the category. Placing the latest deadlines last-first
//!    keeps the early weeks free for the early deadlines, so every due date that can be
//!    met within the capacity is met (the exchange argument for unit jobs with deadlines);
//! 2. places what is already overdue, and what did not fit before its due date, in the
//!    earliest week with room, and says why it is late;
//! 3. lists what cannot be placed at all, and why.

use chrono::{Datelike, Duration, NaiveDate};
use rustc_hash::{FxHashMap, FxHashSet};
use serde::Serialize;

/// The longest plan accepted.
pub const MAX_WEEKS: u32 = 104;

/// One item to plan.
#[derive(Debug, Clone)]
pub struct Demand {
    /// The category's index into the caller's list of categories.
    pub category: u32,
    pub due: Option<NaiveDate>,
    /// Laboratories in order of preference: the item's own first.
    pub labs: Vec<i32>,
}

/// Why an item's due date is not met.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// Past its due date before the plan starts; placed in the first week with room.
    AlreadyOverdue,
    /// Every laboratory that may take it is full up to its due date; placed later.
    CapacityBeforeDue,
    /// No working day is left in the plan before its due date (a weekend or holidays
    /// between the start and the due date); placed in the first week with room.
    NoDayBeforeDue,
    /// No laboratory is accredited for its category.
    NoLaboratory,
    /// Every laboratory that may take it is full in every week of the plan.
    NoCapacity,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::AlreadyOverdue => "already_overdue",
            Reason::CapacityBeforeDue => "capacity_before_due",
            Reason::NoDayBeforeDue => "no_day_before_due",
            Reason::NoLaboratory => "no_laboratory",
            Reason::NoCapacity => "no_capacity",
        }
    }
}

/// Where an item went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    pub lab: i32,
    pub week: u32,
    pub day: NaiveDate,
}

/// The planner's answer for each demand, in the demands' order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub placement: Option<Placement>,
    /// Why the due date is not met (None: it is).
    pub reason: Option<Reason>,
}

/// The plan's weeks and each laboratory's capacity in them.
pub struct Calendar {
    pub start: NaiveDate,
    pub weeks: u32,
    /// Each week's first working day and number of working days, per laboratory.
    working: FxHashMap<i32, Vec<(Option<NaiveDate>, u32)>>,
    public: Vec<(Option<NaiveDate>, u32)>,
}

impl Calendar {
    /// Weeks run Monday to Friday, from the week holding `start` (its days before `start`
    /// are gone). `holidays` holds (laboratory, day); None is a public holiday.
    pub fn new(start: NaiveDate, weeks: u32, holidays: &[(Option<i32>, NaiveDate)]) -> Calendar {
        let weeks = weeks.min(MAX_WEEKS);
        let public_days: FxHashSet<NaiveDate> = holidays.iter().filter(|h| h.0.is_none()).map(|h| h.1).collect();
        let mut lab_days: FxHashMap<i32, FxHashSet<NaiveDate>> = FxHashMap::default();
        for (lab, day) in holidays {
            if let Some(l) = lab {
                lab_days.entry(*l).or_default().insert(*day);
            }
        }
        let monday = start - Duration::days(start.weekday().num_days_from_monday() as i64);
        let week_of = |off: &dyn Fn(NaiveDate) -> bool| -> Vec<(Option<NaiveDate>, u32)> {
            (0..weeks)
                .map(|w| {
                    let days: Vec<NaiveDate> = (0..5)
                        .map(|d| monday + Duration::days(7 * w as i64 + d))
                        .filter(|d| *d >= start && !public_days.contains(d) && !off(*d))
                        .collect();
                    (days.first().copied(), days.len() as u32)
                })
                .collect()
        };
        let public = week_of(&|_| false);
        let working = lab_days
            .iter()
            .map(|(lab, days)| (*lab, week_of(&|d| days.contains(&d))))
            .collect();
        Calendar {
            start,
            weeks,
            working,
            public,
        }
    }

    /// The last day of the plan (the last week's Friday).
    pub fn end(&self) -> NaiveDate {
        let monday = self.start - Duration::days(self.start.weekday().num_days_from_monday() as i64);
        monday + Duration::days(7 * self.weeks as i64 - 3)
    }

    /// The Monday of week `w`.
    pub fn monday(&self, w: u32) -> NaiveDate {
        let monday = self.start - Duration::days(self.start.weekday().num_days_from_monday() as i64);
        monday + Duration::days(7 * w as i64)
    }

    /// A laboratory's first working day and working days in week `w`.
    pub fn week(&self, lab: i32, w: u32) -> (Option<NaiveDate>, u32) {
        self.working.get(&lab).unwrap_or(&self.public)[w as usize]
    }

    /// Capacity in week `w` of a laboratory that does `per_week` in a full week.
    pub fn capacity(&self, lab: i32, w: u32, per_week: u32) -> u32 {
        let (_, days) = self.week(lab, w);
        per_week * days / 5
    }
}

/// Calibrations planned per (laboratory, category), week by week.
pub type Load = FxHashMap<(i32, u32), Vec<u32>>;

fn week_room(calendar: &Calendar, lab: i32, per_week: u32) -> Vec<u32> {
    (0..calendar.weeks)
        .map(|w| calendar.capacity(lab, w, per_week))
        .collect()
}

/// Plans `demands`; `per_week(lab, category)` is a laboratory's weekly capacity, and
/// `booked` the work already ordered: (laboratory, category, week) per open order.
/// Returns each demand's outcome and the load per (laboratory, category) per week,
/// booked work included.
pub fn plan(
    calendar: &Calendar,
    demands: &[Demand],
    booked: &[(i32, u32, u32)],
    per_week: impl Fn(i32, u32) -> u32,
) -> (Vec<Outcome>, Load) {
    let weeks = calendar.weeks as usize;
    // Room left per (laboratory, category) per week, filled in as first needed. Booked
    // work takes its room first (a week booked beyond its capacity has none left).
    let mut room: FxHashMap<(i32, u32), Vec<u32>> = FxHashMap::default();
    let mut over: FxHashMap<(i32, u32), Vec<u32>> = FxHashMap::default();
    for &(lab, cat, w) in booked.iter().filter(|b| b.2 < calendar.weeks) {
        let slots = room
            .entry((lab, cat))
            .or_insert_with(|| week_room(calendar, lab, per_week(lab, cat)));
        match slots[w as usize].checked_sub(1) {
            Some(left) => slots[w as usize] = left,
            None => over.entry((lab, cat)).or_insert_with(|| vec![0; weeks])[w as usize] += 1,
        }
    }
    let mut out: Vec<Outcome> = demands
        .iter()
        .map(|d| Outcome {
            placement: None,
            reason: if d.labs.is_empty() {
                Some(Reason::NoLaboratory)
            } else {
                None
            },
        })
        .collect();
    // 1. Due in the plan and not overdue: latest week on or before the due date, last deadline first.
    let mut order: Vec<usize> = (0..demands.len())
        .filter(|&i| !demands[i].labs.is_empty() && demands[i].due.is_some_and(|d| d >= calendar.start))
        .collect();
    order.sort_by_key(|&i| std::cmp::Reverse((demands[i].due, std::cmp::Reverse(i))));
    let mut late: Vec<usize> = Vec::new();
    // Items with no working day before their due date at any of their laboratories.
    let mut no_day: FxHashSet<usize> = FxHashSet::default();
    for i in order {
        let d = &demands[i];
        let due = d.due.expect("filtered");
        let mut placed = None;
        let mut any_day = false;
        'labs: for &lab in &d.labs {
            let slots = room
                .entry((lab, d.category))
                .or_insert_with(|| week_room(calendar, lab, per_week(lab, d.category)));
            for w in (0..weeks).rev() {
                let (first, _) = calendar.week(lab, w as u32);
                any_day |= first.is_some_and(|day| day <= due);
                match first {
                    Some(day) if day <= due && slots[w] > 0 => {
                        slots[w] -= 1;
                        placed = Some(Placement {
                            lab,
                            week: w as u32,
                            day,
                        });
                        break 'labs;
                    }
                    _ => {}
                }
            }
        }
        match placed {
            Some(p) => out[i].placement = Some(p),
            None => {
                if !any_day {
                    no_day.insert(i);
                }
                late.push(i);
            }
        }
    }
    // 2. Overdue, and what did not fit before its due date: earliest week with room.
    let mut rest: Vec<usize> = (0..demands.len())
        .filter(|&i| !demands[i].labs.is_empty() && demands[i].due.is_none_or(|d| d < calendar.start))
        .collect();
    rest.extend(late);
    rest.sort_by_key(|&i| (demands[i].due, i));
    for i in rest {
        let d = &demands[i];
        let overdue = d.due.is_none_or(|due| due < calendar.start);
        let mut best: Option<Placement> = None;
        for &lab in &d.labs {
            let slots = room
                .entry((lab, d.category))
                .or_insert_with(|| week_room(calendar, lab, per_week(lab, d.category)));
            if let Some(w) = (0..weeks).find(|&w| slots[w] > 0) {
                let day = calendar
                    .week(lab, w as u32)
                    .0
                    .expect("a week with room has a working day");
                if best.is_none_or(|b| day < b.day) {
                    best = Some(Placement {
                        lab,
                        week: w as u32,
                        day,
                    });
                }
            }
        }
        if let Some(p) = best {
            room.get_mut(&(p.lab, d.category)).expect("filled above")[p.week as usize] -= 1;
        }
        out[i] = Outcome {
            placement: best,
            reason: Some(match (best, overdue) {
                (None, _) => Reason::NoCapacity,
                (Some(_), true) => Reason::AlreadyOverdue,
                (Some(_), false) if no_day.contains(&i) => Reason::NoDayBeforeDue,
                (Some(_), false) => Reason::CapacityBeforeDue,
            }),
        };
    }
    // The load: capacity less the room left.
    let load = room
        .into_iter()
        .map(|((lab, cat), left)| {
            let pw = per_week(lab, cat);
            let extra = over.get(&(lab, cat));
            let used = (0..weeks)
                .map(|w| calendar.capacity(lab, w as u32, pw) - left[w] + extra.map_or(0, |e| e[w]))
                .collect();
            ((lab, cat), used)
        })
        .collect();
    (out, load)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn demand(due: &str, labs: &[i32]) -> Demand {
        Demand {
            category: 0,
            due: Some(d(due)),
            labs: labs.to_vec(),
        }
    }

    #[test]
    fn weeks_run_monday_to_friday_and_holidays_take_their_share() {
        // 2026-11-25 is a Wednesday: the first week has Wednesday to Friday left.
        let c = Calendar::new(
            d("2026-11-25"),
            3,
            &[(None, d("2026-12-01")), (Some(7), d("2026-12-08"))],
        );
        assert_eq!(c.monday(0), d("2026-11-23"));
        assert_eq!(c.end(), d("2026-12-11"));
        assert_eq!(c.week(1, 0), (Some(d("2026-11-25")), 3));
        assert_eq!(c.capacity(1, 0, 10), 6);
        // A public holiday on the Tuesday: four days for everyone.
        assert_eq!(c.week(1, 1), (Some(d("2026-11-30")), 4));
        assert_eq!(c.capacity(7, 1, 10), 8);
        // Laboratory 7's own holiday on the Tuesday of the third week (and Monday is its first day).
        assert_eq!(c.week(7, 2), (Some(d("2026-12-07")), 4));
        assert_eq!(c.capacity(1, 2, 10), 10);
        // Rounded down: 3 a week, 4 days → 2.
        assert_eq!(c.capacity(7, 2, 3), 2);
    }

    #[test]
    fn the_capacity_limit_is_never_exceeded_and_the_next_item_goes_elsewhere() {
        // Two a week at laboratory 1; three items due on the Friday of week 0.
        let c = Calendar::new(d("2026-11-23"), 2, &[]);
        let demands = vec![
            demand("2026-11-27", &[1]),
            demand("2026-11-27", &[1]),
            demand("2026-11-27", &[1, 2]),
        ];
        let (out, load) = plan(&c, &demands, &[], |lab, _| if lab == 1 { 2 } else { 1 });
        assert_eq!(load[&(1, 0)], vec![2, 0]);
        assert_eq!(load[&(2, 0)], vec![1, 0]);
        assert!(out.iter().all(|o| o.reason.is_none()), "{out:?}");
        assert_eq!(out[2].placement.unwrap().lab, 2);
        // At exactly the capacity everything fits; one more and it is late, with its reason.
        let mut more = demands.clone();
        more.push(demand("2026-11-27", &[1]));
        let (out, load) = plan(&c, &more, &[], |lab, _| if lab == 1 { 2 } else { 1 });
        assert_eq!(load[&(1, 0)], vec![2, 1]);
        let late: Vec<_> = out.iter().filter(|o| o.reason.is_some()).collect();
        assert_eq!(late.len(), 1);
        assert_eq!(late[0].reason, Some(Reason::CapacityBeforeDue));
        assert_eq!(late[0].placement.unwrap().day, d("2026-11-30"));
    }

    #[test]
    fn an_item_due_before_the_first_working_day_says_so() {
        // Saturday 28 November: the week has no working day left; due on the Sunday.
        let c = Calendar::new(d("2026-11-28"), 2, &[]);
        let (out, _) = plan(&c, &[demand("2026-11-29", &[1])], &[], |_, _| 5);
        assert_eq!(out[0].reason, Some(Reason::NoDayBeforeDue));
        assert_eq!(out[0].placement.unwrap().day, d("2026-11-30"));
    }

    #[test]
    fn booked_work_takes_its_room_first() {
        // Two a week; one already ordered in week 0 and three in week 1 (over capacity).
        let c = Calendar::new(d("2026-11-23"), 2, &[]);
        let booked = [(1, 0, 0), (1, 0, 1), (1, 0, 1), (1, 0, 1)];
        let (out, load) = plan(
            &c,
            &[demand("2026-11-27", &[1]), demand("2026-11-27", &[1])],
            &booked,
            |_, _| 2,
        );
        assert_eq!(out[0].reason, None);
        // The second has no room left in either week.
        assert_eq!(out[1].reason, Some(Reason::NoCapacity));
        assert_eq!(load[&(1, 0)], vec![2, 3]);
    }

    #[test]
    fn items_go_as_late_as_their_due_date_allows() {
        let c = Calendar::new(d("2026-11-23"), 4, &[]);
        // Due on the Monday of week 2: week 2 starts that day, so it goes there, not earlier.
        let (out, _) = plan(&c, &[demand("2026-12-07", &[1])], &[], |_, _| 5);
        assert_eq!(out[0].placement.unwrap().day, d("2026-12-07"));
        // Due on the Sunday before: week 1.
        let (out, _) = plan(&c, &[demand("2026-12-06", &[1])], &[], |_, _| 5);
        assert_eq!(out[0].placement.unwrap().week, 1);
    }

    #[test]
    fn late_deadlines_do_not_crowd_out_early_ones() {
        // One a week. A (due week 1) and B (due week 0): earliest-first in time would put A in
        // week 0 if it came first; placing the latest deadline last-first meets both.
        let c = Calendar::new(d("2026-11-23"), 2, &[]);
        let (out, _) = plan(
            &c,
            &[demand("2026-12-04", &[1]), demand("2026-11-27", &[1])],
            &[],
            |_, _| 1,
        );
        assert_eq!(out[0].placement.unwrap().week, 1);
        assert_eq!(out[1].placement.unwrap().week, 0);
        assert!(out.iter().all(|o| o.reason.is_none()));
    }

    #[test]
    fn overdue_unplaceable_and_unaccredited_items_say_why() {
        let c = Calendar::new(d("2026-11-23"), 1, &[(None, d("2026-11-23"))]);
        let demands = vec![
            demand("2026-11-01", &[1]),
            demand("2026-11-02", &[1]),
            demand("2026-11-27", &[]),
        ];
        // Five a week, four days: 4.
        let (out, _) = plan(&c, &demands, &[], |_, _| 1);
        // One a week with four days → 0: nothing fits.
        assert_eq!(out[0].reason, Some(Reason::NoCapacity));
        assert_eq!(out[2].reason, Some(Reason::NoLaboratory));
        let (out, _) = plan(&c, &demands, &[], |_, _| 5);
        assert_eq!(out[0].reason, Some(Reason::AlreadyOverdue));
        assert_eq!(out[0].placement.unwrap().day, d("2026-11-24"));
        assert_eq!(out[1].reason, Some(Reason::AlreadyOverdue));
    }
}
