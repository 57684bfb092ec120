//! `folio users …`: the operator's view of the built-in user pool.

use std::io::{BufRead, IsTerminal};

use folio_core::functions::{QueryParams, delete_document, query_documents};
use std::sync::Arc;

use folio_auth::PoolSettings;
use folio_core::Settings;
use folio_core::ports::NoRenderer;

use crate::args::{UserArgs, UsersListArgs};
use crate::failure::Failure;
use crate::shape::{Deployment, storage};

fn auth_failure(err: folio_auth::AuthError) -> Failure {
    match err {
        folio_auth::AuthError::NotFound => {
            Failure::document("no account has that email").with_hint("see `folio users list`")
        }
        other => Failure::document(other.to_string()),
    }
}

/// Lists accounts.
pub async fn list(args: &UsersListArgs) -> Result<(), Failure> {
    let data = Deployment::open(&args.settings, Arc::new(NoRenderer), Settings::default()).await?;
    let pool = data.user_pool(PoolSettings::default()).await?;
    let users = pool.users().await.map_err(auth_failure)?;
    if args.json {
        let rows: Vec<_> = users
            .iter()
            .map(|u| serde_json::json!({ "email": u.email, "user_id": u.id, "identity_id": pool.identity_of(u), "created": folio_core::functions::rfc3339(u.created_ms) }))
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&rows).map_err(|e| Failure::document(e.to_string()))?
        );
    } else if users.is_empty() {
        eprintln!("no accounts yet");
    } else {
        for u in &users {
            println!(
                "{}  {}  {}",
                pool.identity_of(u),
                folio_core::functions::rfc3339(u.created_ms),
                u.email
            );
        }
    }
    Ok(())
}

/// Sets a new password: the first line of standard input, or a generated one (printed).
pub async fn reset_password(args: &UserArgs) -> Result<(), Failure> {
    let data = Deployment::open(&args.settings, Arc::new(NoRenderer), Settings::default()).await?;
    let pool = data.user_pool(PoolSettings::default()).await?;
    let user = pool.user(&args.email).await.map_err(auth_failure)?;
    let stdin = std::io::stdin();
    let (password, generated) = if stdin.is_terminal() {
        (generate_password(), true)
    } else {
        let mut line = String::new();
        stdin
            .lock()
            .read_line(&mut line)
            .map_err(|e| Failure::document(format!("cannot read standard input: {e}")))?;
        let line = line.trim_end_matches(['\r', '\n']).to_owned();
        if line.is_empty() { (generate_password(), true) } else { (line, false) }
    };
    pool.set_password(&user, &password).await.map_err(auth_failure)?;
    if generated {
        println!("{password}");
        eprintln!("new password set for {}; their sessions have ended", user.email);
    } else {
        eprintln!("password set for {}; their sessions have ended", user.email);
    }
    Ok(())
}

fn generate_password() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Deletes an account and every document it owns.
pub async fn delete(args: &UserArgs) -> Result<(), Failure> {
    let data = Deployment::open(&args.settings, Arc::new(NoRenderer), Settings::default()).await?;
    let pool = data.user_pool(PoolSettings::default()).await?;
    let user = pool.user(&args.email).await.map_err(auth_failure)?;
    let identity = pool.identity_of(&user);
    let mut deleted = 0;
    loop {
        let page = query_documents(
            &data.services.pipeline,
            &identity,
            &QueryParams { limit: Some(100), ..Default::default() },
        )
        .await
        .map_err(storage)?;
        if page.items.is_empty() {
            break;
        }
        for item in &page.items {
            match delete_document(&data.services.pipeline, &identity, &item.id).await {
                Ok(()) | Err(folio_core::Error::NotFound) => deleted += 1,
                Err(err) => return Err(storage(err)),
            }
        }
        data.deliver_events().await?;
    }
    pool.delete(&user).await.map_err(auth_failure)?;
    eprintln!("deleted {} and {deleted} documents", user.email);
    Ok(())
}
