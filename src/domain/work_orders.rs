//! A work order's states and the moves between them.

vocabulary! {
    /// planned → received → in calibration → awaiting review → completed; or cancelled
    /// from any state before completion.
    WorkOrderStatus {
        Planned => "planned", "已计划", "planned";
        Received => "received", "已收样", "received";
        InCalibration => "in_calibration", "检定/校准中", "in calibration";
        AwaitingReview => "awaiting_review", "待核验", "awaiting review";
        Completed => "completed", "已完成", "completed";
        Cancelled => "cancelled", "已取消", "cancelled";
    }
}

impl WorkOrderStatus {
    /// The states of an order still under way.
    pub const OPEN: [WorkOrderStatus; 4] = [
        WorkOrderStatus::Planned,
        WorkOrderStatus::Received,
        WorkOrderStatus::InCalibration,
        WorkOrderStatus::AwaitingReview,
    ];

    /// The state that follows, on the way to completion.
    pub fn next(self) -> Option<WorkOrderStatus> {
        use WorkOrderStatus::*;
        match self {
            Planned => Some(Received),
            Received => Some(InCalibration),
            InCalibration => Some(AwaitingReview),
            AwaitingReview => Some(Completed),
            Completed | Cancelled => None,
        }
    }

    pub fn is_open(self) -> bool {
        !matches!(self, WorkOrderStatus::Completed | WorkOrderStatus::Cancelled)
    }

    /// A move is one step forward, or a cancellation of an open order.
    pub fn may_move_to(self, to: WorkOrderStatus) -> bool {
        self.next() == Some(to) || (to == WorkOrderStatus::Cancelled && self.is_open())
    }

    /// Whether a person moves an order into this state by hand. Awaiting review and
    /// completed follow the order's record (docs/workflow.md): the technician's signature
    /// puts the order under review, and the issue of its certificate completes it.
    pub fn moved_by_hand(self) -> bool {
        !matches!(self, WorkOrderStatus::AwaitingReview | WorkOrderStatus::Completed)
    }
}

#[cfg(test)]
mod tests {
    use super::WorkOrderStatus::*;

    #[test]
    fn orders_move_one_step_forward_or_are_cancelled_while_open() {
        assert!(Planned.may_move_to(Received));
        assert!(Received.may_move_to(InCalibration));
        assert!(InCalibration.may_move_to(AwaitingReview));
        assert!(AwaitingReview.may_move_to(Completed));
        // No skipping, no going back, nothing after the end.
        assert!(!Planned.may_move_to(InCalibration));
        assert!(!Received.may_move_to(Planned));
        assert!(!Completed.may_move_to(Cancelled));
        assert!(!Cancelled.may_move_to(Planned));
        for s in super::WorkOrderStatus::OPEN {
            assert!(s.is_open() && s.may_move_to(Cancelled));
        }
        // Issue 20, defect 4: the record moves an order under review and completes it.
        assert!(!AwaitingReview.moved_by_hand() && !Completed.moved_by_hand());
        assert!(Received.moved_by_hand() && InCalibration.moved_by_hand() && Cancelled.moved_by_hand());
    }
}
