//! Login, sessions, CSRF and throttling, through the pages as a browser uses them.

use crate::support::{form, visitor, TestApp, CSRF, INSTITUTE, PASSWORD};
use rocket::http::{ContentType, Cookie, Status};
use rocket::local::asynchronous::LocalResponse;
use std::net::SocketAddr;

fn set_cookie_headers(res: &LocalResponse<'_>) -> Vec<String> {
    res.headers().get("Set-Cookie").map(str::to_owned).collect()
}

/// The session cookie a response set, as the browser would send it back.
fn session_cookie(res: &LocalResponse<'_>) -> Option<Cookie<'static>> {
    res.cookies()
        .get("session")
        .map(|c| Cookie::new("session", c.value().to_owned()))
}

async fn login<'c>(
    app: &'c TestApp,
    email: &str,
    password: &str,
    from: &str,
    old_session: Option<Cookie<'static>>,
) -> LocalResponse<'c> {
    let mut req = visitor(app.client.post("/login"))
        .remote(from.parse::<SocketAddr>().unwrap())
        .header(ContentType::Form)
        .body(form(&[
            ("email", email),
            ("password", password),
            ("next", "/standards"),
        ]));
    if let Some(c) = old_session {
        // An encrypted cookie as the server set it: sent back verbatim.
        req = req.cookie(c);
    }
    req.dispatch().await
}

#[rocket::async_test]
async fn login_rotates_the_session_and_logout_ends_it_on_the_server() {
    let app = TestApp::demo().await;
    let user = app.user_in("scheduler", INSTITUTE).await;
    let res = login(&app, &user.email, PASSWORD, "198.51.100.1:4000", None).await;
    assert_eq!(res.status(), Status::SeeOther);
    assert_eq!(res.headers().get_one("Location"), Some("/standards"));
    let headers = set_cookie_headers(&res);
    let session_header = headers
        .iter()
        .find(|h| h.starts_with("session="))
        .expect("session cookie");
    assert!(session_header.contains("HttpOnly"), "{session_header}");
    assert!(session_header.contains("SameSite=Lax"), "{session_header}");
    assert!(
        !session_header.contains("Secure"),
        "no TLS in tests, so not Secure: {session_header}"
    );
    assert!(
        headers.iter().any(|h| h.starts_with("csrf=")),
        "the CSRF token is rotated at login"
    );
    let first = session_cookie(&res).unwrap();

    // The session works.
    let res = app.client.get("/account").cookie(first.clone()).dispatch().await;
    assert_eq!(res.status(), Status::Ok);
    assert!(res.into_string().await.unwrap().contains(&user.email));

    // Logging in again from the same browser replaces the session: the old cookie is dead.
    let res = login(&app, &user.email, PASSWORD, "198.51.100.1:4000", Some(first.clone())).await;
    let second = session_cookie(&res).unwrap();
    assert_ne!(first.value(), second.value());
    let res = app.client.get("/account").cookie(first.clone()).dispatch().await;
    assert_eq!(res.status(), Status::SeeOther, "the old session no longer works");
    assert_eq!(res.headers().get_one("Location"), Some("/login?next=%2Faccount"));

    // Logout deletes the session on the server: keeping the cookie does not help.
    let sessions_before = app.count("sessions").await;
    let res = app
        .client
        .post("/logout")
        .cookie(second.clone())
        .private_cookie(Cookie::new("csrf", CSRF))
        .header(ContentType::Form)
        .body(form(&[]))
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::SeeOther);
    assert_eq!(app.count("sessions").await, sessions_before - 1);
    let res = app.client.get("/account").cookie(second).dispatch().await;
    assert_eq!(res.status(), Status::SeeOther);
    assert_eq!(app.events("login").await, 2);
    assert_eq!(app.events("logout").await, 1);
}

#[rocket::async_test]
async fn a_session_idle_for_30_minutes_ends() {
    use sea_orm::{ConnectionTrait, Statement};
    let app = TestApp::demo().await;
    let user = app.user("technician").await;
    let res = user.browser(app.client.get("/account")).dispatch().await;
    assert_eq!(res.status(), Status::Ok);
    // 29 minutes idle: still in.
    let set_idle = |minutes: i64| {
        let at = chrono::Utc::now() - chrono::Duration::minutes(minutes);
        Statement::from_sql_and_values(
            app.db.get_database_backend(),
            match app.db.get_database_backend() {
                sea_orm::DbBackend::Postgres => "UPDATE sessions SET last_seen_at = $1 WHERE user_id = $2",
                _ => "UPDATE sessions SET last_seen_at = ? WHERE user_id = ?",
            },
            [at.into(), user.id.into()],
        )
    };
    app.db.execute_raw(set_idle(29)).await.unwrap();
    let res = user.browser(app.client.get("/account")).dispatch().await;
    assert_eq!(res.status(), Status::Ok);
    app.db.execute_raw(set_idle(31)).await.unwrap();
    let res = user.browser(app.client.get("/account")).dispatch().await;
    assert_eq!(res.status(), Status::SeeOther);
    let to = res.headers().get_one("Location").unwrap().to_owned();
    assert_eq!(to, "/login?next=%2Faccount&expired=1");
    assert_eq!(app.count("sessions").await, 0, "the idle session is deleted");
    // The login page says why.
    let res = app.client.get(to).dispatch().await;
    assert_eq!(res.status(), Status::Ok);
    let html = res.into_string().await.unwrap();
    assert!(html.contains("已超过 30 分钟未操作"), "{html}");
}

#[rocket::async_test]
async fn forms_without_the_csrf_token_are_refused_and_change_nothing() {
    let app = TestApp::demo().await;
    let admin = app.user("system_admin").await;
    let standards = app.count("standards").await;
    let events = app.count("audit_events").await;
    let body = |csrf: Option<&str>| {
        let mut s = form_urlencoded::Serializer::new(String::new());
        if let Some(c) = csrf {
            s.append_pair("csrf", c);
        }
        s.append_pair("name_zh", "伪造的标准").finish()
    };
    // No token, a wrong token, and a right-looking token without the cookie.
    for (csrf, with_cookie) in [(None, true), (Some("forged"), true), (Some(CSRF), false)] {
        let mut req = app
            .client
            .post("/standards")
            .private_cookie(Cookie::new("session", admin.session.clone()))
            .header(ContentType::Form)
            .body(body(csrf));
        if with_cookie {
            req = req.private_cookie(Cookie::new("csrf", CSRF));
        }
        let res = req.dispatch().await;
        assert_eq!(res.status(), Status::Forbidden, "csrf {csrf:?}, cookie {with_cookie}");
    }
    // Logout and login are forms too.
    let res = app
        .client
        .post("/logout")
        .private_cookie(Cookie::new("session", admin.session.clone()))
        .header(ContentType::Form)
        .body("")
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Forbidden);
    let res = admin.browser(app.client.get("/account")).dispatch().await;
    assert_eq!(res.status(), Status::Ok, "a refused logout leaves the session alone");
    let res = app
        .client
        .post("/login")
        .header(ContentType::Form)
        .body(format!("email={}&password={PASSWORD}", admin.email))
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Forbidden);
    assert_eq!(app.count("standards").await, standards);
    assert_eq!(app.count("audit_events").await, events);
    // Every form the pages render carries the token.
    let res = admin.browser(app.client.get("/standards/new")).dispatch().await;
    let html = res.into_string().await.unwrap();
    assert!(html.contains(&format!("name=\"csrf\" value=\"{CSRF}\"")));
}

#[rocket::async_test]
async fn logins_are_throttled_per_account_and_address_and_per_address() {
    let app = TestApp::demo().await;
    let user = app.user_in("scheduler", INSTITUTE).await;
    let other = app.user_in("scheduler", INSTITUTE).await;
    // Ten wrong passwords for one account from one address...
    for i in 0..10 {
        let res = login(&app, &user.email, "not the password", "198.51.100.1:4000", None).await;
        assert_eq!(res.status(), Status::Unauthorized, "attempt {i}");
    }
    // ...refuse even the right one from that address, for the rest of the 15 minutes...
    let res = login(&app, &user.email, PASSWORD, "198.51.100.1:4000", None).await;
    assert_eq!(res.status(), Status::TooManyRequests);
    assert!(session_cookie(&res).is_none());
    assert_eq!(app.events("login.failed").await, 10);
    assert_eq!(app.events("login.throttled").await, 1);
    // ...but an attacker's address cannot lock the owner out: the right password from
    // an address that made none of those failures gets in, after a short wait.
    let started = std::time::Instant::now();
    let res = login(&app, &user.email, PASSWORD, "198.51.100.99:4000", None).await;
    assert_eq!(res.status(), Status::SeeOther);
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(500),
        "the guessed-at account waits"
    );
    // Another account is not affected.
    let res = login(&app, &other.email, PASSWORD, "198.51.100.1:4000", None).await;
    assert_eq!(res.status(), Status::SeeOther);
    // Failures spread over many addresses slow the account down without locking it.
    for i in 0..12 {
        let res = login(
            &app,
            &other.email,
            "nope nope nope",
            &format!("192.0.2.{}:4000", i + 1),
            None,
        )
        .await;
        assert_eq!(res.status(), Status::Unauthorized, "attempt {i}");
    }
    let res = login(&app, &other.email, PASSWORD, "192.0.2.200:4000", None).await;
    assert_eq!(res.status(), Status::SeeOther, "the owner still logs in");

    // Thirty failures from one address, spread over many accounts, close that address.
    for i in 0..30 {
        let res = login(
            &app,
            &format!("guess{i}@test.metrocal.example"),
            "password123456",
            "203.0.113.50:4000",
            None,
        )
        .await;
        assert_eq!(res.status(), Status::Unauthorized, "attempt {i}");
    }
    let res = login(&app, &other.email, PASSWORD, "203.0.113.50:4000", None).await;
    assert_eq!(res.status(), Status::TooManyRequests);
    let res = login(&app, &other.email, PASSWORD, "203.0.113.51:4000", None).await;
    assert_eq!(res.status(), Status::SeeOther, "other addresses still log in");
}

#[rocket::async_test]
async fn demo_accounts_have_one_time_passwords_in_a_private_file() {
    let app = TestApp::demo().await;
    let path = app.data_dir().join("demo-accounts.txt");
    let text = std::fs::read_to_string(&path).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let accounts: Vec<(String, String, String)> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f[0].to_owned(), f[1].to_owned(), f[2].to_owned())
        })
        .collect();
    let roles: Vec<&str> = accounts.iter().map(|a| a.1.as_str()).collect();
    assert_eq!(
        roles,
        [
            "regulator",
            "system_admin",
            "institute_admin",
            "scheduler",
            "technician",
            "reviewer",
            "approver",
            "enterprise"
        ]
    );
    // The file holds the only copy: the database has argon2id hashes.
    let (email, _, password) = &accounts[2];
    assert!(!text.contains("$argon2id$"));
    let stored = metrocal::store::accounts::user_by_email(&app.db, email)
        .await
        .unwrap()
        .unwrap();
    assert!(
        stored.password_hash.starts_with("$argon2id$v=19$"),
        "{}",
        stored.password_hash
    );
    assert!(!stored.password_hash.contains(password.as_str()));

    // The first login leads to the password change, and nothing can be changed before it.
    let res = login(&app, email, password, "198.51.100.7:4000", None).await;
    assert_eq!(res.status(), Status::SeeOther);
    assert_eq!(res.headers().get_one("Location"), Some("/account"));
    let session = session_cookie(&res).unwrap();
    let res = app
        .client
        .get("/standards/new")
        .cookie(session.clone())
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::SeeOther);
    assert_eq!(res.headers().get_one("Location"), Some("/account"));
    let change = |current: &str, new: &str| {
        app.client
            .post("/account/password")
            .cookie(session.clone())
            .private_cookie(Cookie::new("csrf", CSRF))
            .header(ContentType::Form)
            .body(form(&[
                ("current_password", current),
                ("new_password", new),
                ("confirm_password", new),
            ]))
    };
    let res = change(password, "too short").dispatch().await;
    assert_eq!(res.status(), Status::UnprocessableEntity);
    assert!(res.into_string().await.unwrap().contains("密码至少需要 12 个字符"));
    let res = change(password, "广州计量院的新密码很长很长").dispatch().await;
    assert_eq!(res.status(), Status::SeeOther);
    let res = app.client.get("/standards/new").cookie(session).dispatch().await;
    assert_eq!(res.status(), Status::Ok);
    assert_eq!(app.events("user.password_change").await, 1);
}

#[rocket::async_test]
async fn tokens_are_shown_once_stored_hashed_and_revocable() {
    let app = TestApp::demo().await;
    let user = app.user("reviewer").await;
    // Creating a token asks for the password again.
    let res = user
        .browser(app.client.post("/account/tokens"))
        .header(ContentType::Form)
        .body(form(&[("name", "LIMS"), ("password", "not my password")]))
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::UnprocessableEntity);
    let res = user
        .browser(app.client.post("/account/tokens"))
        .header(ContentType::Form)
        .body(form(&[("name", "LIMS"), ("password", PASSWORD)]))
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::Created);
    assert_eq!(res.headers().get_one("Cache-Control"), Some("no-store"));
    let html = res.into_string().await.unwrap();
    let start = html.find("mtc_").unwrap();
    let token: String = html[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    assert_eq!(token.len(), 4 + 64);
    // Stored as its SHA-256 only.
    let stored = metrocal::store::accounts::tokens_of(&app.db, user.id).await.unwrap();
    let row = stored.iter().find(|t| t.name == "LIMS").unwrap();
    assert_eq!(row.token_hash, metrocal::service::accounts::sha256_hex(&token));
    assert_ne!(row.token_hash, token);
    // The account page lists it without the secret.
    let res = user.browser(app.client.get("/account")).dispatch().await;
    let html = res.into_string().await.unwrap();
    assert!(html.contains(&row.prefix) && !html.contains(&token));
    // It works, until revoked.
    let me = |t: String| {
        app.client
            .get("/api/v1/me")
            .header(rocket::http::Header::new("Authorization", format!("Bearer {t}")))
    };
    assert_eq!(me(token.clone()).dispatch().await.status(), Status::Ok);
    let res = app
        .client
        .delete(format!("/api/v1/tokens/{}", row.id))
        .header(rocket::http::Header::new("Authorization", format!("Bearer {token}")))
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::NoContent);
    assert_eq!(me(token).dispatch().await.status(), Status::Unauthorized);
    assert_eq!(app.events("token.create").await, 2, "the test's own token and this one");
    assert_eq!(app.events("token.revoke").await, 1);
}

#[rocket::async_test]
async fn responses_carry_the_security_headers_and_bodies_are_limited() {
    let app = TestApp::demo().await;
    let res = app.client.get("/standards").dispatch().await;
    let h = res.headers();
    let csp = h.get_one("Content-Security-Policy").unwrap();
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(h.get_one("X-Content-Type-Options"), Some("nosniff"));
    assert_eq!(h.get_one("Referrer-Policy"), Some("same-origin"));
    assert!(h.get_one("X-Request-Id").is_some());
    // An oversized form is refused before it is read.
    let res = visitor(app.client.post("/login"))
        .header(ContentType::Form)
        .body(form(&[("email", &"x".repeat(300 * 1024))]))
        .dispatch()
        .await;
    assert_eq!(res.status(), Status::PayloadTooLarge);
}

#[rocket::async_test]
async fn failures_from_another_address_do_not_block_an_approvers_signature() {
    use metrocal::service::{accounts, Actor};
    let app = TestApp::demo().await;
    let approver = app.user("approver").await;
    let now = chrono::Utc::now();
    let principal = accounts::session_user(&app.db, &approver.session, now)
        .await
        .unwrap()
        .unwrap();
    let actor = Actor::user(principal, "test");
    for i in 0..10 {
        let res = login(&app, &approver.email, "not the password", "203.0.113.9:4000", None).await;
        assert_eq!(res.status(), Status::Unauthorized, "attempt {i}");
    }
    // The approver signs from their own desk: the right password is accepted...
    accounts::confirm_password(&actor, &app.db, PASSWORD, "192.0.2.10", now)
        .await
        .expect("the right password from another address confirms");
    // ...while the guessing address is refused even with it.
    let refused = accounts::confirm_password(&actor, &app.db, PASSWORD, "203.0.113.9", now).await;
    assert!(
        matches!(refused, Err(metrocal::service::Error::Throttled { .. })),
        "{refused:?}"
    );
}

#[rocket::async_test]
async fn a_huge_login_address_is_stored_only_in_part() {
    let app = TestApp::demo().await;
    // 250 KB in the e-mail field is refused at the form's boundary (no field is longer
    // than 4,000 characters); 3,000 characters get to the login and are kept in part.
    let res = login(
        &app,
        &format!("{}@example.com", "a".repeat(250_000)),
        "whatever password",
        "198.51.100.7:4000",
        None,
    )
    .await;
    assert_eq!(res.status(), Status::UnprocessableEntity);
    let huge = format!("{}@example.com", "a".repeat(3_000));
    for _ in 0..3 {
        let res = login(&app, &huge, "whatever password", "198.51.100.7:4000", None).await;
        assert_eq!(res.status(), Status::Unauthorized);
    }
    assert_eq!(app.count("login_attempts").await, 3);
    let stored = app.scalar("SELECT MAX(LENGTH(email)) AS n FROM login_attempts").await;
    assert!(stored <= 254, "login_attempts keeps {stored} characters");
    let trail = app
        .scalar("SELECT MAX(LENGTH(changes)) AS n FROM audit_events WHERE action = 'login.failed'")
        .await;
    assert!(
        trail < 2_000,
        "the audit trail keeps {trail} characters of a failed login"
    );
}
