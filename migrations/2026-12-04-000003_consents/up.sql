-- Consents as the API records them: a signature is written, either electronic or in ink
-- (42 CFR 2.31(a)(8) allows electronic signatures; an oral consent is not a written one), and
-- a revocation names who recorded it and when, together.
ALTER TABLE consents
    ADD CONSTRAINT consents_signature_method_check
        CHECK (signature_method IN ('electronic', 'wet_ink')),
    ADD CONSTRAINT consents_revocation_check
        CHECK ((revoked_at IS NULL) = (revoked_by IS NULL));
