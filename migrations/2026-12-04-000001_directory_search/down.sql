DROP INDEX resources_organization_name_idx;
DROP INDEX resources_postal_code_idx;
DROP INDEX resources_languages_idx;
DROP INDEX resources_categories_idx;
DROP INDEX resources_search_idx;
DROP FUNCTION tandem_resource_query(text);
DROP FUNCTION tandem_resource_document(text, text, text);
