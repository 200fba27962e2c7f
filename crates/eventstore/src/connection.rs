//! Where NATS is and who connects: the settings every process that touches the event store
//! shares.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

/// A password for a server connection: never printed (`Debug` shows `<redacted>`).
#[derive(Clone)]
pub struct Password(SecretString);

impl Password {
    /// Wraps a password.
    pub fn new(password: impl Into<String>) -> Self {
        Self(SecretString::from(password.into()))
    }

    /// The password itself, for the connection that sends it.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

impl PartialEq for Password {
    fn eq(&self, other: &Self) -> bool {
        self.expose() == other.expose()
    }
}

impl Eq for Password {}

/// How to reach NATS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatsSettings {
    /// `NATS_URL`: one server URL, or several comma separated (the nodes of a cluster, so a
    /// process can start while one is down). Once connected, clients also learn the
    /// cluster's other nodes from the server and reconnect to any of them. Credentials never
    /// go here (see [`NatsSettings::check`]).
    pub url: String,
    /// `NATS_USER`: the user to connect as, if the server requires one.
    pub user: Option<String>,
    /// `NATS_PASSWORD`: that user's password.
    pub password: Option<Password>,
}

impl Default for NatsSettings {
    fn default() -> Self {
        Self::at("nats://127.0.0.1:4222")
    }
}

impl NatsSettings {
    /// Settings for `url` without credentials.
    pub fn at(url: impl Into<String>) -> Self {
        Self { url: url.into(), user: None, password: None }
    }

    /// The same servers, connecting as `user` with `password`.
    #[must_use]
    pub fn with_user(self, user: impl Into<String>, password: Password) -> Self {
        Self { user: Some(user.into()), password: Some(password), ..self }
    }

    /// The server URLs in [`Self::url`], blanks dropped.
    pub fn servers(&self) -> Vec<&str> {
        self.url.split(',').map(str::trim).filter(|url| !url.is_empty()).collect()
    }

    /// Why these settings cannot be used, if they cannot. The reason never includes a
    /// password.
    ///
    /// # Errors
    /// When the URL names no server, or one that is not a NATS URL, or carries credentials
    /// (the client would ignore them, and a URL gets printed: they go in `NATS_USER` and
    /// `NATS_PASSWORD`); when a password is given without a user or a user without one.
    pub fn check(&self) -> Result<(), String> {
        let servers = self.servers();
        if servers.is_empty() {
            return Err("name at least one server, e.g. nats://127.0.0.1:4222".to_owned());
        }
        for server in servers {
            let address = server
                .parse::<async_nats::ServerAddr>()
                .map_err(|e| format!("{}: {e}", without_userinfo(server)))?;
            if address.has_user_pass() || address.password().is_some() {
                return Err(format!(
                    "{}: put credentials in NATS_USER and NATS_PASSWORD, not in the URL",
                    without_userinfo(server)
                ));
            }
        }
        match (&self.user, &self.password) {
            (Some(_), None) => Err("NATS_USER is set without NATS_PASSWORD".to_owned()),
            (None, Some(_)) => Err("NATS_PASSWORD is set without NATS_USER".to_owned()),
            _ => Ok(()),
        }
    }

    /// Connects, naming the connection `name` (as the server's monitoring shows it).
    ///
    /// # Errors
    /// When no server answers, or it refuses the credentials.
    pub async fn connect(&self, name: &str) -> Result<async_nats::Client, async_nats::ConnectError> {
        self.options().name(name).connect(self.servers()).await
    }

    /// Connection options carrying the credentials, if any.
    pub fn options(&self) -> async_nats::ConnectOptions {
        match (&self.user, &self.password) {
            (Some(user), Some(password)) => {
                async_nats::ConnectOptions::with_user_and_password(user.clone(), password.expose().to_owned())
            }
            _ => async_nats::ConnectOptions::new(),
        }
    }
}

/// `server` with anything before an `@` in its authority replaced, for messages.
fn without_userinfo(server: &str) -> String {
    let (scheme, rest) = server.split_once("://").unwrap_or(("", server));
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://<credentials>@{}", &rest[at + 1..]),
        None => server.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_may_list_several_servers() {
        let settings = NatsSettings::at("nats://a:4222, nats://b:4222,,nats://c:4222");
        assert_eq!(settings.servers(), ["nats://a:4222", "nats://b:4222", "nats://c:4222"]);
        assert_eq!(NatsSettings::default().servers(), ["nats://127.0.0.1:4222"]);
        assert!(settings.check().is_ok());
    }

    #[test]
    fn a_url_without_a_server_or_of_another_scheme_is_refused() {
        for url in [" , ", "", "nats://127.0.0.1:4222,http://127.0.0.1:4223"] {
            assert!(NatsSettings::at(url).check().is_err(), "{url:?}");
        }
    }

    #[test]
    fn credentials_in_the_url_are_refused_without_repeating_them() {
        for url in [
            "nats://api:hunter2@nats:4222",
            "nats://nats:4222,nats://hunter2@b:4222",
            "nats://:hunter2@nats:4222",
        ] {
            let why = NatsSettings::at(url).check().expect_err(url);
            assert!(why.contains("NATS_PASSWORD") && !why.contains("hunter2"), "{why}");
        }
    }

    #[test]
    fn a_user_needs_a_password_and_the_password_never_prints() {
        let settings = NatsSettings::at("nats://nats:4222").with_user("api", Password::new("hunter2"));
        assert!(settings.check().is_ok());
        assert!(!format!("{settings:?}").contains("hunter2"));
        let no_password = NatsSettings { user: Some("api".to_owned()), ..NatsSettings::default() };
        assert!(no_password.check().is_err());
        let no_user = NatsSettings { password: Some(Password::new("x")), ..NatsSettings::default() };
        assert!(no_user.check().is_err());
    }
}
