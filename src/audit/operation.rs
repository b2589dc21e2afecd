//! Each operation declares once, on its route, what its audit rows say it does:
//!
//! ```text
//! #[post("/goals/{id}/status", wrap = "Operation(Action::ChangeStatus, ResourceType::Goal)")]
//! ```
//!
//! The declaration is a middleware that makes the pair the route's app data. The role guards
//! (`crate::auth`) refuse a caller under it, and the handler's own row starts from it
//! (`user.target()`), so a refusal and a success are recorded alike. A guarded route without
//! a declaration answers 500 to every request, so a test sending each documented operation
//! finds it.

use std::future::{ready, Ready};
use std::rc::Rc;

use actix_web::dev::{forward_ready, Extensions, Service, ServiceRequest, Transform};
use actix_web::HttpRequest;

use crate::audit::{Action, ResourceType};

/// What an operation does, for its audit rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operation(pub Action, pub ResourceType);

impl Operation {
    /// The operation the request's route declares.
    pub fn of(req: &HttpRequest) -> Option<Self> {
        req.app_data::<Self>().copied()
    }
}

impl<S, B> Transform<S, ServiceRequest> for Operation
where
    S: Service<ServiceRequest, Response = actix_web::dev::ServiceResponse<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Transform = Declared<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        let mut data = Extensions::new();
        data.insert(*self);
        ready(Ok(Declared {
            service,
            data: Rc::new(data),
        }))
    }
}

/// A route's service with its [`Operation`] as app data.
pub struct Declared<S> {
    service: S,
    /// Built once per worker: each request only adds a reference to it (no allocation).
    data: Rc<Extensions>,
}

impl<S> Service<ServiceRequest> for Declared<S>
where
    S: Service<ServiceRequest>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    forward_ready!(service);

    fn call(&self, mut req: ServiceRequest) -> Self::Future {
        // The same for every request of the route, as app data is meant to be.
        req.add_data_container(Rc::clone(&self.data));
        self.service.call(req)
    }
}
