//! How the API and the projectors reach Redis: `REDIS_URL` and the password Redis requires
//! (`REDIS_PASSWORD`), which is never part of the URL, so the URL can be shown.

use std::time::Duration;

use redis::{ErrorKind, IntoConnectionInfo, RedisError, RedisResult};
use valentine_eventstore::Password;

/// A client for `url` that authenticates with `password`, if one is given (as Redis's
/// default user, the one `requirepass` sets).
///
/// # Errors
/// When the URL is malformed.
pub fn client(url: &str, password: Option<&Password>) -> RedisResult<redis::Client> {
    let mut info = url.into_connection_info()?;
    if let Some(password) = password {
        let settings = info.redis_settings().clone().set_password(password.expose());
        info = info.set_redis_settings(settings);
    }
    redis::Client::open(info)
}

/// How long the start-up login check waits for Redis before going on without it.
pub const LOGIN_CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// Whether Redis refuses the login: a wrong `REDIS_PASSWORD`, or none where Redis requires
/// one. That is a setting to fix, so the API and the projectors stop at start on it, unlike
/// an unreachable Redis, which they ride out. `Ok` when Redis takes the login, or does not
/// answer within `timeout`.
///
/// # Errors
/// Redis's refusal (its message names no password).
pub async fn check_login(client: &redis::Client, timeout: Duration) -> RedisResult<()> {
    let attempt = async {
        let mut connection = client.get_multiplexed_async_connection().await?;
        redis::cmd("PING").query_async::<String>(&mut connection).await
    };
    match tokio::time::timeout(timeout, attempt).await {
        Ok(Err(e)) if refuses_login(&e) => Err(e),
        _ => Ok(()),
    }
}

fn refuses_login(e: &RedisError) -> bool {
    e.kind() == ErrorKind::AuthenticationFailed || matches!(e.code(), Some("NOAUTH" | "WRONGPASS"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_is_sent_as_the_default_users() {
        let client = client("redis://127.0.0.1:6379/2", Some(&Password::new("hunter2"))).expect("a client");
        let settings = client.get_connection_info().redis_settings();
        assert_eq!((settings.password(), settings.username(), settings.db()), (Some("hunter2"), None, 2));
        let open = super::client("redis://127.0.0.1:6379", None).expect("a client");
        assert_eq!(open.get_connection_info().redis_settings().password(), None);
    }
}
