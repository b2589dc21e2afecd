DROP TABLE session_note_amendments;
DROP TABLE session_notes;
