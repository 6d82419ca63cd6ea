//! How large and how deep a config may be, and its bytes decoded as text. Pure.

use crate::core::diag::Diagnostic;
use crate::core::locate;

/// The largest `replatform.yaml` read: a service's config is a few kilobytes.
pub const MAX_CONFIG_BYTES: usize = 1024 * 1024;

/// How deep a config may nest and how many values it may hold with its aliases expanded. The
/// deepest path of the contract is 5 levels (`ecs.scaling.scale_out[0].from`), and a config holds
/// a few hundred values.
pub const CONFIG_LIMITS: locate::Limits = locate::Limits {
    depth: 32,
    nodes: 100_000,
};

/// `1.0 MiB`, `10.0 MiB`, `512 KiB`, `900 bytes`.
pub fn size_text(bytes: u64) -> String {
    if bytes >= 1024 * 1024 {
        format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
    } else if bytes >= 1024 {
        format!("{} KiB", bytes / 1024)
    } else {
        format!("{bytes} bytes")
    }
}

/// The error for a config over [`MAX_CONFIG_BYTES`].
pub fn too_large(bytes: u64) -> Diagnostic {
    Diagnostic::error(
        "config",
        "",
        format!(
            "the file is {} ({bytes} bytes): a replatform.yaml may be at most {}",
            size_text(bytes),
            size_text(MAX_CONFIG_BYTES as u64)
        ),
    )
    .hint("a service's config is a few kilobytes: name the right file with `-f PATH`")
}

/// A config file's bytes as text: within [`MAX_CONFIG_BYTES`], UTF-8, without a leading
/// byte-order mark. The error names the line and column of the first byte that is not UTF-8.
pub fn decode(bytes: &[u8]) -> Result<&str, Diagnostic> {
    if bytes.len() > MAX_CONFIG_BYTES {
        return Err(too_large(bytes.len() as u64));
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(text.strip_prefix('\u{feff}').unwrap_or(text)),
        Err(e) => {
            let valid = std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default();
            let line = valid.matches('\n').count() + 1;
            let column = valid
                .rsplit('\n')
                .next()
                .unwrap_or_default()
                .chars()
                .count()
                + 1;
            let byte = bytes[e.valid_up_to()];
            let d = Diagnostic::error("config", "", format!("the file is not UTF-8 text: byte 0x{byte:02x} at line {line}, column {column} is not valid UTF-8"));
            let d = Diagnostic {
                location: Some((line, column)),
                ..d
            };
            Err(
                if bytes.starts_with(&[0xff, 0xfe]) || bytes.starts_with(&[0xfe, 0xff]) {
                    d.hint("the file is UTF-16: save it as UTF-8")
                } else {
                    d.hint("save the file as UTF-8; if it is not a text file, name the right one with `-f PATH`")
                },
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_names_the_first_byte_that_is_not_utf8() {
        assert_eq!(decode(b"\xef\xbb\xbfservice: a\n"), Ok("service: a\n"));
        let d = decode(b"service: a\nregion: caf\xe9\n").unwrap_err();
        assert_eq!(d.location, Some((2, 12)));
        assert!(
            d.message.contains("byte 0xe9 at line 2, column 12"),
            "{}",
            d.message
        );
        assert!(decode(b"\xff\xfes\x00")
            .unwrap_err()
            .hint
            .unwrap()
            .contains("UTF-16"));
        assert!(decode(&vec![b'#'; MAX_CONFIG_BYTES + 1])
            .unwrap_err()
            .message
            .contains("at most 1.0 MiB"));
    }
}
