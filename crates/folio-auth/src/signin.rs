//! The sign-in port: what `/api/auth/*` needs from whoever keeps the accounts. The built-in
//! [`UserPool`] is one implementation; the AWS shape backs the same routes with Cognito, and a
//! deployment that trusts an outside issuer only has none (the routes are not mounted).

use async_trait::async_trait;
use folio_core::IdentityId;
use serde::Serialize;

use crate::{AuthError, Jwks, Session, UserPool};

/// A new account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Registration {
    /// The subject (`sub`) of its tokens.
    pub user_id: String,
    /// The normalised email.
    pub email: String,
    /// The identity id (the `<identity>` of its object keys).
    pub identity_id: IdentityId,
    /// Whether the account must be confirmed ([`SignIn::confirm`], with the code the provider
    /// emailed) before it can sign in. The built-in pool confirms at registration.
    pub confirmation_required: bool,
}

/// Registers and signs people in. Contract ([`crate::testing::check_sign_in`]): an email is
/// registered once; an account that needs confirming cannot sign in until it is confirmed;
/// wrong credentials and unknown accounts get the same answer; a session's
/// identity is its registration's; a refresh gives a new session of the same identity; after
/// a logout the session's refresh token is refused; a password change needs the current
/// password, ends the sessions, and from then on only the new password signs in.
#[async_trait]
pub trait SignIn: Send + Sync + 'static {
    /// The issuer (`iss`) of the access tokens its sessions carry.
    fn issuer(&self) -> &str;
    /// Registers an account.
    async fn register(&self, email: &str, password: &str) -> Result<Registration, AuthError>;
    /// Confirms a registration with the code the provider sent to `email`. A wrong or expired
    /// code is an [`AuthError::InvalidRequest`]; an account confirmed already, and every account
    /// where accounts need no confirming, is [`AuthError::AlreadyConfirmed`].
    async fn confirm(&self, email: &str, code: &str) -> Result<(), AuthError>;
    /// Signs in from `client` (the address throttles count by).
    async fn login(&self, email: &str, password: &str, client: &str) -> Result<Session, AuthError>;
    /// Trades a refresh token for a new session.
    async fn refresh(&self, refresh_token: &str) -> Result<Session, AuthError>;
    /// Ends the session a refresh token belongs to (an unknown token is no error).
    async fn logout(&self, refresh_token: &str) -> Result<(), AuthError>;
    /// Changes the password of `subject` (whose verified `access_token` the caller sent) after
    /// checking the current one; ends its sessions.
    async fn change_password(
        &self,
        subject: &str,
        access_token: &str,
        current: &str,
        new: &str,
        client: &str,
    ) -> Result<(), AuthError>;
    /// The public keys of its tokens where it publishes them itself (the built-in pool serves
    /// `/.well-known/jwks.json`); `None` where the provider publishes its own (Cognito).
    async fn jwks(&self) -> Result<Option<Jwks>, AuthError>;
}

#[async_trait]
impl SignIn for UserPool {
    fn issuer(&self) -> &str {
        UserPool::issuer(self)
    }

    async fn register(&self, email: &str, password: &str) -> Result<Registration, AuthError> {
        let user = UserPool::register(self, email, password).await?;
        Ok(Registration {
            identity_id: self.identity_of(&user),
            user_id: user.id,
            email: user.email,
            confirmation_required: false,
        })
    }

    async fn confirm(&self, _email: &str, _code: &str) -> Result<(), AuthError> {
        Err(AuthError::AlreadyConfirmed)
    }

    async fn login(&self, email: &str, password: &str, client: &str) -> Result<Session, AuthError> {
        UserPool::login(self, email, password, client).await
    }

    async fn refresh(&self, refresh_token: &str) -> Result<Session, AuthError> {
        UserPool::refresh(self, refresh_token).await
    }

    async fn logout(&self, refresh_token: &str) -> Result<(), AuthError> {
        UserPool::logout(self, refresh_token).await
    }

    async fn change_password(
        &self,
        subject: &str,
        _access_token: &str,
        current: &str,
        new: &str,
        client: &str,
    ) -> Result<(), AuthError> {
        UserPool::change_password(self, subject, current, new, client).await
    }

    async fn jwks(&self) -> Result<Option<Jwks>, AuthError> {
        UserPool::jwks(self).await.map(Some)
    }
}
