//! SMART Backend Services sign-in (`private_key_jwt`), as a backend app built to the SMART and
//! RFC 7523 specifications does it: a key pair made here, the public half registered inline or
//! served at a URL, assertions signed RS384 or ES384.

use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use actix_web::{web, App, HttpResponse, HttpServer};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::Response;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{json as body_of, ok_json, problem, send, test_settings_with, TestApp};

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A private key and the public JWK that goes with it.
pub(crate) struct Signer {
    pub kid: String,
    pub alg: Algorithm,
    pub key: EncodingKey,
    pub jwk: Value,
}

pub(crate) fn rsa_signer(kid: &str) -> Signer {
    use rsa::pkcs1::EncodeRsaPrivateKey;
    use rsa::traits::PublicKeyParts;
    let private = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).unwrap();
    let der = private.to_pkcs1_der().unwrap();
    let public = private.to_public_key();
    let jwk = json!({
        "kty": "RSA", "kid": kid, "alg": "RS384", "use": "sig",
        "n": URL_SAFE_NO_PAD.encode(public.n().to_bytes_be()),
        "e": URL_SAFE_NO_PAD.encode(public.e().to_bytes_be()),
    });
    Signer {
        kid: kid.into(),
        alg: Algorithm::RS384,
        key: EncodingKey::from_rsa_der(der.as_bytes()),
        jwk,
    }
}

pub(crate) fn ec_signer(kid: &str) -> Signer {
    use p384::elliptic_curve::sec1::ToEncodedPoint;
    use p384::pkcs8::EncodePrivateKey;
    let secret = p384::SecretKey::random(&mut rand::rngs::OsRng);
    let der = secret.to_pkcs8_der().unwrap();
    let point = secret.public_key().to_encoded_point(false);
    let jwk = json!({
        "kty": "EC", "crv": "P-384", "kid": kid, "alg": "ES384", "use": "sig",
        "x": URL_SAFE_NO_PAD.encode(point.x().unwrap()),
        "y": URL_SAFE_NO_PAD.encode(point.y().unwrap()),
    });
    Signer {
        kid: kid.into(),
        alg: Algorithm::ES384,
        key: EncodingKey::from_ec_der(der.as_bytes()),
        jwk,
    }
}

/// The token endpoint's URL: the `aud` of every assertion.
fn token_url(app: &TestApp) -> String {
    app.url("/api/v1/auth/token")
}

/// An assertion as SMART Backend Services has a client make one, with `changes` applied to
/// its claims (a `null` removes a claim).
fn assertion(app: &TestApp, signer: &Signer, client_id: &str, changes: Value) -> String {
    let now = chrono::Utc::now().timestamp();
    let mut claims = json!({
        "iss": client_id, "sub": client_id, "aud": token_url(app),
        "exp": now + 240, "jti": Uuid::new_v4().to_string(),
    });
    for (name, value) in changes.as_object().unwrap() {
        match value {
            Value::Null => claims.as_object_mut().unwrap().remove(name),
            value => claims
                .as_object_mut()
                .unwrap()
                .insert(name.clone(), value.clone()),
        };
    }
    let mut header = Header::new(signer.alg);
    header.kid = Some(signer.kid.clone());
    jsonwebtoken::encode(&header, &claims, &signer.key).unwrap()
}

async fn token_with(app: &TestApp, jwt: &str, scope: Option<&str>) -> Response {
    let mut form = vec![
        ("grant_type", "client_credentials"),
        ("client_assertion_type", ASSERTION_TYPE),
        ("client_assertion", jwt),
    ];
    if let Some(scope) = scope {
        form.push(("scope", scope));
    }
    send(app.client.post(token_url(app)).form(&form)).await
}

/// Registers `keys` as the first organization's client's inline key set.
pub(crate) async fn register(app: &TestApp, keys: &[&Signer]) {
    let jwks: Vec<&Value> = keys.iter().map(|k| &k.jwk).collect();
    let path = format!("/integration-clients/{}", app.org.client.id);
    let body = json!({"jwks": {"keys": jwks}});
    ok_json(app.patch(&path, &app.org.admin, &body).await).await;
}

/// Asserts a 401 `invalid_client` and returns its detail.
async fn refused(response: Response) -> String {
    let body = problem(response, 401).await;
    assert_eq!(body["error"], "invalid_client", "{body}");
    body["detail"].as_str().unwrap_or_default().to_owned()
}

/// Lets the next failures count from zero again (five in a row lock the client).
async fn forget_failures(app: &TestApp) {
    app.sql("DELETE FROM login_throttles; DELETE FROM address_throttles")
        .await
        .unwrap();
}

#[tokio::test]
async fn a_client_gets_a_short_token_with_a_signed_assertion_and_a_replay_is_refused() {
    let app = TestApp::spawn().await;
    let (rsa, ec) = (rsa_signer("rsa-1"), ec_signer("ec-1"));
    register(&app, &[&rsa, &ec]).await;
    let client_id = &app.org.client.client_id;
    let jwt = assertion(&app, &rsa, client_id, json!({}));
    let token = ok_json(
        token_with(
            &app,
            &jwt,
            Some("system/Task.rs system/HealthcareService.rs"),
        )
        .await,
    )
    .await;
    assert_eq!(token["token_type"], "Bearer");
    assert_eq!(token["expires_in"], 300);
    assert_eq!(token["scope"], "system/Task.rs system/HealthcareService.rs");
    let access = token["access_token"].as_str().unwrap();
    let referrals = send(
        app.client
            .get(app.url("/api/v1/referrals"))
            .bearer_auth(access),
    )
    .await;
    assert_eq!(referrals.status(), 200);
    let claims: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(access.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    assert!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap() <= 300);

    let replay = refused(token_with(&app, &jwt, None).await).await;
    assert!(replay.contains("used before"), "{replay}");

    let jwt = assertion(&app, &ec, client_id, json!({}));
    let token = ok_json(token_with(&app, &jwt, None).await).await;
    assert_eq!(token["expires_in"], 300);

    // The same `jti` on another instance over the same database is a replay too.
    let second =
        tandem::ops::startup::Application::build(&test_settings_with(&[]), &app.runtime_url)
            .await
            .unwrap();
    let second_url = format!("http://127.0.0.1:{}", second.port());
    tokio::spawn(second.run_until_stopped());
    let jwt = assertion(
        &app,
        &rsa,
        client_id,
        json!({"aud": format!("{second_url}/api/v1/auth/token")}),
    );
    let form = [
        ("grant_type", "client_credentials"),
        ("client_assertion_type", ASSERTION_TYPE),
        ("client_assertion", jwt.as_str()),
    ];
    let post = |url: String| send(app.client.post(url).form(&form));
    ok_json(post(format!("{second_url}/api/v1/auth/token")).await).await;
    let again = refused(post(format!("{second_url}/api/v1/auth/token")).await).await;
    assert!(again.contains("used before"), "{again}");
}

#[tokio::test]
async fn assertions_that_must_not_pass_are_401_invalid_client_and_audited() {
    let app = TestApp::spawn().await;
    let rsa = rsa_signer("rsa-1");
    register(&app, &[&rsa]).await;
    let client_id = app.org.client.client_id.clone();
    let now = chrono::Utc::now().timestamp();
    let stranger = rsa_signer("rsa-1");
    let unknown_kid = rsa_signer("rsa-9");
    let cases: Vec<(&str, String)> = vec![
        (
            "aud",
            assertion(
                &app,
                &rsa,
                &client_id,
                json!({"aud": "https://ehr.example.org/token"}),
            ),
        ),
        (
            "seconds",
            assertion(&app, &rsa, &client_id, json!({"exp": now + 600})),
        ),
        (
            "expired",
            assertion(&app, &rsa, &client_id, json!({"exp": now - 120})),
        ),
        (
            "sub",
            assertion(&app, &rsa, &client_id, json!({"sub": "someone-else"})),
        ),
        (
            "jti",
            assertion(&app, &rsa, &client_id, json!({"jti": null})),
        ),
        (
            "signature",
            assertion(&app, &stranger, &client_id, json!({})),
        ),
        ("kid", assertion(&app, &unknown_kid, &client_id, json!({}))),
        ("HS256", {
            // The public key used as an HMAC secret: the classic algorithm confusion.
            let secret = rsa.jwk["n"].as_str().unwrap().as_bytes().to_vec();
            let mut header = Header::new(Algorithm::HS256);
            header.kid = Some("rsa-1".into());
            let claims = json!({"iss": client_id, "sub": client_id, "aud": token_url(&app), "exp": now + 60, "jti": "x"});
            jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(&secret)).unwrap()
        }),
        ("none", {
            let encode = |v: Value| URL_SAFE_NO_PAD.encode(v.to_string());
            let claims = json!({"iss": client_id, "sub": client_id, "aud": token_url(&app), "exp": now + 60, "jti": "y"});
            format!(
                "{}.{}.",
                encode(json!({"alg": "none", "kid": "rsa-1"})),
                encode(claims)
            )
        }),
        ("JWT", "not.a.jwt".to_owned()),
    ];
    for (expected, jwt) in cases {
        let detail = refused(token_with(&app, &jwt, None).await).await;
        assert!(detail.contains(expected), "{expected}: {detail}");
        forget_failures(&app).await;
    }
    // A client without a key set cannot use an assertion at all.
    let other = &app.other_org.client;
    let jwt = assertion(&app, &rsa, &other.client_id, json!({}));
    let detail = refused(token_with(&app, &jwt, None).await).await;
    assert!(detail.contains("no key set"), "{detail}");
    // Each refusal is a denied `client_credentials` row of the client.
    let rows = body_of(
        app.get(
            "/audit-events?action=client_credentials&outcome=denied",
            &app.org.admin,
        )
        .await,
    )
    .await;
    let mine = rows["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["client_id"] == app.org.client.id.to_string())
        .count();
    assert_eq!(mine, 9, "every refusal once the client is known: {rows}");
}

#[tokio::test]
async fn a_key_set_at_a_url_is_cached_and_fetched_again_for_a_new_kid_at_most_once_a_minute() {
    let app = TestApp::spawn().await;
    let (first, second, third) = (rsa_signer("k1"), ec_signer("k2"), rsa_signer("k3"));
    let server = KeyServer::start(json!({"keys": [first.jwk]}));
    let path = format!("/integration-clients/{}", app.org.client.id);
    ok_json(
        app.patch(&path, &app.org.admin, &json!({"jwks_url": server.url}))
            .await,
    )
    .await;
    let client_id = &app.org.client.client_id;
    for _ in 0..2 {
        let jwt = assertion(&app, &first, client_id, json!({}));
        ok_json(token_with(&app, &jwt, None).await).await;
    }
    assert_eq!(
        server.fetches(),
        1,
        "the set is kept while its max-age allows"
    );
    // The client rotates: it publishes a new key and signs with it.
    server.publish(json!({"keys": [first.jwk, second.jwk]}));
    let jwt = assertion(&app, &second, client_id, json!({}));
    ok_json(token_with(&app, &jwt, None).await).await;
    assert_eq!(server.fetches(), 2, "an unknown kid fetches the set again");
    // Another unknown kid within the minute does not fetch again.
    server.publish(json!({"keys": [first.jwk, second.jwk, third.jwk]}));
    let jwt = assertion(&app, &third, client_id, json!({}));
    let detail = refused(token_with(&app, &jwt, None).await).await;
    assert!(detail.contains("kid"), "{detail}");
    assert_eq!(server.fetches(), 2);
    // A key set that is not one is refused clearly, never a 500.
    forget_failures(&app).await;
    let broken = KeyServer::start(json!({"not": "a key set"}));
    ok_json(
        app.patch(&path, &app.org.admin, &json!({"jwks_url": broken.url}))
            .await,
    )
    .await;
    let jwt = assertion(&app, &first, client_id, json!({}));
    let detail = refused(token_with(&app, &jwt, None).await).await;
    assert!(detail.contains("not a JSON Web Key Set"), "{detail}");
    let huge = KeyServer::start(json!({"keys": [first.jwk], "padding": "x".repeat(70_000)}));
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    // A redirect is not followed, even to a good key set.
    let redirect = huge.url.replace("/jwks.json", "/moved");
    for (url, expected) in [
        (huge.url.clone(), "larger than 64 KiB"),
        (format!("http://{closed}/jwks.json"), "could not be fetched"),
        (redirect, "answered HTTP 307"),
    ] {
        forget_failures(&app).await;
        ok_json(
            app.patch(&path, &app.org.admin, &json!({"jwks_url": url}))
                .await,
        )
        .await;
        let jwt = assertion(&app, &first, client_id, json!({}));
        let detail = refused(token_with(&app, &jwt, None).await).await;
        assert!(detail.contains(expected), "{detail}");
    }
}

#[tokio::test]
async fn a_key_set_must_hold_public_rsa_or_p384_keys_with_distinct_kids() {
    let app = TestApp::spawn().await;
    let path = format!("/integration-clients/{}", app.org.client.id);
    let rsa = rsa_signer("same");
    let mut private = rsa.jwk.clone();
    private["d"] = json!("AQAB");
    let small = {
        let key = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 1024).unwrap();
        use rsa::traits::PublicKeyParts;
        json!({"kty": "RSA", "kid": "small", "n": URL_SAFE_NO_PAD.encode(key.n().to_bytes_be()), "e": "AQAB"})
    };
    let oct = json!({"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"});
    let no_kid = {
        let mut key = ec_signer("x").jwk;
        key.as_object_mut().unwrap().remove("kid");
        key
    };
    let cases = [
        (json!({"keys": [private]}), "jwks.keys[0]"),
        (json!({"keys": [small]}), "jwks.keys[0]"),
        (json!({"keys": [oct]}), "jwks.keys[0]"),
        (json!({"keys": [no_kid]}), "jwks.keys[0].kid"),
        (
            json!({"keys": [rsa.jwk, ec_signer("same").jwk]}),
            "jwks.keys[1].kid",
        ),
        (json!({"keys": []}), "jwks.keys"),
    ];
    for (jwks, field) in cases {
        let refused = problem(
            app.patch(&path, &app.org.admin, &json!({"jwks": jwks}))
                .await,
            422,
        )
        .await;
        let fields: Vec<&str> = refused["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert_eq!(fields, [field], "{refused}");
    }
    let refused = problem(
        app.patch(
            &path,
            &app.org.admin,
            &json!({"jwks_url": "http://keys.example.org/jwks"}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(refused["errors"][0]["field"], "jwks_url");
    let shown = ok_json(app.get(&path, &app.org.admin).await).await;
    assert_eq!(
        (shown["jwks"].clone(), shown["jwks_url"].clone()),
        (Value::Null, Value::Null)
    );
}

#[tokio::test]
async fn discovery_names_private_key_jwt_its_algorithms_and_the_smart_scopes() {
    let app = TestApp::spawn().await;
    for path in [
        "/.well-known/smart-configuration",
        "/.well-known/oauth-authorization-server",
    ] {
        let document = ok_json(send(app.client.get(app.url(path))).await).await;
        assert_eq!(document["token_endpoint"], token_url(&app));
        let methods = &document["token_endpoint_auth_methods_supported"];
        assert!(methods
            .as_array()
            .unwrap()
            .contains(&json!("private_key_jwt")));
        assert_eq!(
            document["token_endpoint_auth_signing_alg_values_supported"],
            json!(["RS384", "ES384"])
        );
        let scopes = document["scopes_supported"].as_array().unwrap();
        for scope in [
            "system/Task.rs",
            "system/Task.u",
            "system/Patient.rs",
            "system/ServiceRequest.rs",
            "system/HealthcareService.rs",
        ] {
            assert!(scopes.contains(&json!(scope)), "{path}: {scope}");
        }
    }
    let smart =
        ok_json(send(app.client.get(app.url("/.well-known/smart-configuration"))).await).await;
    assert!(smart["capabilities"]
        .as_array()
        .unwrap()
        .contains(&json!("client-confidential-asymmetric")));
}

/// A key set served over loopback, as a client publishes one, with `Cache-Control:
/// max-age=600`; counts the fetches.
struct KeyServer {
    url: String,
    body: Arc<Mutex<Value>>,
    fetches: Arc<AtomicUsize>,
}

impl KeyServer {
    fn start(keys: Value) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
        let body = Arc::new(Mutex::new(keys));
        let fetches = Arc::new(AtomicUsize::new(0));
        let (shared, count) = (body.clone(), fetches.clone());
        let server = HttpServer::new(move || {
            let (shared, count) = (shared.clone(), count.clone());
            App::new()
                .route(
                    "/moved",
                    web::get().to(|| async {
                        HttpResponse::TemporaryRedirect()
                            .insert_header(("location", "/jwks.json"))
                            .finish()
                    }),
                )
                .route(
                    "/jwks.json",
                    web::get().to(move || {
                        let (shared, count) = (shared.clone(), count.clone());
                        async move {
                            count.fetch_add(1, Ordering::SeqCst);
                            let body = shared.lock().unwrap().clone();
                            HttpResponse::Ok()
                                .insert_header(("cache-control", "public, max-age=600"))
                                .json(body)
                        }
                    }),
                )
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        tokio::spawn(server);
        Self { url, body, fetches }
    }

    fn publish(&self, keys: Value) {
        *self.body.lock().unwrap() = keys;
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

#[tokio::test]
async fn a_client_may_sign_in_with_its_key_set_only_and_then_has_no_secret() {
    let app = TestApp::spawn().await;
    let (rsa, other) = (rsa_signer("only"), ec_signer("ec"));
    let body = json!({
        "name": "EHR backend", "resource_ids": [], "scopes": ["referrals:read"],
        "jwks": {"keys": [rsa.jwk]}, "token_endpoint_auth_method": "private_key_jwt",
    });
    let created = crate::helpers::created_json(
        app.post("/integration-clients", Some(&app.org.admin), &body)
            .await,
    )
    .await;
    assert_eq!(created["client_secret"], Value::Null);
    assert_eq!(
        created["token_endpoint_auth_methods"],
        json!(["private_key_jwt"])
    );
    let client_id = created["client_id"].as_str().unwrap();
    let jwt = assertion(&app, &rsa, client_id, json!({}));
    ok_json(token_with(&app, &jwt, None).await).await;
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", client_id),
        ("client_secret", ""),
    ];
    refused(send(app.client.post(token_url(&app)).form(&form)).await).await;
    let mut keyless = body.clone();
    keyless.as_object_mut().unwrap().remove("jwks");
    let refusal = problem(
        app.post("/integration-clients", Some(&app.org.admin), &keyless)
            .await,
        422,
    )
    .await;
    assert_eq!(refusal["errors"][0]["field"], "token_endpoint_auth_method");

    // An existing client moves to its key set: its secret and the tokens got with it end.
    let client = &app.org.client;
    let path = format!("/integration-clients/{}", client.id);
    register(&app, &[&other]).await;
    let moved = json!({"token_endpoint_auth_method": "private_key_jwt"});
    let shown = ok_json(app.patch(&path, &app.org.admin, &moved).await).await;
    assert_eq!(
        shown["token_endpoint_auth_methods"],
        json!(["private_key_jwt"])
    );
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", client.client_id.as_str()),
        ("client_secret", client.secret.as_str()),
    ];
    refused(send(app.client.post(token_url(&app)).form(&form)).await).await;
    let old = send(
        app.client
            .get(app.url("/api/v1/referrals"))
            .bearer_auth(&client.token),
    )
    .await;
    assert_eq!(old.status(), 401);
    let jwt = assertion(&app, &other, &client.client_id, json!({}));
    ok_json(token_with(&app, &jwt, None).await).await;
    // Without a secret it cannot lose its key set too.
    let refusal = problem(
        app.patch(&path, &app.org.admin, &json!({"jwks": null}))
            .await,
        422,
    )
    .await;
    assert_eq!(refusal["errors"][0]["field"], "jwks");
    // `rotate-secret` gives it a secret again.
    let rotated = ok_json(
        app.post(
            &format!("{path}/rotate-secret"),
            Some(&app.org.admin),
            &json!({}),
        )
        .await,
    )
    .await;
    assert!(rotated["client_secret"].is_string());
    assert_eq!(
        rotated["token_endpoint_auth_methods"],
        json!([
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt"
        ])
    );
}

#[tokio::test]
async fn with_a_public_url_the_assertion_must_name_it_whatever_host_the_request_names() {
    let app = TestApp::spawn_with(&[("TANDEM_PUBLIC_URL", "https://tandem.example.org")]).await;
    let rsa = rsa_signer("k");
    register(&app, &[&rsa]).await;
    let client_id = &app.org.client.client_id;
    let metadata =
        ok_json(send(app.client.get(app.url("/.well-known/smart-configuration"))).await).await;
    let endpoint = "https://tandem.example.org/api/v1/auth/token";
    assert_eq!(metadata["token_endpoint"], endpoint);
    // An assertion made for the address the request reached is refused: that is not this
    // server's public URL, and a `Host` header is the caller's to choose.
    let jwt = assertion(&app, &rsa, client_id, json!({}));
    let detail = refused(token_with(&app, &jwt, None).await).await;
    assert!(detail.contains(endpoint), "{detail}");
    let jwt = assertion(&app, &rsa, client_id, json!({"aud": endpoint}));
    ok_json(token_with(&app, &jwt, None).await).await;
}
