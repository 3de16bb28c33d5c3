//! Property tests of the Simple API parsers (PEP 503 HTML, PEP 691 JSON) on random and
//! mutated pages: they never panic, finish quickly, and never accept a link that is not
//! http(s) from a remote page.

use proptest::prelude::*;
use py2deb::index::{parse_page, ParsedPage};
use std::time::{Duration, Instant};
use url::Url;

const HTML: &str = "text/html";
const JSON: &str = "application/vnd.pypi.simple.v1+json";

fn page_url() -> Url {
    Url::parse("https://index.example/simple/foo/").unwrap()
}

/// Every file the parser kept must be fetchable over http(s) only.
fn only_remote_links(p: &ParsedPage) -> Result<(), TestCaseError> {
    for f in &p.files {
        prop_assert!(
            matches!(f.url.scheme(), "http" | "https"),
            "accepted {} from a remote page",
            f.url
        );
        prop_assert!(!f.local, "{} marked local", f.url);
        if let Some(t) = f.upload_time {
            prop_assert!(t >= 0);
        }
    }
    Ok(())
}

fn parse_both(body: &[u8]) -> Result<(), TestCaseError> {
    let base = page_url();
    only_remote_links(&parse_page(body, HTML, &base).unwrap())?;
    if let Ok(p) = parse_page(body, JSON, &base) {
        only_remote_links(&p)?;
    }
    Ok(())
}

/// Links an attacker might write, relative and absolute.
fn href() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("file:///dev/zero".to_owned()),
        Just("FILE:/root/.ssh/id_rsa".to_owned()),
        Just("file://localhost/etc/passwd".to_owned()),
        Just("javascript:alert(1)".to_owned()),
        Just("data:text/plain,x".to_owned()),
        Just("ftp://h/foo-1.0.tar.gz".to_owned()),
        Just("//other.example/foo-1.0-py3-none-any.whl".to_owned()),
        Just("../../files/foo-1.0-py3-none-any.whl#sha256=00".to_owned()),
        Just("https://cdn.example/foo-2.0.tar.gz".to_owned()),
        Just("foo-1.0.zip".to_owned()),
        "[ -~]{0,40}",
        "\\PC{0,20}",
    ]
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
}

fn html_page(base: Option<String>, links: &[(String, bool)]) -> String {
    let mut p = String::from("<!DOCTYPE html><html><head>");
    if let Some(b) = base {
        p.push_str(&format!("<base href=\"{}\">", html_escape(&b)));
    }
    p.push_str("</head><body>");
    for (h, yanked) in links {
        p.push_str(&format!(
            "<a href=\"{}\" data-requires-python=\"&gt;=3.8\"{}>foo-1.0-py3-none-any.whl</a><br/>\n",
            html_escape(h),
            if *yanked { " data-yanked=\"&#x1b;[2J\"" } else { "" }
        ));
    }
    p.push_str("</body></html>");
    p
}

fn json_page(links: &[(String, bool)], time: &str) -> String {
    let files: Vec<serde_json::Value> = links
        .iter()
        .map(|(h, y)| {
            serde_json::json!({
                "filename": "foo-1.0-py3-none-any.whl",
                "url": h,
                "hashes": {"sha256": "00"},
                "yanked": if *y { serde_json::json!("bad") } else { serde_json::json!(false) },
                "upload-time": time,
                "requires-python": ">=3.8",
            })
        })
        .collect();
    serde_json::json!({"meta": {"api-version": "1.1"}, "name": "foo", "files": files}).to_string()
}

/// Insert, delete or overwrite a few bytes at random places.
fn mutate(mut bytes: Vec<u8>, edits: &[(usize, u8, u8)]) -> Vec<u8> {
    for &(pos, op, byte) in edits {
        let at = if bytes.is_empty() {
            0
        } else {
            pos % (bytes.len() + 1)
        };
        match op % 3 {
            0 => bytes.insert(at, byte),
            1 if at < bytes.len() => {
                bytes.remove(at);
            }
            _ if at < bytes.len() => bytes[at] = byte,
            _ => bytes.push(byte),
        }
    }
    bytes
}

fn edits() -> impl Strategy<Value = Vec<(usize, u8, u8)>> {
    prop::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 0..12)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: crate::support::prop_cases(300), ..ProptestConfig::default() })]

    #[test]
    fn index_props_random_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..2048)) {
        parse_both(&body)?;
    }

    #[test]
    fn index_props_random_tag_soup_never_panics(
        parts in prop::collection::vec(prop_oneof![
            Just("<a ".to_owned()), Just("<base href=".to_owned()), Just("href=".to_owned()),
            Just("'".to_owned()), Just("\"".to_owned()), Just(">".to_owned()), Just("</a>".to_owned()),
            Just("&#x".to_owned()), Just("&".to_owned()), Just(";".to_owned()), Just("#sha256=".to_owned()),
            Just("data-yanked".to_owned()), Just("%".to_owned()), Just("file:".to_owned()),
            "[ -~]{0,8}", "\\PC{0,4}",
        ], 0..60)
    ) {
        parse_both(parts.concat().as_bytes())?;
    }

    #[test]
    fn index_props_html_keeps_exactly_the_http_links(
        base in prop::option::of(href()),
        links in prop::collection::vec((href(), any::<bool>()), 0..8),
        edits in edits(),
    ) {
        let page = html_page(base.clone(), &links);
        let parsed = parse_page(page.as_bytes(), HTML, &page_url()).unwrap();
        only_remote_links(&parsed)?;
        // Unmutated: every link is either kept (http(s) after resolving) or refused.
        let effective_base = base
            .as_deref()
            .and_then(|b| page_url().join(b).ok())
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .unwrap_or_else(page_url);
        let remote = links
            .iter()
            .filter(|(h, _)| {
                effective_base
                    .join(h)
                    .is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
            })
            .count();
        prop_assert_eq!(parsed.files.len(), remote);
        for f in &parsed.files {
            // The yanked reason arrives unescaped here; the terminal reporter escapes it.
            if let Some(y) = &f.yanked {
                prop_assert_eq!(y.as_str(), "\u{1b}[2J");
            }
        }
        parse_both(&mutate(page.into_bytes(), &edits))?;
    }

    #[test]
    fn index_props_json_keeps_only_http_links(
        links in prop::collection::vec((href(), any::<bool>()), 0..8),
        time in prop_oneof![
            Just("9999-12-31T23:59:59Z".to_owned()),
            Just("1900-01-01T00:00:00Z".to_owned()),
            Just("2024-01-02T03:04:05.123456Z".to_owned()),
            "[0-9TZ:.+-]{0,30}",
        ],
        edits in edits(),
    ) {
        let page = json_page(&links, &time);
        let parsed = parse_page(page.as_bytes(), JSON, &page_url()).unwrap();
        only_remote_links(&parsed)?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        for f in &parsed.files {
            prop_assert!(f.upload_time.is_none_or(|t| (0..=now).contains(&t)));
        }
        prop_assert_eq!(parsed.files.len() + parsed.refused.len() <= links.len(), true);
        parse_both(&mutate(page.into_bytes(), &edits))?;
    }
}

/// Pages built to make a naive parser quadratic: each must parse in well under a second.
#[test]
fn index_props_adversarial_pages_parse_in_linear_time() {
    let n = 400_000;
    let pages: Vec<(&str, Vec<u8>)> = vec![
        ("unclosed anchors", "<a href=x>".repeat(n / 10).into_bytes()),
        ("ampersands", "&".repeat(n).into_bytes()),
        ("entity starts", "&#x".repeat(n / 3).into_bytes()),
        ("angle brackets", "<".repeat(n).into_bytes()),
        ("open quotes", "<a href=\"".repeat(n / 9).into_bytes()),
        ("bases", "<base href=file:///>".repeat(n / 20).into_bytes()),
        ("deep json", "[".repeat(n).into_bytes()),
        (
            "json strings",
            format!(
                "{{\"files\":[{}]}}",
                "{\"filename\":\"a\",\"url\":\"file:///x\"},".repeat(n / 40)
                    + "{\"filename\":\"a\",\"url\":\"b\"}"
            )
            .into_bytes(),
        ),
    ];
    for (what, body) in pages {
        let start = Instant::now();
        for ct in [HTML, JSON] {
            if let Ok(p) = parse_page(&body, ct, &page_url()) {
                assert!(p.files.iter().all(|f| f.url.scheme() == "https"), "{what}");
            }
        }
        let took = start.elapsed();
        assert!(took < Duration::from_secs(2), "{what}: {took:?}");
    }
}
