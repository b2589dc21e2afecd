-- When each client was linked to each resource. A consent that names a resource covers a client
-- linked to it only if the link is at least as old as the consent (42 CFR 2.31: the consent
-- names its recipients; a clinic linked later was not one of them). When existing links were
-- made is not known, so they count from now: consents signed before today cover them only if
-- they name the client itself.
ALTER TABLE integration_client_resources
    ADD COLUMN linked_at timestamptz NOT NULL DEFAULT now();
