ALTER TABLE consents
    DROP CONSTRAINT consents_revocation_check,
    DROP CONSTRAINT consents_signature_method_check;
