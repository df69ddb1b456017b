//! Serving the web application, and bringing the database schema up to date.

use super::{config, Cli};

pub async fn serve(cli: &Cli) -> Result<(), String> {
    let config = config(cli)?;
    let rocket = crate::rocket(config).map_err(|e| format!("cannot prepare the data directory: {e}"))?;
    rocket
        .attach(crate::web::schedule::daily_job())
        .launch()
        .await
        .map_err(|e| e.to_string())?;
    Ok(())
}

pub async fn migrate(cli: &Cli) -> Result<(), String> {
    let mut config = config(cli)?;
    config.demo_data = false;
    crate::setup_database(&config).await?;
    println!("database {} is up to date", crate::redact(&config.database_url));
    Ok(())
}
