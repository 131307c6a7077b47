//! The states stored for jobs, invitations and one-time email links.

text_enum! {
    /// Where a job of the queue is in its life.
    pub enum JobStatus {
        Queued = "queued",
        /// Claimed by a worker until its lease (`run_at`) ends.
        Running = "running",
        Done = "done",
        /// Gave up: every attempt failed, or the failure was permanent.
        Failed = "failed",
        /// Its cause was withdrawn before it ran (a cancelled invitation).
        Cancelled = "cancelled",
    }
}

text_enum! {
    /// An invitation's state. Only `Pending` ones can be accepted, declined, resent or
    /// cancelled; the others never block a new invitation.
    pub enum InvitationStatus {
        Pending = "pending",
        Accepted = "accepted",
        Declined = "declined",
        Cancelled = "cancelled",
        Expired = "expired",
    }
}

text_enum! {
    /// What a one-time link sent by email is for.
    pub enum TokenPurpose {
        VerifyEmail = "verify_email",
        ResetPassword = "reset_password",
    }
}
