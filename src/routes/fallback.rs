//! Answers for requests no route takes: 404, or 405 with `Allow` when the path exists under
//! other methods. The route table is read from the OpenAPI document, which lists every route.

use actix_web::{web, HttpRequest};

use crate::http::error::AppError;

/// Path templates and their methods, e.g. `/api/v1/users/{id}` → `GET, PATCH`.
pub struct RouteTable {
    routes: Vec<(Vec<String>, Vec<String>)>,
}

impl RouteTable {
    pub fn from_openapi(document: &utoipa::openapi::OpenApi) -> Self {
        let routes = document
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let value = serde_json::to_value(item).unwrap_or_default();
                let mut methods: Vec<String> = ["get", "put", "post", "delete", "patch"]
                    .iter()
                    .filter(|method| value.get(**method).is_some())
                    .map(|method| method.to_ascii_uppercase())
                    .collect();
                methods.sort();
                (segments(path), methods)
            })
            .collect();
        Self { routes }
    }

    /// The methods a path supports, if any route matches it. When several templates match
    /// (`/pairings/reassign` and `/pairings/{id}`), the most literal one names the resource.
    pub fn allowed(&self, path: &str) -> Option<Vec<String>> {
        let wanted = segments(path);
        let matching: Vec<&(Vec<String>, Vec<String>)> = self
            .routes
            .iter()
            .filter(|(template, _)| matches(template, &wanted))
            .collect();
        let most_literal = matching.iter().map(|(t, _)| literals(t)).max()?;
        let mut allowed: Vec<String> = matching
            .iter()
            .filter(|(template, _)| literals(template) == most_literal)
            .flat_map(|(_, methods)| methods.iter().cloned())
            .collect();
        allowed.sort();
        allowed.dedup();
        (!allowed.is_empty()).then_some(allowed)
    }
}

fn segments(path: &str) -> Vec<String> {
    path.trim_end_matches('/')
        .split('/')
        .map(ToOwned::to_owned)
        .collect()
}

fn literals(template: &[String]) -> usize {
    template.iter().filter(|s| !s.starts_with('{')).count()
}

fn matches(template: &[String], path: &[String]) -> bool {
    template.len() == path.len()
        && template.iter().zip(path).all(|(expected, actual)| {
            (expected.starts_with('{') && !actual.is_empty()) || expected == actual
        })
}

/// The default service of the app and of the API scope.
pub async fn not_found_or_wrong_method(
    req: HttpRequest,
    routes: web::Data<RouteTable>,
) -> Result<actix_web::HttpResponse, AppError> {
    Err(match routes.allowed(req.path()) {
        Some(allow) => AppError::MethodNotAllowed { allow },
        None => AppError::NotFound,
    })
}
