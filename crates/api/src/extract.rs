//! Extractors whose rejections are [`ApiError`]s, so that every malformed request gets the
//! same JSON error body as everything else.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use serde::de::{DeserializeOwned, IgnoredAny};
use utoipa::IntoParams;
use valentine_domain::{EditToken, Slug};

use crate::error::ApiError;

/// Longest piece of a parser's message shown to a client, so an error never echoes a huge
/// input back.
const MESSAGE_MAX: usize = 160;

/// A JSON request body: must be declared `application/json`, at most the configured size
/// (enforced by the body limit layer), valid UTF-8 JSON without lone surrogates, and of the
/// right shape. Malformed JSON is a `400`; well-formed JSON of the wrong shape a `422`.
#[derive(Debug, Clone)]
pub(crate) struct Json<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(&req) {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e: BytesRejection| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else {
                ApiError::BadRequest("Could not read the request body".to_owned())
            }
        })?;
        parse(&bytes).map(Json)
    }
}

/// Parses a JSON body, which must be an object, sorting its errors into `400` (not JSON) and
/// `422` (wrong shape).
///
/// # Errors
/// As described.
pub(crate) fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // serde reads a struct from a JSON array too, item by item in field order; every body of
    // this API is an object.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        serde_json::from_slice::<IgnoredAny>(bytes).map_err(|e| refusal(&e))?;
        return Err(ApiError::invalid_field("body", "Invalid request body: expected a JSON object"));
    }
    serde_json::from_slice(bytes).map_err(|e| refusal(&e))
}

fn refusal(e: &serde_json::Error) -> ApiError {
    use serde_json::error::Category;
    match e.classify() {
        Category::Data => ApiError::invalid_field("body", format!("Invalid request body: {}", short(e))),
        Category::Syntax | Category::Eof | Category::Io => {
            ApiError::BadRequest(format!("Request body is not valid JSON: {}", short(e)))
        }
    }
}

fn short(err: &serde_json::Error) -> String {
    let text = err.to_string();
    if text.chars().count() <= MESSAGE_MAX {
        return text;
    }
    let cut: String = text.chars().take(MESSAGE_MAX).collect();
    format!("{cut}…")
}

fn is_json(req: &Request) -> bool {
    let Some(value) = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let mime = value.split(';').next().unwrap_or_default().trim();
    mime.eq_ignore_ascii_case("application/json")
        || (mime.len() > 5 && mime[..mime.len() - 5].contains('/') && mime.ends_with("+json"))
}

/// A path parameter; a parameter that is not valid percent-encoded UTF-8 is a `400`.
#[derive(Debug, Clone)]
pub(crate) struct Path<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state).await.map(|p| Path(p.0)).map_err(
            |e: PathRejection| ApiError::BadRequest(format!("Invalid path: {}", truncate(&e.body_text()))),
        )
    }
}

/// A query string; one that does not fit the expected parameters is a `400`.
#[derive(Debug, Clone)]
pub(crate) struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state).await.map(|q| Query(q.0)).map_err(
            |e: QueryRejection| {
                ApiError::BadRequest(format!("Invalid query string: {}", truncate(&e.body_text())))
            },
        )
    }
}

fn truncate(text: &str) -> String {
    if text.chars().count() <= MESSAGE_MAX {
        text.to_owned()
    } else {
        format!("{}…", text.chars().take(MESSAGE_MAX).collect::<String>())
    }
}

/// The page a path names, as its slug's lowercase key: anything that cannot be a page's slug
/// is a `404` (a path never says why a slug is invalid).
#[derive(Debug, Clone, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct PageSlug {
    /// The page's slug, in any casing.
    #[param(
        rename = "slug",
        min_length = 3,
        max_length = 50,
        pattern = r"^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?$"
    )]
    pub(crate) key: String,
}

impl<S: Send + Sync> FromRequestParts<S> for PageSlug {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state).await?;
        let slug = Slug::parse(&raw).map_err(|_| ApiError::NotFound("Page not found"))?;
        Ok(Self { key: slug.key() })
    }
}

/// The edit token a request presents in `X-Edit-Token`: `401` when absent or blank, `403`
/// when it is not even text (it cannot be any page's token).
#[derive(Debug, Clone, IntoParams)]
#[into_params(parameter_in = Header)]
pub(crate) struct EditTokenHeader {
    /// The secret the page's author got when creating it.
    #[param(rename = "X-Edit-Token", value_type = String)]
    pub(crate) token: EditToken,
}

/// A request by a page's author: the page its path names, then the edit token it presents,
/// checked in that order (an unknown page is a `404` whatever the token).
#[derive(Debug, Clone)]
pub(crate) struct PageAuthor {
    /// The page's slug key.
    pub(crate) key: String,
    /// The token presented.
    pub(crate) token: EditToken,
}

impl<S: Send + Sync> FromRequestParts<S> for PageAuthor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let PageSlug { key } = PageSlug::from_request_parts(parts, state).await?;
        let EditTokenHeader { token } = EditTokenHeader::from_request_parts(parts, state).await?;
        Ok(Self { key, token })
    }
}

/// Header carrying the edit token.
pub(crate) const EDIT_TOKEN: &str = "x-edit-token";

impl<S: Send + Sync> FromRequestParts<S> for EditTokenHeader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let value = parts.headers.get(EDIT_TOKEN).ok_or(ApiError::MissingToken)?;
        let text = value.to_str().map_err(|_| ApiError::WrongToken)?.trim();
        if text.is_empty() {
            return Err(ApiError::MissingToken);
        }
        Ok(Self { token: EditToken::presented(text) })
    }
}

/// Header carrying a private page's PIN.
pub(crate) const PAGE_PIN: &str = "x-page-pin";

/// The PIN a reader presents for a private page (`X-Page-Pin`), percent-decoded as UTF-8 (a
/// browser can send only Latin-1 in a header, so clients percent-encode every PIN).
#[derive(Debug, Clone, Default, IntoParams)]
#[into_params(parameter_in = Header)]
pub(crate) struct PagePin {
    /// The page's PIN, percent-encoded UTF-8 (`encodeURIComponent`): needed to read a page
    /// that has one.
    #[param(rename = "X-Page-Pin", value_type = String, required = false)]
    pub(crate) pin: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for PagePin {
    type Rejection = ApiError;

    /// Never refuses: a PIN that cannot be right (too long, badly encoded) is a wrong guess,
    /// which only a page with a PIN looks at.
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(PAGE_PIN) else { return Ok(Self::default()) };
        // Longer than any percent-encoded PIN of 64 characters: a guess that cannot be right.
        let pin = (value.len() <= 400).then(|| percent_decoded(value.as_bytes())).flatten();
        Ok(Self { pin: Some(pin.unwrap_or_default()) })
    }
}

/// What a reader presents to see a page: its edit token (`X-Edit-Token`, its author's) and
/// its PIN (`X-Page-Pin`), either or both or neither.
#[derive(Debug, Clone, Default)]
pub(crate) struct ReaderKeys {
    /// The edit token, if one was sent (a malformed one is none).
    pub(crate) author: Option<EditToken>,
    /// The PIN, if one was sent.
    pub(crate) pin: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for ReaderKeys {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let author = EditTokenHeader::from_request_parts(parts, state).await.ok().map(|a| a.token);
        let PagePin { pin } = PagePin::from_request_parts(parts, state).await?;
        Ok(Self { author, pin })
    }
}

/// `raw` with its `%XX` escapes decoded, if that gives UTF-8.
fn percent_decoded(raw: &[u8]) -> Option<String> {
    let mut out = Vec::with_capacity(raw.len());
    let mut bytes = raw.iter();
    while let Some(&b) = bytes.next() {
        if b == b'%' {
            let hex = [*bytes.next()?, *bytes.next()?];
            out.push(u8::from_str_radix(std::str::from_utf8(&hex).ok()?, 16).ok()?);
        } else {
            out.push(b);
        }
    }
    String::from_utf8(out).ok()
}

/// Header of a write answer: the stream position of the event it recorded.
pub(crate) const POSITION: &str = "valentine-position";

/// Header of a read: answer only once the read model has reached this position.
pub(crate) const MIN_POSITION: &str = "valentine-min-position";

/// The position a read asks the read model to have reached first (`Valentine-Min-Position`),
/// if any: a `400` unless a whole number.
#[derive(Debug, Clone, Copy, IntoParams)]
#[into_params(parameter_in = Header)]
pub(crate) struct MinPosition {
    /// The `Valentine-Position` of the caller's latest write: the read waits (up to
    /// `SYNC_WAIT_MS`) until this server's read model has applied it, else answers `503`
    /// with `Retry-After`.
    #[param(rename = "Valentine-Min-Position", value_type = u64, minimum = 0, maximum = 9_223_372_036_854_775_807_f64, required = false)]
    pub(crate) position: Option<u64>,
}

impl<S: Send + Sync> FromRequestParts<S> for MinPosition {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(MIN_POSITION) else { return Ok(Self { position: None }) };
        let position = value
            .to_str()
            .ok()
            .map(str::trim)
            .filter(|t| !t.is_empty() && t.len() <= 19 && t.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|t| t.parse::<i64>().ok())
            .and_then(|p| u64::try_from(p).ok())
            .ok_or_else(|| {
                ApiError::BadRequest(
                    "Valentine-Min-Position must be a stream position: a whole number".to_owned(),
                )
            })?;
        Ok(Self { position: Some(position) })
    }
}

#[cfg(test)]
mod pin_tests {
    use super::percent_decoded;

    #[test]
    fn pins_arrive_percent_encoded() {
        assert_eq!(percent_decoded(b"1234").as_deref(), Some("1234"));
        assert_eq!(percent_decoded(b"%E2%9D%A4%E2%9D%A4%20x").as_deref(), Some("❤❤ x"));
        assert_eq!(percent_decoded(b"100%25").as_deref(), Some("100%"));
        assert_eq!(percent_decoded(b"%zz"), None);
        assert_eq!(percent_decoded(b"%E2%9D"), None);
        assert_eq!(percent_decoded(b"%4"), None);
    }
}

#[cfg(test)]
mod tests {
    use axum::http::Request as HttpRequest;

    use super::*;

    async fn token_of(header: Option<&str>) -> Result<EditTokenHeader, ApiError> {
        let mut request = HttpRequest::builder().uri("/");
        if let Some(value) = header {
            request = request.header(EDIT_TOKEN, value);
        }
        let (mut parts, ()) = request.body(()).expect("request").into_parts();
        EditTokenHeader::from_request_parts(&mut parts, &()).await
    }

    #[derive(Debug, serde::Deserialize)]
    struct Body {
        #[serde(default)]
        _a: Option<String>,
        #[serde(default)]
        _b: Option<String>,
    }

    #[test]
    fn a_body_is_an_object_never_an_array_of_its_fields() {
        parse::<Body>(b" {\"_a\": \"x\"} ").expect("an object");
        for array in [&b"[\"x\", \"y\"]"[..], b" [null]", b"[]"] {
            let refused = parse::<Body>(array).expect_err("an array");
            assert_eq!((refused.status().as_u16(), refused.code()), (422, "invalid"));
        }
        assert_eq!(parse::<Body>(b"[1, ").expect_err("not JSON").code(), "bad_request");
    }

    #[tokio::test]
    async fn a_min_position_is_a_whole_number_or_a_400() {
        async fn parsed(value: Option<&str>) -> Result<Option<u64>, ApiError> {
            let mut request = HttpRequest::builder().uri("/");
            if let Some(value) = value {
                request = request.header(MIN_POSITION, value);
            }
            let (mut parts, ()) = request.body(()).expect("request").into_parts();
            MinPosition::from_request_parts(&mut parts, &()).await.map(|m| m.position)
        }
        assert_eq!(parsed(None).await.expect("absent"), None);
        assert_eq!(parsed(Some("42")).await.expect("a number"), Some(42));
        assert_eq!(parsed(Some(" 0 ")).await.expect("zero"), Some(0));
        assert_eq!(parsed(Some("9223372036854775807")).await.expect("the largest"), Some(i64::MAX as u64));
        for bad in
            ["", "-1", "4.2", "1e3", "abc", "9223372036854775808", "18446744073709551616", "+5", "0x10"]
        {
            assert_eq!(parsed(Some(bad)).await.expect_err(bad).code(), "bad_request", "{bad:?}");
        }
    }

    #[tokio::test]
    async fn a_missing_or_blank_edit_token_is_a_401_and_text_is_presented_trimmed() {
        assert_eq!(token_of(None).await.expect_err("absent").code(), "missing_token");
        assert_eq!(token_of(Some("  ")).await.expect_err("blank").code(), "missing_token");
        let presented = token_of(Some(" abc ")).await.expect("text");
        assert_eq!(presented.token.expose(), "abc");
    }
}
