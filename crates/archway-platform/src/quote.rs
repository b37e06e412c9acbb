//! Quoting for every language archway writes user strings into: one function per kind, so a
//! value (a flag, a path, an environment variable) reaches its consumer byte for byte.
//!
//! - POSIX sh: [`sh_word`] (quotes only when needed, for command lines people read),
//!   [`sh_quoted`] (always single-quoted) and [`sh_words`] (a word list, as `CFLAGS` holds it);
//!   [`is_sh_variable_name`] is the POSIX name rule.
//! - fish: [`fish_quoted`] and [`is_fish_variable_name`].
//! - Meson machine files (cross files): [`meson_string`], which refuses what Meson cannot read.
//! - CMake: [`cmake_bracket`], a bracket argument (no escapes, no variable references).
//!
//! ```
//! use archway_platform::quote;
//!
//! assert_eq!(quote::sh_word("-O2"), "-O2");
//! assert_eq!(quote::sh_word("it's"), r"'it'\''s'");
//! assert_eq!(quote::sh_words(["-DA=1", "-DB=two words"]), "-DA=1 '-DB=two words'");
//! assert_eq!(quote::fish_quoted(r"a\b"), r"'a\\b'");
//! assert_eq!(quote::cmake_bracket("${HOME}"), "[[${HOME}]]");
//! assert_eq!(quote::cmake_bracket("a]]b"), "[=[a]]b]=]");
//! assert_eq!(quote::meson_string("it's").unwrap(), "'it' + ''''s'''");
//! assert!(quote::is_sh_variable_name("CC_aarch64"));
//! assert!(!quote::is_sh_variable_name("$(id)"));
//! ```

use std::borrow::Cow;

use crate::Error;

/// Bytes a POSIX shell never treats specially anywhere in a word (`=` only matters in the first
/// word of a command, where archway never puts a user value).
fn sh_plain(word: &str) -> bool {
    !word.is_empty()
        && word
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&byte))
}

/// `word` as one POSIX sh word, single-quoted only when it needs it.
pub fn sh_word(word: &str) -> Cow<'_, str> {
    if sh_plain(word) {
        Cow::Borrowed(word)
    } else {
        Cow::Owned(sh_quoted(word))
    }
}

/// `word` single-quoted for POSIX sh: inside `'...'` every byte is literal except `'`, which
/// is written `'\''` (POSIX.1-2017 XCU 2.2.2).
pub fn sh_quoted(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// Words joined by spaces, each quoted with [`sh_word`]: the form of `CFLAGS`, `CC` and
/// friends, which configure scripts, make and CMake hand to `sh -c` (or `eval`).
pub fn sh_words<I, S>(words: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    words
        .into_iter()
        .map(|word| sh_word(word.as_ref()).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// POSIX's name rule (XBD 3.235 "Name"): `[A-Za-z_][A-Za-z0-9_]*`. Only such names can be
/// assigned or exported by a POSIX shell.
pub fn is_sh_variable_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == b'_')
        && bytes.all(|byte| byte.is_ascii_alphanumeric() || byte == b'_')
}

/// `word` single-quoted for fish: inside `'...'` only `\\` and `\'` are escapes (fish's
/// documentation, "Quotes").
pub fn fish_quoted(word: &str) -> String {
    format!("'{}'", word.replace('\\', r"\\").replace('\'', r"\'"))
}

/// fish's variable-name rule (`valid_var_name` in fish's `env.cpp`: non-empty, every character
/// alphanumeric or `_`), restricted to ASCII, which is what a POSIX name already is.
pub fn is_fish_variable_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'_')
}

/// `value` as a string expression in a Meson machine file (`--cross-file`).
///
/// Meson reads these files with Python's `configparser` and then doubles every backslash before
/// parsing a value (`MachineFileParser._parse_section` in `mesonbuild/coredata.py`, "Windows
/// paths"), so no escape sequence works: `\'` ends the string and a backslash arrives as itself.
/// A `'` therefore goes into a `'''...'''` string, which has no escapes, concatenated with `+`.
/// What cannot be written at all is refused: a line break (configparser would end the value),
/// `'''`, a `'` at the very end or before a `\` (no `'''` string can end there).
pub fn meson_string(value: &str) -> Result<String, Error> {
    let refuse = |reason: &'static str| {
        Err(Error::Unquotable {
            value: value.to_string(),
            syntax: "a Meson cross file",
            reason,
        })
    };
    if value.contains(['\n', '\r']) {
        return refuse("it contains a line break");
    }
    if value.contains("'''") {
        return refuse("it contains `'''`");
    }
    if value.ends_with('\'') {
        return refuse("it ends with `'`");
    }
    let mut pieces: Vec<String> = Vec::new();
    let mut plain = String::new();
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\'' {
            plain.push(c);
            continue;
        }
        // A run of one or two quotes, then the character after it, in one `'''` string: its
        // content may neither end with `'` nor contain `'''`, and a backslash in it would be
        // doubled.
        let mut run = String::from("'");
        while chars.peek() == Some(&'\'') {
            run.push('\'');
            chars.next();
        }
        match chars.next() {
            Some('\\') => return refuse("it has a `'` before a `\\`"),
            Some(next) => run.push(next),
            None => return refuse("it ends with `'`"),
        }
        if !plain.is_empty() {
            pieces.push(format!("'{}'", std::mem::take(&mut plain)));
        }
        pieces.push(format!("'''{run}'''"));
    }
    if !plain.is_empty() || pieces.is_empty() {
        pieces.push(format!("'{plain}'"));
    }
    Ok(balanced_sum(&pieces))
}

/// `a + b + c + ...` grouped as a balanced tree: Meson parses `+` recursively in Python, and a
/// flat sum of about 1000 strings (a long flag with many quotes) exceeds Python's recursion
/// limit.
fn balanced_sum(pieces: &[String]) -> String {
    let group = |side: &[String]| {
        if side.len() == 1 {
            balanced_sum(side)
        } else {
            format!("({})", balanced_sum(side))
        }
    };
    match pieces {
        [] => "''".to_string(),
        [one] => one.clone(),
        _ => {
            let (left, right) = pieces.split_at(pieces.len() / 2);
            format!("{} + {}", group(left), group(right))
        }
    }
}

/// `value` as a CMake bracket argument (`cmake-language(7)`, "Bracket Argument"): no escape
/// sequences and no variable references, closed by `]` with as many `=` as it was opened with.
/// The `=` run is the shortest whose closing bracket appears first where it should; a leading
/// newline is doubled because CMake drops the first newline after the opening bracket.
pub fn cmake_bracket(value: &str) -> String {
    let mut equals = String::new();
    loop {
        let close = format!("]{equals}]");
        let text = format!("{value}{close}");
        if text.find(&close) == Some(value.len()) {
            break;
        }
        equals.push('=');
    }
    let newline = if value.starts_with('\n') || value.starts_with("\r\n") {
        "\n"
    } else {
        ""
    };
    format!("[{equals}[{newline}{value}]{equals}]")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn sh_word_quotes_only_when_needed() {
        let cases = [
            ("make", "make"),
            ("-DCMAKE_X=/a/b", "-DCMAKE_X=/a/b"),
            ("a b", "'a b'"),
            ("it's", r"'it'\''s'"),
            ("", "''"),
            ("$(id)", "'$(id)'"),
            ("~", "'~'"),
            ("#x", "'#x'"),
            ("a;b", "'a;b'"),
            ("{a,b}", "'{a,b}'"),
            ("*", "'*'"),
        ];
        for (word, expected) in cases {
            assert_eq!(sh_word(word), expected, "{word:?}");
        }
    }

    #[test]
    fn variable_names_follow_posix_and_fish() {
        for name in ["CC", "_x", "CC_aarch64_unknown_linux_gnu", "a1"] {
            assert!(is_sh_variable_name(name), "{name}");
            assert!(is_fish_variable_name(name), "{name}");
        }
        for name in ["", "1A", "A-B", "$(id)", "A B", "A=B", "É", "A\n"] {
            assert!(!is_sh_variable_name(name), "{name:?}");
        }
        // fish allows a leading digit; never `$`, `-`, spaces or `=`.
        assert!(is_fish_variable_name("1A"));
        for name in ["", "A-B", "$(id)", "A B", "A=B", "(x)"] {
            assert!(!is_fish_variable_name(name), "{name:?}");
        }
    }

    #[test]
    fn meson_strings_put_quotes_in_triple_quoted_pieces() {
        let cases = [
            ("", "''"),
            ("-O2", "'-O2'"),
            (r"a\b", r"'a\b'"),
            (r"a\", r"'a\'"),
            ("it's", "'it' + ''''s'''"),
            ("''x", "'''''x'''"),
            ("a'b'c", "'a' + (''''b''' + ''''c''')"),
            ("'a'b'c'd", "(''''a''' + ''''b''') + (''''c''' + ''''d''')"),
        ];
        for (value, expected) in cases {
            assert_eq!(meson_string(value).expect(value), expected, "{value:?}");
        }
        for value in ["a\nb", "a\rb", "a'''b", "a'", "'", r"a'\b"] {
            let error = meson_string(value).expect_err(value);
            assert!(
                error.to_string().contains("Meson cross file"),
                "{value:?}: {error}"
            );
        }
    }

    #[test]
    fn cmake_brackets_outlast_the_content() {
        let cases = [
            ("", "[[]]"),
            ("${HOME}", "[[${HOME}]]"),
            ("a]]b", "[=[a]]b]=]"),
            ("a]", "[=[a]]=]"),
            ("a]=]b]]", "[==[a]=]b]]]==]"),
            ("a]=", "[[a]=]]"),
            ("\nx", "[[\n\nx]]"),
        ];
        for (value, expected) in cases {
            assert_eq!(cmake_bracket(value), expected, "{value:?}");
        }
    }

    proptest! {
        #[test]
        fn cmake_bracket_content_is_exactly_the_value(value in "[\\]=\\[a\n]{0,12}") {
            let quoted = cmake_bracket(&value);
            let open = quoted.find('[').and_then(|first| quoted[first + 1..].find('[').map(|second| first + second + 2));
            let open = open.expect("opening bracket");
            let equals = open - 2;
            let close = format!("]{}]", "=".repeat(equals));
            let mut body = &quoted[open..];
            body = body.strip_prefix('\n').unwrap_or(body);
            let end = body.find(&close).expect("closing bracket");
            prop_assert_eq!(&body[..end], value.as_str());
            prop_assert_eq!(end + close.len(), body.len());
        }

        #[test]
        fn sh_quoted_never_leaves_a_quote_open(value in ".{0,20}") {
            let quoted = sh_quoted(&value);
            // Outside the `'\''` sequences, the only quotes are the outer pair.
            let inner = &quoted[1..quoted.len() - 1];
            prop_assert!(!inner.replace(r"'\''", "").contains('\''));
        }
    }
}
