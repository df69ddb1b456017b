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
    rocket::build().mount("/", rocket::routes![hello])
}
