//! `multipart/form-data` requests (file uploads of `/tools/import_users` and
//! `/system/importPolicy`), read the way Werkzeug splits them: text parts are request
//! parameters, parts with a `filename` are files (`request.files`).

use std::fmt;

use axum::extract::{FromRequest, Request};
use axum::http::header;

use crate::error::{ApiError, Result};
use crate::params::{BodyLimit, DEFAULT_BODY_LIMIT, Params, parse_urlencoded, read_body_limited};

/// One uploaded file. `Debug` shows its name and size, never its content (a user list with
/// passwords, a policy file).
#[derive(Clone, PartialEq, Eq)]
pub struct UploadedFile {
    /// The form field it came in (`file`).
    pub field: String,
    /// The file name the client sent.
    pub filename: String,
    /// Its bytes.
    pub content: Vec<u8>,
}

impl fmt::Debug for UploadedFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UploadedFile")
            .field("field", &self.field)
            .field("filename", &self.filename)
            .field("bytes", &self.content.len())
            .finish()
    }
}

/// The parameters of a request that may carry file uploads: for `multipart/form-data` the
/// query string plus the text parts, and the files apart; any other request as [`Params`]
/// reads it, without files.
#[derive(Debug, Clone, Default)]
pub struct UploadForm {
    /// Query and form parameters.
    pub params: Params,
    /// The uploaded files, in request order.
    pub files: Vec<UploadedFile>,
}

impl UploadForm {
    /// The first file uploaded in `field`.
    pub fn file(&self, field: &str) -> Option<&UploadedFile> {
        self.files.iter().find(|file| file.field == field)
    }
}

/// The boundary of a `multipart/form-data` content type.
fn boundary_of(content_type: &str) -> Option<String> {
    let mut parts = content_type.split(';');
    let media_type = parts.next()?.trim();
    if !media_type.eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    parts.find_map(|part| {
        let (name, value) = part.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| value.trim().trim_matches('"').to_owned())
    })
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || from > haystack.len() {
        return None;
    }
    haystack[from..]
        .windows(needle.len())
        .position(|window| window == needle)
        .map(|position| from + position)
}

/// A `Content-Disposition` parameter (`name="file"`), quotes removed.
fn disposition_param(disposition: &str, wanted: &str) -> Option<String> {
    disposition.split(';').skip(1).find_map(|part| {
        let (name, value) = part.split_once('=')?;
        name.trim().eq_ignore_ascii_case(wanted).then(|| {
            let value = value.trim();
            value
                .strip_prefix('"')
                .and_then(|inner| inner.strip_suffix('"'))
                .unwrap_or(value)
                .replace("\\\"", "\"")
        })
    })
}

/// One part: its disposition header and its body.
struct Part<'a> {
    disposition: String,
    body: &'a [u8],
}

fn split_parts<'a>(body: &'a [u8], boundary: &str) -> Result<Vec<Part<'a>>> {
    let malformed = || ApiError::MalformedRequest("Malformed multipart/form-data body".to_owned());
    let delimiter = format!("--{boundary}");
    let delimiter = delimiter.as_bytes();
    let mut position = find(body, delimiter, 0).ok_or_else(malformed)? + delimiter.len();
    let mut parts = Vec::new();
    loop {
        if body[position..].starts_with(b"--") {
            return Ok(parts);
        }
        // The rest of the delimiter line.
        let line_end = find(body, b"\r\n", position).ok_or_else(malformed)?;
        let headers_start = line_end + 2;
        let headers_end = find(body, b"\r\n\r\n", headers_start).ok_or_else(malformed)?;
        let headers = std::str::from_utf8(&body[headers_start..headers_end]).map_err(|_| {
            ApiError::MalformedRequest("Multipart part headers are not UTF-8".to_owned())
        })?;
        let disposition = headers
            .split("\r\n")
            .find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.trim()
                    .eq_ignore_ascii_case("content-disposition")
                    .then(|| value.trim().to_owned())
            })
            .unwrap_or_default();
        let content_start = headers_end + 4;
        let mut next_delimiter = Vec::with_capacity(delimiter.len() + 2);
        next_delimiter.extend_from_slice(b"\r\n");
        next_delimiter.extend_from_slice(delimiter);
        let content_end = find(body, &next_delimiter, content_start).ok_or_else(malformed)?;
        parts.push(Part {
            disposition,
            body: &body[content_start..content_end],
        });
        position = content_end + next_delimiter.len();
    }
}

impl UploadForm {
    /// Parses a request body of the given content type (with the query string first, as in
    /// [`Params`]).
    pub fn parse(query: Option<&str>, content_type: &str, body: &[u8]) -> Result<UploadForm> {
        let Some(boundary) = boundary_of(content_type) else {
            return Err(ApiError::MalformedRequest(
                "multipart/form-data without a boundary".to_owned(),
            ));
        };
        let mut pairs = match query {
            Some(query) => parse_urlencoded(query.as_bytes())?,
            None => Vec::new(),
        };
        let mut files = Vec::new();
        for part in split_parts(body, &boundary)? {
            let Some(name) = disposition_param(&part.disposition, "name") else {
                continue;
            };
            match disposition_param(&part.disposition, "filename") {
                Some(filename) => files.push(UploadedFile {
                    field: name,
                    filename,
                    content: part.body.to_vec(),
                }),
                None => {
                    let value = String::from_utf8(part.body.to_vec()).map_err(|_| {
                        ApiError::MalformedRequest(
                            "Failed to decode request parameters: not UTF-8".to_owned(),
                        )
                    })?;
                    pairs.push((name, value));
                }
            }
        }
        Ok(UploadForm {
            params: Params::from_pairs(pairs),
            files,
        })
    }
}

impl<S: Send + Sync> FromRequest<S> for UploadForm {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self> {
        let content_type = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let Some(content_type) = content_type.filter(|value| boundary_of(value).is_some()) else {
            let params = Params::from_request(request, state).await?;
            return Ok(UploadForm {
                params,
                files: Vec::new(),
            });
        };
        let (parts, body) = request.into_parts();
        let limit = parts
            .extensions
            .get::<BodyLimit>()
            .map_or(DEFAULT_BODY_LIMIT, |limit| limit.0);
        let body = read_body_limited(body, limit).await?;
        let form = UploadForm::parse(parts.uri.query(), &content_type, &body)?;
        if let Some(slot) = parts.extensions.get::<crate::http::HttpErrorSlot>()
            && form.params.contains("httperror")
        {
            slot.record(form.params.optional("httperror").as_deref().unwrap_or(""));
        }
        Ok(form)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] =
        b"--XyZ\r\nContent-Disposition: form-data; name=\"resolver\"\r\n\r\nGldRes\r\n\
--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"users.csv\"\r\n\
Content-Type: text/csv\r\n\r\na,b\r\nc,d\n\r\n--XyZ--\r\n";

    #[test]
    fn text_parts_are_params_and_files_stay_apart() {
        let form = UploadForm::parse(
            Some("dryrun=true"),
            "multipart/form-data; boundary=XyZ",
            BODY,
        )
        .unwrap();
        assert_eq!(form.params.optional("resolver").as_deref(), Some("GldRes"));
        assert_eq!(form.params.optional("dryrun").as_deref(), Some("true"));
        let file = form.file("file").unwrap();
        assert_eq!(file.filename, "users.csv");
        assert_eq!(file.content, b"a,b\r\nc,d\n");
        assert!(!format!("{file:?}").contains("a,b"));
    }

    #[test]
    fn broken_bodies_are_malformed_requests() {
        for body in [
            &b"no delimiter"[..],
            b"--XyZ\r\nContent-Disposition: x\r\n\r\nunterminated",
        ] {
            let error =
                UploadForm::parse(None, "multipart/form-data; boundary=XyZ", body).unwrap_err();
            assert!(matches!(error, ApiError::MalformedRequest(_)));
        }
        assert!(UploadForm::parse(None, "multipart/form-data", BODY).is_err());
    }
}
