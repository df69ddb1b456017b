//! User accounts and API tokens at the operator's terminal.

use super::{field_errors, open, Cli};
use crate::service::{accounts, Actor};
use clap::Subcommand;

#[derive(Subcommand)]
pub enum UserCommand {
    /// Add a user to an organisation with one or more roles.
    Add {
        /// The login name.
        #[arg(long)]
        email: String,
        /// The person's name.
        #[arg(long)]
        name: String,
        /// The organisation's unified social credit code (or id).
        #[arg(long)]
        org: String,
        /// regulator, system_admin, institute_admin, scheduler, technician, reviewer, approver, enterprise.
        #[arg(long = "role", required = true, num_args = 1.., value_delimiter = ',')]
        roles: Vec<String>,
        /// Read the password from the first line of standard input. Without it a
        /// one-time password is generated, printed once, and must be changed at first login.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Disable a user: their sessions end and their tokens stop working.
    Disable {
        /// The user's e-mail address.
        email: String,
    },
}

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Create an API token for a user and print it (the only time it is shown).
    Create {
        #[arg(long)]
        email: String,
        /// What the token is for, e.g. "LIMS export".
        #[arg(long, default_value = "")]
        name: String,
    },
}

pub async fn users(cli: &Cli, command: &UserCommand) -> Result<(), String> {
    match command {
        UserCommand::Add {
            email,
            name,
            org,
            roles,
            password_stdin,
        } => {
            let db = open(cli).await?;
            let (password, one_time) = if *password_stdin {
                let mut line = String::new();
                std::io::stdin()
                    .read_line(&mut line)
                    .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
                (line.trim_end_matches(['\r', '\n']).to_owned(), false)
            } else {
                (accounts::one_time_password(), true)
            };
            let input = accounts::NewUser {
                email: email.clone(),
                name: name.clone(),
                organisation: org.clone(),
                roles: roles.join(","),
                password: password.clone(),
                one_time,
            };
            let user = accounts::add_user(&Actor::system("cli user add"), &db, &input, chrono::Utc::now())
                .await
                .map_err(field_errors)?;
            println!("added user {} ({}) with roles {}", user.email, user.id, user.roles);
            if one_time {
                println!("one-time password (shown once; to be changed at first login): {password}");
            }
        }
        UserCommand::Disable { email } => {
            let db = open(cli).await?;
            accounts::disable_user(&Actor::system("cli user disable"), &db, email, chrono::Utc::now())
                .await
                .map_err(field_errors)?;
            println!("disabled {email}: its sessions are ended and its tokens no longer work");
        }
    }
    Ok(())
}

pub async fn tokens(cli: &Cli, command: &TokenCommand) -> Result<(), String> {
    match command {
        TokenCommand::Create { email, name } => {
            let db = open(cli).await?;
            let (secret, token) = accounts::create_token(
                &Actor::system("cli token create"),
                &db,
                Some(email),
                name,
                None,
                chrono::Utc::now(),
            )
            .await
            .map_err(field_errors)?;
            eprintln!(
                "token {} ({}) for {email}; it is shown only this once:",
                token.id, token.name
            );
            println!("{secret}");
        }
    }
    Ok(())
}
