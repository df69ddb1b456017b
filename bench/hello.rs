//! The baseline of bench/load.sh: a hello-world Rocket route on the same machine, with
//! Rocket's defaults and nothing of metrocal, so that metrocal's pages are measured
//! against what the framework itself costs.
//! Usage: ROCKET_PORT=8900 target/release/examples/hello

#[rocket::get("/")]
fn hello() -> &'static str {
    "Hello, world!"
}

#[rocket::launch]
fn rocket() -> _ {
    // The crate enables Rocket's private cookies, which refuse to start a release build
    // without a key; this route sets no cookie, so any key will do.
    let figment = rocket::Config::figment().merge((
        "secret_key",
        "6d6574726f63616c2068656c6c6f2d776f726c6420626173656c696e65202020",
    ));
    rocket::custom(figment).mount("/", rocket::routes![hello])
}
