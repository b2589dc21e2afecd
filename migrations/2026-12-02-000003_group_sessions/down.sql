DROP FUNCTION tandem_last_group_contact(uuid);
DROP TABLE group_attendance;
DROP TABLE group_session_facilitators;
DROP TABLE group_sessions;
