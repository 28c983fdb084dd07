//! Request extractors whose rejections are envelopes naming the field or parameter at fault.

use std::net::{IpAddr, SocketAddr};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use crate::app::{AppState, MAX_BODY_BYTES};
use crate::envelope::ApiError;

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
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            ApiError::bad_request(format!("request body is not valid JSON: {inner}"))
        } else if path.is_empty() || path == "." {
            ApiError::bad_request(format!("request body has the wrong shape: {}", strip_position(&inner)))
        } else {
            ApiError::bad_request(format!("{path} has the wrong type: {}", strip_position(&inner)))
        }
    })?;
    deserializer.end().map_err(|e| ApiError::bad_request(format!("request body is not valid JSON: {e}")))?;
    Ok(value)
}

/// Deserializes an already-parsed JSON value, naming a wrongly typed field with `prefix` (e.g. `users[2].`).
pub fn parse_json_value<T: DeserializeOwned>(value: serde_json::Value, prefix: &str) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        ApiError::bad_request(format!("{prefix}{path} has the wrong type: {}", strip_position(&inner)))
    })
}

/// One query parameter read from the raw query with percent-decoding only: unlike form decoding,
/// a `+` stays a `+` (the SDK sends ids such as e-mail addresses unencoded).
pub fn raw_query_param(uri: &axum::http::Uri, name: &str) -> Result<Option<String>, ApiError> {
    let Some(query) = uri.query() else { return Ok(None) };
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

/// A path parameter; a malformed one is a 400 envelope.
pub struct PathParam<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for PathParam<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| PathParam(value))
            .map_err(|rejection| ApiError::bad_request(format!("invalid path: {}", rejection.body_text())))
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

/// Query parameters; an unknown or malformed value is a 400 naming the parameter.
pub struct QueryParams<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
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
