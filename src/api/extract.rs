//! Request extractors whose rejections are envelopes naming the field or parameter at fault.

use std::net::{IpAddr, SocketAddr};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use super::MAX_BODY_BYTES;
use crate::envelope::ApiError;
use crate::state::AppState;

/// A JSON body. Malformed JSON, a wrong type or an oversized body each get a precise 4xx.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = read_body(req, state).await?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// A raw body (form or JSON, read by the handler); an oversized one is a 413 envelope.
pub struct RawBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        read_body(req, state).await.map(RawBody)
    }
}

async fn read_body<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state).await.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge { limit_bytes: MAX_BODY_BYTES }
        } else {
            ApiError::bad_request(format!("could not read the request body: {rejection}"))
        }
    })
}

/// Parses a JSON document into `T`, naming the field whose value has the wrong type.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request("request body is empty: send a JSON document"));
    }
    refuse_nul_in_json(bytes)?;
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            // A lone surrogate (`"\ud800"`) or a byte that is not UTF-8 in a string is a syntax error too:
            // the path names the field it was found in.
            match path.as_str() {
                "" | "." => ApiError::bad_request(format!("request body is not valid JSON: {inner}")),
                path => ApiError::bad_request(format!("request body is not valid JSON at {path}: {inner}")),
            }
        } else if path.is_empty() || path == "." {
            ApiError::bad_request(format!("request body has the wrong shape: {}", strip_position(&inner)))
        } else {
            ApiError::bad_request(wrong_type(&path, &inner))
        }
    })?;
    deserializer.end().map_err(|e| ApiError::bad_request(format!("request body is not valid JSON: {e}")))?;
    Ok(value)
}

/// Deserializes an already-parsed JSON value, naming a wrongly typed field with `prefix` (e.g. `users[2].`).
pub fn parse_json_value<T: DeserializeOwned>(value: serde_json::Value, prefix: &str) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|error| {
        let path = format!("{prefix}{}", error.path());
        ApiError::bad_request(wrong_type(&path, &error.into_inner()))
    })
}

/// One query parameter read from the raw query with percent-decoding only: unlike form decoding,
/// a `+` stays a `+` (the SDK sends ids such as e-mail addresses unencoded).
pub fn raw_query_param(uri: &axum::http::Uri, name: &str) -> Result<Option<String>, ApiError> {
    let Some(query) = uri.query() else { return Ok(None) };
    form_pairs(query.as_bytes(), QUERY_PARAMETER)?;
    for pair in query.split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if key == name {
            let decoded = percent_encoding::percent_decode_str(value)
                .decode_utf8()
                .map_err(|_| ApiError::bad_request(format!("query parameter {name} is not valid UTF-8")))?;
            return Ok(Some(decoded.into_owned()));
        }
    }
    Ok(None)
}

/// How [`form_pairs`] names a query string's fields in its errors.
pub const QUERY_PARAMETER: &str = "query parameter";
/// How [`form_pairs`] names a form body's fields in its errors.
pub const FORM_FIELD: &str = "form field";

/// Text both backends can store: Postgres refuses a NUL byte (0x00) in text, so it is refused here,
/// at the edge, wherever text comes in (path, query, form, JSON), with a 400 naming the field.
fn storable(field: impl std::fmt::Display, text: &str) -> Result<(), ApiError> {
    if text.contains('\0') {
        return Err(ApiError::bad_request(format!("{field} must not contain a NUL byte")));
    }
    Ok(())
}

/// The pairs of an `application/x-www-form-urlencoded` text (a query string or a form body), decoded
/// as forms are (`+` is a space). Unlike lossy decoding, a name or value that is not UTF-8 or that holds
/// a NUL byte is a 400 naming it, `what` saying where it was (`query parameter`, `form field`).
pub fn form_pairs(input: &[u8], what: &str) -> Result<Vec<(String, String)>, ApiError> {
    let decode = |bytes: &[u8]| -> Vec<u8> {
        let spaced: Vec<u8> = bytes.iter().map(|&b| if b == b'+' { b' ' } else { b }).collect();
        percent_encoding::percent_decode(&spaced).collect()
    };
    let mut pairs = Vec::new();
    for pair in input.split(|&b| b == b'&').filter(|pair| !pair.is_empty()) {
        let (name, value) = match pair.iter().position(|&b| b == b'=') {
            Some(at) => (&pair[..at], &pair[at + 1..]),
            None => (pair, &[][..]),
        };
        let name = String::from_utf8(decode(name)).map_err(|e| {
            let lossy = String::from_utf8_lossy(e.as_bytes()).into_owned();
            ApiError::bad_request(format!("{what} name {lossy:?} is not valid UTF-8"))
        })?;
        storable(format_args!("{what} name {name:?}"), &name)?;
        let value = String::from_utf8(decode(value))
            .map_err(|_| ApiError::bad_request(format!("{what} {name} is not valid UTF-8")))?;
        storable(format_args!("{what} {name}"), &value)?;
        pairs.push((name, value));
    }
    Ok(pairs)
}

/// Refuses a JSON text holding a NUL byte in any string, key or value, at any depth, naming where.
/// A NUL can only appear escaped (`\u0000`: a raw one is a syntax error), so texts without that
/// escape, nearly all of them, are not parsed twice.
fn refuse_nul_in_json(bytes: &[u8]) -> Result<(), ApiError> {
    if !bytes.windows(6).any(|w| w == b"\\u0000") {
        return Ok(());
    }
    match serde_json::from_slice::<serde_json::Value>(bytes) {
        Ok(value) => refuse_nul_in_value(&value, ""),
        // Not JSON: the parse proper says why.
        Err(_) => Ok(()),
    }
}

fn refuse_nul_in_value(value: &serde_json::Value, path: &str) -> Result<(), ApiError> {
    match value {
        serde_json::Value::String(text) => storable(if path.is_empty() { "request body" } else { path }, text),
        serde_json::Value::Array(items) => {
            items.iter().enumerate().try_for_each(|(i, item)| refuse_nul_in_value(item, &format!("{path}[{i}]")))
        }
        serde_json::Value::Object(fields) => fields.iter().try_for_each(|(key, item)| {
            let at = if path.is_empty() { String::new() } else { format!(" in {path}") };
            storable(format_args!("field name {key:?}{at}"), key)?;
            refuse_nul_in_value(item, &if path.is_empty() { key.clone() } else { format!("{path}.{key}") })
        }),
        _ => Ok(()),
    }
}

/// A path parameter; a malformed one, or one holding a NUL byte, is a 400 envelope naming it.
pub struct PathParam<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for PathParam<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let invalid = |text: String| ApiError::bad_request(format!("invalid path: {text}"));
        let axum::extract::Path(value) = axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map_err(|rejection| invalid(rejection.body_text()))?;
        let raw = axum::extract::RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|rejection| invalid(rejection.body_text()))?;
        for (name, text) in &raw {
            storable(format_args!("path parameter {name}"), text)?;
        }
        Ok(PathParam(value))
    }
}

/// The message for a field whose JSON value is not of its type. Nothing is converted: a phone number
/// sent as a JSON number (`8040001111`) is refused, not read as the text `"8040001111"`.
fn wrong_type(path: &str, error: &serde_json::Error) -> String {
    let text = strip_position(error);
    match text.strip_prefix("invalid type: ").and_then(|rest| rest.split_once(", expected ")) {
        Some((found, expected)) => format!("{path} must be {expected}, not {found}"),
        None => format!("{path} is invalid: {text}"),
    }
}

/// serde_json appends "at line 1 column 12", which means nothing to the reader of an error.
fn strip_position(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match text.find(" at line ") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

/// Query parameters; an unknown or malformed value (or text the database cannot store) is a 400 naming the parameter.
pub struct QueryParams<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        // Checked strictly first; the (lossy) decoding below then loses nothing.
        form_pairs(query.as_bytes(), QUERY_PARAMETER)?;
        let deserializer = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(deserializer).map(QueryParams).map_err(|error| {
            let path = error.path().to_string();
            let inner = error.into_inner();
            if path.is_empty() || path == "." {
                ApiError::bad_request(format!("invalid query string: {inner}"))
            } else {
                ApiError::bad_request(format!("query parameter {path} is invalid: {inner}"))
            }
        })
    }
}

/// The client's address, when the server knows it (in-process tests may not). Behind a proxy
/// listed in `TRUSTED_PROXIES`, it is the nearest address in `X-Forwarded-For` that is not one of them.
pub struct ClientAddr(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip());
        let trusted = &state.config.trusted_proxies;
        Ok(Self(peer.map(|peer| client_behind(peer, forwarded_for(&parts.headers), trusted))))
    }
}

/// The addresses of `X-Forwarded-For`, nearest last (as proxies append them).
fn forwarded_for(headers: &axum::http::HeaderMap) -> Vec<IpAddr> {
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|a| a.trim().parse().ok())
        .collect()
}

/// Walks back from the peer through trusted proxies: the first untrusted hop is the client.
fn client_behind(peer: IpAddr, forwarded: Vec<IpAddr>, trusted: &[IpAddr]) -> IpAddr {
    let mut client = peer;
    for hop in forwarded.into_iter().rev() {
        if !trusted.contains(&client) {
            break;
        }
        client = hop;
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn bad_request(result: Result<impl std::fmt::Debug, ApiError>) -> String {
        match result {
            Err(ApiError::BadRequest(message)) => message,
            other => panic!("expected a 400, got {other:?}"),
        }
    }

    #[test]
    fn form_pairs_decode_like_forms_and_refuse_what_cannot_be_stored() {
        let pairs = form_pairs(b"CallSid=a+b%2Bc&&Legs%5B0%5D%5BOnCallDuration%5D=7&flag", QUERY_PARAMETER).unwrap();
        let expected = [("CallSid", "a b+c"), ("Legs[0][OnCallDuration]", "7"), ("flag", "")];
        assert_eq!(pairs, expected.map(|(k, v)| (k.to_string(), v.to_string())));

        let error = bad_request(form_pairs(b"type=popup&CallSid=a%00b", QUERY_PARAMETER));
        assert_eq!(error, "query parameter CallSid must not contain a NUL byte");
        let error = bad_request(form_pairs(b"From=%FF%FE", FORM_FIELD));
        assert_eq!(error, "form field From is not valid UTF-8");
        let error = bad_request(form_pairs(b"Call%00Sid=1", FORM_FIELD));
        assert!(error.starts_with("form field name \"Call\\0Sid\" must not contain a NUL byte"), "{error}");
    }

    #[test]
    fn a_nul_anywhere_in_a_json_text_is_a_400_naming_where() {
        let cases = [
            (r#"{"CallSid": "a\u0000b"}"#, "CallSid must not contain a NUL byte"),
            (r#"[{"AppUserId": "x"}, {"Email": ["ok", "\u0000"]}]"#, "[1].Email[1] must not contain a NUL byte"),
            (r#"{"Outer": {"K\u0000": 1}}"#, r#"field name "K\0" in Outer must not contain a NUL byte"#),
            (r#""\u0000""#, "request body must not contain a NUL byte"),
        ];
        for (text, message) in cases {
            assert_eq!(bad_request(parse_json::<serde_json::Value>(text.as_bytes())), message, "{text}");
        }
        let escaped_backslash = parse_json::<serde_json::Value>(br#"{"Path": "C:\\u0000"}"#).unwrap();
        assert_eq!(escaped_backslash["Path"], r"C:\u0000", "a backslash followed by u0000 is no NUL");
    }

    #[test]
    fn text_that_is_not_unicode_in_a_json_string_is_a_400_naming_the_field() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Body {
            #[serde(rename = "AppName")]
            app_name: String,
        }
        for text in [&br#"{"AppName": "a\ud800"}"#[..], br#"{"AppName": "\udc00x"}"#, b"{\"AppName\": \"a\xff\"}"] {
            let error = bad_request(parse_json::<Body>(text));
            assert!(error.starts_with("request body is not valid JSON at AppName: "), "{error}");
        }
    }

    #[test]
    fn the_client_is_the_first_untrusted_hop() {
        let lb = ip("10.0.0.2");
        let hops = vec![ip("203.0.113.9"), ip("198.51.100.7")];
        assert_eq!(client_behind(lb, hops.clone(), &[lb]), ip("198.51.100.7"), "a spoofed first hop is ignored");
        assert_eq!(client_behind(lb, hops.clone(), &[]), lb, "without trusted proxies the header is ignored");
        assert_eq!(client_behind(lb, hops, &[lb, ip("198.51.100.7")]), ip("203.0.113.9"));
        assert_eq!(client_behind(lb, vec![], &[lb]), lb);
    }
}
