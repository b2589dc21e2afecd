//! A local HTTP endpoint that records the webhooks it receives, and a test app whose
//! webhook worker polls quickly.

use std::collections::{HashMap, VecDeque};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use uuid::Uuid;

use crate::helpers::{TestApp, TestOrg};

/// What the receiver answers to one request.
#[derive(Clone)]
pub enum Reply {
    Status(u16),
    Redirect,
    Slow(Duration),
}

/// One request the receiver got.
#[derive(Clone, Debug)]
pub struct Received {
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: String,
    pub at: Instant,
}

#[derive(Clone, Default)]
struct Shared {
    received: Arc<Mutex<Vec<Received>>>,
    /// Replies to the next requests, in order; afterwards `otherwise`.
    script: Arc<Mutex<VecDeque<Reply>>>,
    otherwise: Arc<Mutex<u16>>,
}

/// A local HTTP endpoint recording what it receives.
pub struct Receiver {
    pub url: String,
    shared: Shared,
}

async fn receive(req: HttpRequest, body: web::Bytes, shared: web::Data<Shared>) -> HttpResponse {
    let headers = req
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                v.to_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let reply = shared.script.lock().unwrap().pop_front();
    let received = Received {
        path: req.path().to_owned(),
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
        at: Instant::now(),
    };
    shared.received.lock().unwrap().push(received);
    let status = *shared.otherwise.lock().unwrap();
    match reply {
        Some(Reply::Status(code)) => HttpResponse::build(code.try_into().unwrap()).finish(),
        Some(Reply::Redirect) => HttpResponse::Found()
            .insert_header(("location", "/elsewhere"))
            .finish(),
        Some(Reply::Slow(wait)) => {
            tokio::time::sleep(wait).await;
            HttpResponse::Ok().finish()
        }
        None => HttpResponse::build(status.try_into().unwrap()).finish(),
    }
}

impl Receiver {
    pub fn start() -> Self {
        let shared = Shared::default();
        *shared.otherwise.lock().unwrap() = 200;
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let data = web::Data::new(shared.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .default_service(web::to(receive))
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        tokio::spawn(server);
        Self {
            url: format!("http://127.0.0.1:{port}/hooks"),
            shared,
        }
    }

    pub fn script(&self, replies: &[Reply]) {
        self.shared
            .script
            .lock()
            .unwrap()
            .extend(replies.iter().cloned());
    }

    pub fn answer_otherwise(&self, status: u16) {
        *self.shared.otherwise.lock().unwrap() = status;
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }

    /// Waits until `count` requests have arrived (at most 15 s).
    pub async fn wait_for(&self, count: usize) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let received = self.received();
            if received.len() >= count || Instant::now() > deadline {
                return received;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

pub const QUICK: &[(&str, &str)] = &[
    ("TANDEM_WEBHOOK_WORKER", "on"),
    ("TANDEM_WEBHOOK_POLL_MS", "50"),
    ("TANDEM_WEBHOOK_BACKOFF_SECONDS", "0.2"),
    ("TANDEM_WEBHOOK_TIMEOUT_MS", "500"),
];

pub async fn spawn_with_worker(extra: &[(&str, &str)]) -> TestApp {
    let mut vars = QUICK.to_vec();
    vars.extend_from_slice(extra);
    TestApp::spawn_with(&vars).await
}

/// A client of `org` whose endpoint is `receiver`: `(row id, webhook secret)`.
pub async fn client_of(app: &TestApp, org: &TestOrg, receiver: &Receiver) -> (Uuid, String) {
    let created = app
        .integration_client_with_webhook(org, &receiver.url)
        .await;
    let id = created["id"].as_str().unwrap().parse().unwrap();
    (id, created["webhook_secret"].as_str().unwrap().to_owned())
}
