DROP TABLE audit_seal_gaps;
