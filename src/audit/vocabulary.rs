//! The words of the audit log: what a request did ([`Action`]) to what kind of record
//! ([`ResourceType`]).
//!
//! Every audit row stores these names, and the hash chain seals them: a name never changes.
//! A new operation takes an existing word when one fits, and adds a variant when none does.

crate::text_enum! {
    /// What an audited request did. A `denied` event names what the caller tried to do.
    pub enum Action {
        /// Read one record.
        Read => "read",
        /// Listed records; `participant_ids` names every participant the page showed.
        List => "list",
        /// Created a record.
        Create => "create",
        /// Sent a create again (same `Idempotency-Key`, or an inbound referral's `external_id`
        /// again): shown the record the first request made; nothing new was made.
        Replay => "replay",
        /// Changed a record's details.
        Update => "update",
        /// Moved a participant, pairing, goal or referral to another status.
        ChangeStatus => "change_status",
        /// Signed a session note, which can then only be amended.
        Sign => "sign",
        /// Revoked a consent to disclose.
        Revoke => "revoke",
        /// Moved a coach's participants to other coaches.
        Reassign => "reassign",
        /// Asked which coaches best suit a participant.
        Match => "match",
        /// Recorded who attended a group session.
        SetAttendance => "set_attendance",
        /// Changed their own password.
        ChangePassword => "change_password",
        /// Replaced an integration client's client secret or webhook secret.
        RotateSecret => "rotate_secret",
        /// Sent a webhook delivery again.
        Redeliver => "redeliver",
        /// Signed in with email and password; `denied` for a wrong password or an account
        /// that may not sign in.
        Login => "login",
        /// Presented a refresh token that was already used: every token of that sign-in was
        /// revoked.
        RefreshReuse => "refresh_reuse",
        /// An integration client asked for an access token with its secret.
        ClientCredentials => "client_credentials",
        /// Too many failed attempts started a lock: sign-ins for this account, token requests
        /// of this client, or (with no actor) every attempt from this address are refused
        /// until it ends. Written once when the lock starts; the requests it refuses write
        /// no row of their own.
        Lock => "lock",
        /// Checked the audit log's hash chain.
        Verify => "verify",
    }
}

crate::text_enum! {
    /// The kind of record an audited request was about; `resource_id` names the record.
    pub enum ResourceType {
        /// A participant's record.
        Participant => "participant",
        /// A participant's own sign-in to the portal.
        PortalAccount => "portal_account",
        /// A participant's pairing with a coach.
        Pairing => "pairing",
        /// A coach's caseload, named by the coach's id.
        Caseload => "caseload",
        /// A coach's profile: capacity and what they offer for matching.
        Coach => "coach",
        /// A user account.
        User => "user",
        /// A sign-in: a user's tokens, or an integration client's token.
        Session => "session",
        /// A participant's recovery goal.
        Goal => "goal",
        /// A step towards a goal.
        ActionItem => "action_item",
        /// An entry of a goal's progress log.
        GoalProgress => "goal_progress",
        /// A note of a session with a participant.
        SessionNote => "session_note",
        /// An amendment to a signed session note.
        SessionNoteAmendment => "session_note_amendment",
        /// A group session and its attendance list.
        GroupSession => "group_session",
        /// A participant's attendance at group sessions.
        GroupAttendance => "group_attendance",
        /// A participant's answers to an assessment instrument, and their score.
        Assessment => "assessment",
        /// The catalogue of assessment instruments.
        Instrument => "instrument",
        /// A participant's consent to disclose (42 CFR part 2).
        Consent => "consent",
        /// The accounting of what was disclosed about a participant.
        Disclosure => "disclosure",
        /// A referral of a participant to a service.
        Referral => "referral",
        /// A service of the community-resource directory.
        Resource => "resource",
        /// An integration client: a system calling the API with its own credentials.
        IntegrationClient => "integration_client",
        /// A webhook delivery to an integration client.
        WebhookDelivery => "webhook_delivery",
        /// The audit log itself.
        AuditEvent => "audit_event",
        /// An episode of care: one enrolment of a participant, and its follow-up schedule.
        Episode => "episode",
        /// A follow-up interview of an episode (a baseline, reassessment, annual or closeout).
        FollowUpInterview => "follow_up_interview",
        /// An organization's own settings (its time zone).
        Organization => "organization",
    }
}

#[cfg(test)]
mod tests {
    use super::{Action, ResourceType};

    #[test]
    fn every_variant_has_a_name_of_its_own() {
        for action in Action::ALL {
            assert_eq!(Action::parse(action.as_str()), Some(*action));
        }
        for resource_type in ResourceType::ALL {
            assert_eq!(
                ResourceType::parse(resource_type.as_str()),
                Some(*resource_type)
            );
        }
    }

    #[test]
    fn names_written_before_the_vocabulary_was_typed_are_unchanged() {
        let actions = [
            "read",
            "list",
            "create",
            "replay",
            "update",
            "change_status",
            "sign",
            "revoke",
            "reassign",
            "match",
            "set_attendance",
            "change_password",
            "rotate_secret",
            "redeliver",
            "login",
            "refresh_reuse",
            "client_credentials",
        ];
        for name in actions {
            assert_eq!(Action::parse(name).map(Action::as_str), Some(name));
        }
        let resource_types = [
            "participant",
            "portal_account",
            "pairing",
            "caseload",
            "coach",
            "user",
            "session",
            "goal",
            "action_item",
            "goal_progress",
            "session_note",
            "session_note_amendment",
            "group_session",
            "group_attendance",
            "assessment",
            "instrument",
            "consent",
            "disclosure",
            "referral",
            "resource",
            "integration_client",
            "webhook_delivery",
            "audit_event",
        ];
        for name in resource_types {
            assert_eq!(
                ResourceType::parse(name).map(ResourceType::as_str),
                Some(name)
            );
        }
    }
}
