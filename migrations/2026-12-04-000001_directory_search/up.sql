-- Searching the community-resource directory.
--
-- A resource's searchable text is its name (weight A), the name of the organization that runs
-- it (B) and its description (C), folded by tandem_fold (lower case, no accents) and split
-- into words with the 'simple' configuration (no stemming: names and Spanish-language
-- services are searched as written). The same function feeds the GIN index and the query, so
-- the planner matches the index expression.
CREATE FUNCTION tandem_resource_document(name text, organization_name text, description text)
    RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
        SELECT setweight(to_tsvector('simple'::regconfig, tandem_fold(coalesce(name, ''))), 'A')
            || setweight(to_tsvector('simple'::regconfig, tandem_fold(coalesce(organization_name, ''))), 'B')
            || setweight(to_tsvector('simple'::regconfig, tandem_fold(coalesce(description, ''))), 'C')
    $$;

-- What a client typed, as a query: every word must match the start of a word of the resource
-- ("bupre" finds "buprenorphine"). The words come from the same parser as the document, and
-- each is quoted, so no input can be a tsquery syntax error. NULL when there are no words.
CREATE FUNCTION tandem_resource_query(q text) RETURNS tsquery
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    AS $$
        SELECT string_agg(
                   '''' || replace(replace(lexeme, '\', '\\'), '''', '''''') || ''':*', ' & '
               )::tsquery
        FROM unnest(to_tsvector('simple'::regconfig, tandem_fold(q)))
    $$;

CREATE INDEX resources_search_idx ON resources
    USING gin (tandem_resource_document(name, organization_name, description));

-- The filters: categories and languages are arrays matched with @>, postal codes exactly.
CREATE INDEX resources_categories_idx ON resources USING gin (categories);
CREATE INDEX resources_languages_idx ON resources USING gin (languages);
CREATE INDEX resources_postal_code_idx ON resources (organization_id, postal_code, id);

-- The seed command skips resources whose name the organization already has.
CREATE INDEX resources_organization_name_idx ON resources (organization_id, name);
