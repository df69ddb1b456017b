//! Serving the web application, and bringing the database schema up to date.

use super::{config, Cli};

pub async fn serve(cli: &Cli) -> Result<(), String> {
    let config = config(cli)?;
    if config.public_url_is_local() {
        eprintln!(
            "metrocal: METROCAL_PUBLIC_URL is {}: the QR codes and verification links of the \
             certificates this server issues point to this machine and open nowhere for a customer. \
             Set METROCAL_PUBLIC_URL to the address the public reaches this server at.\n\
             metrocal：METROCAL_PUBLIC_URL 为 {}，本服务器签发的证书上的二维码和验证链接指向本机，\
             客户无法打开。请将 METROCAL_PUBLIC_URL 设为公众访问本服务器的地址。",
            config.public_url, config.public_url
        );
    }
    // Instances sharing one PostgreSQL database must share their secrets: refuse to start
    // with one made up on this machine alone, naming what is missing.
    let missing = crate::config::missing_shared_secrets(&config);
    if !missing.is_empty() {
        return Err(format!(
            "on PostgreSQL every instance needs the same secrets, given explicitly; missing: {}. \
             See docs/operations.md, \"One configuration for every instance\".\n\
             在 PostgreSQL 上，每个实例都须显式配置相同的密钥；缺少：{}。",
            missing.join(", "),
            missing.join("、")
        ));
    }
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
