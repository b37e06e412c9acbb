//! Registration lines `:name:type:offset:magic:mask:interpreter:flags`, parsed and rendered with
//! the kernel's own rules (`fs/binfmt_misc.c`, `create_entry` and `check_special_flags`;
//! Documentation/admin-guide/binfmt-misc.rst).
//!
//! The kernel's rules, and where this module applies each:
//! - the whole write is 11..=1920 bytes (`MAX_REGISTER_LENGTH`); one trailing `\n` is accepted;
//! - the first byte is the field delimiter (any byte; `:` by convention);
//! - name: non-empty, not `.` or `..`, no `/`;
//! - type: `M` (magic) or `E` (extension);
//! - `M`: offset is decimal (`kstrtoint`), empty means 0, never negative; magic is required;
//!   `\xHH` is the only escape and needs two hex digits (`scanarg`), so the delimiter may appear
//!   escaped; mask is optional and must decode to as many bytes as the magic; magic and offset
//!   must fit in the first `BINPRM_BUF_SIZE` (256) bytes the kernel reads;
//! - `E`: the extension (in the magic field) is non-empty and has no `/`; offset and mask are
//!   ignored by the kernel;
//! - interpreter: non-empty (the kernel does not require an absolute path);
//! - flags: any of `P O C F`; `C` implies `O`; anything else is an error.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, LineError};

/// `MAX_REGISTER_LENGTH` in fs/binfmt_misc.c: the longest write `register` accepts.
pub const MAX_REGISTER_LENGTH: usize = 1920;
/// `BINPRM_BUF_SIZE` in include/uapi/linux/binfmts.h: how many bytes of a file exec reads and
/// binfmt_misc can match (256 since Linux 5.1; 128 before).
pub const BINPRM_BUF_SIZE: usize = 256;

/// A validated entry name: what the kernel accepts as the name of a file under binfmt_misc.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct EntryName(String);

impl EntryName {
    /// Checks `name` against the kernel's rules (non-empty, not `.`/`..`, no `/`) and rejects
    /// the two names the filesystem itself uses (`register`, `status`: the kernel answers
    /// `EEXIST`) and bytes that cannot be written in a line (NUL, newline).
    pub fn new(name: impl Into<String>) -> Result<EntryName, Error> {
        let name = name.into();
        match name_rule(&name) {
            None => Ok(EntryName(name)),
            Some(reason) => Err(Error::InvalidName {
                name,
                reason: reason.to_string(),
            }),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn name_rule(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("the name is empty")
    } else if name == "." || name == ".." {
        Some("the name is `.` or `..`")
    } else if name.contains('/') {
        Some("the name contains `/`")
    } else if name == "register" || name == "status" {
        Some("`register` and `status` are the filesystem's own files")
    } else if name.contains(['\0', '\n']) {
        Some("the name contains a NUL byte or a newline")
    } else {
        None
    }
}

impl fmt::Display for EntryName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for EntryName {
    type Err = Error;
    fn from_str(s: &str) -> Result<EntryName, Error> {
        EntryName::new(s)
    }
}

/// How an entry recognises files.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase", tag = "type")]
pub enum Rule {
    /// `M`: `magic` at `offset`, compared under `mask` (all bits when `None`).
    Magic {
        offset: usize,
        #[serde(serialize_with = "serialize_hex")]
        magic: Vec<u8>,
        #[serde(serialize_with = "serialize_optional_hex")]
        mask: Option<Vec<u8>>,
    },
    /// `E`: the file name's extension (the text after the last `.`), without the dot.
    Extension { extension: String },
}

fn serialize_hex<S: serde::Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&hex(bytes))
}

fn serialize_optional_hex<S: serde::Serializer>(
    bytes: &Option<Vec<u8>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match bytes {
        Some(bytes) => serializer.serialize_str(&hex(bytes)),
        None => serializer.serialize_none(),
    }
}

/// Lowercase hex without separators, as the kernel prints magic and mask (`bin2hex`).
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `\xHH` for every byte: the escape the kernel decodes (and QEMU's and Debian's files use).
pub fn escape(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("\\x{b:02x}")).collect()
}

impl Rule {
    /// Does a file whose first bytes are `header` and whose name is `file_name` match? Applies
    /// `search_binfmt_handler`: magic entries compare `(file[offset + j] ^ magic[j]) & mask[j]`
    /// over the first [`BINPRM_BUF_SIZE`] bytes (zero beyond the end of a short file, as the
    /// kernel's buffer is zeroed); extension entries compare the text after the last `.`.
    pub fn matches(&self, header: &[u8], file_name: Option<&[u8]>) -> bool {
        match self {
            Rule::Magic {
                offset,
                magic,
                mask,
            } => magic.iter().enumerate().all(|(j, &m)| {
                let position = offset + j;
                let byte = if position < BINPRM_BUF_SIZE {
                    header.get(position).copied().unwrap_or(0)
                } else {
                    0
                };
                let bits = mask
                    .as_ref()
                    .and_then(|mask| mask.get(j))
                    .copied()
                    .unwrap_or(0xff);
                (byte ^ m) & bits == 0
            }),
            Rule::Extension { extension } => {
                let Some(name) = file_name else { return false };
                match name.iter().rposition(|&b| b == b'.') {
                    Some(dot) => &name[dot + 1..] == extension.as_bytes(),
                    None => false,
                }
            }
        }
    }

    /// The magic with masked-off bits cleared: two magic rules with the same offset, mask and
    /// masked magic match exactly the same files.
    pub fn masked_magic(&self) -> Option<Vec<u8>> {
        match self {
            Rule::Magic { magic, mask, .. } => Some(match mask {
                Some(mask) => magic.iter().zip(mask).map(|(m, k)| m & k).collect(),
                None => magic.clone(),
            }),
            Rule::Extension { .. } => None,
        }
    }

    /// Same files matched: equal offset and mask, equal magic under the mask (an all-ones mask
    /// equals no mask).
    pub fn same_match(&self, other: &Rule) -> bool {
        match (self, other) {
            (
                Rule::Magic {
                    offset: a_offset,
                    magic: a_magic,
                    mask: a_mask,
                },
                Rule::Magic {
                    offset: b_offset,
                    magic: b_magic,
                    mask: b_mask,
                },
            ) => {
                let full = |magic: &Vec<u8>, mask: &Option<Vec<u8>>| {
                    mask.clone().unwrap_or_else(|| vec![0xff; magic.len()])
                };
                a_offset == b_offset
                    && a_magic.len() == b_magic.len()
                    && full(a_magic, a_mask) == full(b_magic, b_mask)
                    && self.masked_magic() == other.masked_magic()
            }
            (Rule::Extension { extension: a }, Rule::Extension { extension: b }) => a == b,
            _ => false,
        }
    }

    fn check(&self) -> Result<(), String> {
        match self {
            Rule::Magic {
                offset,
                magic,
                mask,
            } => {
                if magic.is_empty() {
                    return Err("the magic is empty".into());
                }
                if let Some(mask) = mask {
                    if mask.len() != magic.len() {
                        return Err(format!(
                            "the mask is {} bytes but the magic is {} bytes; they must be equally long",
                            mask.len(),
                            magic.len()
                        ));
                    }
                }
                if magic.len() > BINPRM_BUF_SIZE || *offset > BINPRM_BUF_SIZE - magic.len() {
                    return Err(format!(
                        "offset {offset} plus {} magic bytes reaches past the first {BINPRM_BUF_SIZE} bytes the kernel reads",
                        magic.len()
                    ));
                }
                Ok(())
            }
            Rule::Extension { extension } => {
                if extension.is_empty() {
                    Err("the extension is empty".into())
                } else if extension.contains('/') {
                    Err("the extension contains `/`".into())
                } else if extension.contains(['\0', '\n']) {
                    Err("the extension contains a NUL byte or a newline".into())
                } else {
                    Ok(())
                }
            }
        }
    }
}

/// The registration flags (Documentation/admin-guide/binfmt-misc.rst, "flags").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize)]
pub struct Flags {
    /// `P`: pass the original argv[0] as an extra argument; the interpreter must expect it.
    pub preserve_argv0: bool,
    /// `O`: the kernel opens the binary and passes its fd (`AT_EXECFD`).
    pub open_binary: bool,
    /// `C`: credentials from the binary, not the interpreter (setuid honoured); implies `O`.
    pub credentials: bool,
    /// `F`: the interpreter is opened at registration, so it works in chroots and containers.
    pub fix_binary: bool,
}

impl Flags {
    /// Parses flag letters as `check_special_flags` does; `C` also sets `O`. Returns the
    /// 0-based index of the first byte that is not a flag letter, if any.
    pub fn parse(letters: &str) -> Result<Flags, usize> {
        let mut flags = Flags::default();
        for (index, letter) in letters.bytes().enumerate() {
            match letter {
                b'P' => flags.preserve_argv0 = true,
                b'O' => flags.open_binary = true,
                b'C' => {
                    flags.credentials = true;
                    flags.open_binary = true;
                }
                b'F' => flags.fix_binary = true,
                _ => return Err(index),
            }
        }
        Ok(flags)
    }
}

impl fmt::Display for Flags {
    /// In the kernel's order (`entry_status`): `P`, `O`, `C`, `F`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (set, letter) in [
            (self.preserve_argv0, 'P'),
            (self.open_binary && !self.credentials, 'O'),
            (self.credentials, 'C'),
            (self.fix_binary, 'F'),
        ] {
            if set {
                write!(f, "{letter}")?;
            }
        }
        Ok(())
    }
}

/// One registration: what is written to `register`, or read back from an entry file.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Registration {
    name: EntryName,
    #[serde(flatten)]
    rule: Rule,
    interpreter: PathBuf,
    flags: Flags,
}

/// Delimiters tried in order when rendering: `:` unless a field contains it.
const DELIMITERS: &[u8] = b":|#,;!@%&*~^=+";

impl Registration {
    /// A registration the kernel will accept (the same checks as [`Registration::parse`]).
    pub fn new(
        name: EntryName,
        rule: Rule,
        interpreter: impl Into<PathBuf>,
        flags: Flags,
    ) -> Result<Registration, Error> {
        let mut flags = flags;
        if flags.credentials {
            flags.open_binary = true;
        }
        let registration = Registration {
            name,
            rule,
            interpreter: interpreter.into(),
            flags,
        };
        let invalid = |rule: String| Error::InvalidLine {
            line: registration.render_unchecked(b':'),
            source: LineError::new(1, rule),
        };
        registration.rule.check().map_err(invalid)?;
        let interpreter = registration.interpreter.as_os_str().as_encoded_bytes();
        if interpreter.is_empty() {
            return Err(invalid("the interpreter is empty".into()));
        }
        if interpreter.contains(&b'\0') || interpreter.contains(&b'\n') {
            return Err(invalid(
                "the interpreter contains a NUL byte or a newline".into(),
            ));
        }
        if registration.delimiter().is_none() {
            return Err(invalid(
                "no delimiter is free: the fields use every candidate".into(),
            ));
        }
        let length = registration.render().len();
        if length > MAX_REGISTER_LENGTH {
            return Err(invalid(format!(
                "the line is {length} bytes; the kernel accepts at most {MAX_REGISTER_LENGTH}"
            )));
        }
        Ok(registration)
    }

    pub fn name(&self) -> &EntryName {
        &self.name
    }
    pub fn rule(&self) -> &Rule {
        &self.rule
    }
    pub fn interpreter(&self) -> &Path {
        &self.interpreter
    }
    pub fn flags(&self) -> Flags {
        self.flags
    }

    /// The same definition under another name.
    pub fn renamed(&self, name: EntryName) -> Registration {
        Registration {
            name,
            ..self.clone()
        }
    }

    /// Same name, same files matched, same interpreter and flags: registering `other` would
    /// change nothing.
    pub fn same_definition(&self, other: &Registration) -> bool {
        self.name == other.name
            && self.rule.same_match(&other.rule)
            && self.interpreter == other.interpreter
            && self.flags == other.flags
    }

    /// Which parts differ from `other` (`rule`, `interpreter`, `flags`), for conflict reports.
    pub fn differences(&self, other: &Registration) -> Vec<&'static str> {
        let mut differences = Vec::new();
        if !self.rule.same_match(&other.rule) {
            differences.push("magic");
        }
        if self.interpreter != other.interpreter {
            differences.push("interpreter");
        }
        if self.flags != other.flags {
            differences.push("flags");
        }
        differences
    }

    fn delimiter(&self) -> Option<u8> {
        let interpreter = self.interpreter.as_os_str().as_encoded_bytes();
        let extension = match &self.rule {
            Rule::Extension { extension } => extension.as_bytes(),
            Rule::Magic { .. } => b"",
        };
        DELIMITERS.iter().copied().find(|d| {
            !self.name.0.as_bytes().contains(d)
                && !interpreter.contains(d)
                && !extension.contains(d)
        })
    }

    /// The line for `register` (without a trailing newline). Magic and mask bytes are written
    /// as `\xHH`; an offset of 0 is written as the empty field, as QEMU's script does.
    pub fn render(&self) -> String {
        self.render_unchecked(self.delimiter().unwrap_or(b':'))
    }

    fn render_unchecked(&self, delimiter: u8) -> String {
        let d = delimiter as char;
        let (kind, offset, magic, mask) = match &self.rule {
            Rule::Magic {
                offset,
                magic,
                mask,
            } => (
                'M',
                if *offset == 0 {
                    String::new()
                } else {
                    offset.to_string()
                },
                escape(magic),
                mask.as_deref().map(escape).unwrap_or_default(),
            ),
            Rule::Extension { extension } => ('E', String::new(), extension.clone(), String::new()),
        };
        format!(
            "{d}{name}{d}{kind}{d}{offset}{d}{magic}{d}{mask}{d}{interpreter}{d}{flags}",
            name = self.name,
            interpreter = self.interpreter.display(),
            flags = self.flags,
        )
    }

    /// Parses a registration line with the kernel's rules. Errors name the 1-based column and
    /// the rule broken.
    pub fn parse(line: &str) -> Result<Registration, Error> {
        parse_line(line.as_bytes()).map_err(|source| Error::InvalidLine {
            line: line.to_string(),
            source,
        })
    }
}

impl fmt::Display for Registration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render())
    }
}

impl std::str::FromStr for Registration {
    type Err = Error;
    fn from_str(s: &str) -> Result<Registration, Error> {
        Registration::parse(s)
    }
}

/// A cursor over the line that knows its column, for error messages.
struct Cursor<'a> {
    line: &'a [u8],
    position: usize,
    delimiter: u8,
}

impl<'a> Cursor<'a> {
    /// The plain field up to the next delimiter (`strchr(p, del)` in the kernel).
    fn field(&mut self, what: &str) -> Result<(usize, &'a [u8]), LineError> {
        let start = self.position;
        match self.line[start..].iter().position(|&b| b == self.delimiter) {
            Some(length) => {
                self.position = start + length + 1;
                Ok((start + 1, &self.line[start..start + length]))
            }
            None => Err(LineError::new(
                self.line.len() + 1,
                format!(
                    "the line ends inside the {what} field: a `{}` is missing",
                    self.delimiter as char
                ),
            )),
        }
    }

    /// A field where `\xHH` may hide the delimiter (`scanarg`), decoded (`string_unescape`).
    fn escaped_field(&mut self, what: &str) -> Result<(usize, Vec<u8>), LineError> {
        let start = self.position;
        let mut decoded = Vec::new();
        let mut i = start;
        loop {
            let Some(&byte) = self.line.get(i) else {
                return Err(LineError::new(
                    self.line.len() + 1,
                    format!(
                        "the line ends inside the {what} field: a `{}` is missing",
                        self.delimiter as char
                    ),
                ));
            };
            if byte == self.delimiter {
                self.position = i + 1;
                return Ok((start + 1, decoded));
            }
            if byte == b'\\' && self.line.get(i + 1) == Some(&b'x') {
                let digits = self
                    .line
                    .get(i + 2..i + 4)
                    .filter(|d| d.iter().all(u8::is_ascii_hexdigit));
                let Some(digits) = digits else {
                    return Err(LineError::new(
                        i + 1,
                        format!("`\\x` in the {what} must be followed by two hex digits"),
                    ));
                };
                let text = std::str::from_utf8(digits).unwrap_or("00");
                decoded.push(u8::from_str_radix(text, 16).unwrap_or(0));
                i += 4;
                continue;
            }
            if byte == 0 {
                return Err(LineError::new(
                    i + 1,
                    format!("a raw NUL byte ends the {what} early in the kernel; write `\\x00`"),
                ));
            }
            decoded.push(byte);
            i += 1;
        }
    }
}

fn parse_line(line: &[u8]) -> Result<Registration, LineError> {
    if line.len() < 11 {
        return Err(LineError::new(
            1,
            format!(
                "the line is {} bytes; the kernel needs at least 11",
                line.len()
            ),
        ));
    }
    if line.len() > MAX_REGISTER_LENGTH {
        return Err(LineError::new(
            MAX_REGISTER_LENGTH + 1,
            format!(
                "the line is {} bytes; the kernel accepts at most {MAX_REGISTER_LENGTH}",
                line.len()
            ),
        ));
    }
    let delimiter = line[0];
    let mut cursor = Cursor {
        line,
        position: 1,
        delimiter,
    };

    let (name_column, name) = cursor.field("name")?;
    let name = String::from_utf8(name.to_vec())
        .map_err(|_| LineError::new(name_column, "the name is not UTF-8"))?;
    if let Some(reason) = name_rule(&name) {
        return Err(LineError::new(name_column, reason));
    }
    let name = EntryName(name);

    let (type_column, kind) = cursor.field("type")?;
    let magic_type = match kind {
        b"M" => true,
        b"E" => false,
        _ => {
            return Err(LineError::new(
                type_column,
                "the type must be `M` (magic) or `E` (extension)",
            ))
        }
    };

    let rule = if magic_type {
        let (offset_column, offset) = cursor.field("offset")?;
        let offset = parse_offset(offset).map_err(|rule| LineError::new(offset_column, rule))?;
        let (magic_column, magic) = cursor.escaped_field("magic")?;
        if magic.is_empty() {
            return Err(LineError::new(magic_column, "the magic is empty"));
        }
        let (mask_column, mask) = cursor.escaped_field("mask")?;
        let mask = (!mask.is_empty()).then_some(mask);
        let rule = Rule::Magic {
            offset,
            magic,
            mask,
        };
        rule.check().map_err(|text| {
            let column = if text.starts_with("the mask") {
                mask_column
            } else {
                magic_column
            };
            LineError::new(column, text)
        })?;
        rule
    } else {
        // The kernel skips the offset and mask fields of `E` entries.
        cursor.field("offset")?;
        let (extension_column, extension) = cursor.field("extension")?;
        let extension = String::from_utf8(extension.to_vec())
            .map_err(|_| LineError::new(extension_column, "the extension is not UTF-8"))?;
        cursor.field("mask")?;
        let rule = Rule::Extension { extension };
        rule.check()
            .map_err(|text| LineError::new(extension_column, text))?;
        rule
    };

    let (interpreter_column, interpreter) = cursor.field("interpreter")?;
    if interpreter.is_empty() {
        return Err(LineError::new(
            interpreter_column,
            "the interpreter is empty",
        ));
    }
    let interpreter = String::from_utf8(interpreter.to_vec())
        .map_err(|_| LineError::new(interpreter_column, "the interpreter is not UTF-8"))?;
    if interpreter.contains('\0') {
        return Err(LineError::new(
            interpreter_column,
            "the interpreter contains a NUL byte",
        ));
    }

    let flags_start = cursor.position;
    let mut rest = &line[flags_start..];
    if let Some(stripped) = rest.strip_suffix(b"\n") {
        rest = stripped;
    }
    let text = std::str::from_utf8(rest).unwrap_or("\u{fffd}");
    let flags = Flags::parse(text).map_err(|index| {
        LineError::new(
            flags_start + index + 1,
            "flags are letters from `P O C F`; nothing may follow them but one newline",
        )
    })?;

    Ok(Registration {
        name,
        rule,
        interpreter: PathBuf::from(interpreter),
        flags: if flags.credentials {
            Flags {
                open_binary: true,
                ..flags
            }
        } else {
            flags
        },
    })
}

/// `kstrtoint(p, 10, &offset)` then `offset < 0` → `EINVAL`; an empty field means 0.
fn parse_offset(field: &[u8]) -> Result<usize, String> {
    if field.is_empty() {
        return Ok(0);
    }
    let digits = field.strip_prefix(b"+").unwrap_or(field);
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err("the offset must be a non-negative decimal number".into());
    }
    std::str::from_utf8(digits)
        .ok()
        .and_then(|text| text.parse::<i32>().ok())
        .map(|value| value as usize)
        .ok_or_else(|| "the offset does not fit in a 32-bit integer".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const DEBIAN_AARCH64: &str = r":qemu-aarch64:M::\x7f\x45\x4c\x46\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00:\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff:/usr/libexec/qemu-binfmt/aarch64-binfmt-P:OPF";

    fn error_of(line: &str) -> LineError {
        match Registration::parse(line) {
            Err(Error::InvalidLine { source, .. }) => source,
            other => panic!("expected an invalid line for {line:?}, got {other:?}"),
        }
    }

    #[test]
    fn parses_debian_qemu_line() {
        let registration = Registration::parse(DEBIAN_AARCH64).expect("valid");
        assert_eq!(registration.name().as_str(), "qemu-aarch64");
        assert_eq!(
            registration.interpreter(),
            Path::new("/usr/libexec/qemu-binfmt/aarch64-binfmt-P")
        );
        let Rule::Magic {
            offset,
            magic,
            mask,
        } = registration.rule()
        else {
            panic!("magic rule")
        };
        assert_eq!(*offset, 0);
        assert_eq!(&magic[..4], b"\x7fELF");
        assert_eq!(magic.len(), 20);
        assert_eq!(mask.as_ref().map(Vec::len), Some(20));
        let flags = registration.flags();
        assert!(
            flags.preserve_argv0 && flags.open_binary && flags.fix_binary && !flags.credentials
        );
        assert_eq!(flags.to_string(), "POF");
    }

    #[test]
    fn parses_other_delimiter_and_escaped_delimiter_in_magic() {
        let registration =
            Registration::parse(r"|name|M|3|\x7c\x00|\xff\xff|/bin/x|F").expect("valid");
        assert_eq!(
            registration.rule(),
            &Rule::Magic {
                offset: 3,
                magic: vec![b'|', 0],
                mask: Some(vec![0xff, 0xff])
            }
        );
        // rendering picks `:` again since no field contains it
        assert_eq!(
            registration.render(),
            r":name:M:3:\x7c\x00:\xff\xff:/bin/x:F"
        );
    }

    #[test]
    fn parses_extension_entry_and_ignores_its_offset_and_mask() {
        let registration =
            Registration::parse(":DOSWin:E:9:exe:zz:/usr/bin/wine:\n").expect("valid");
        assert_eq!(
            registration.rule(),
            &Rule::Extension {
                extension: "exe".into()
            }
        );
        assert_eq!(registration.render(), ":DOSWin:E::exe::/usr/bin/wine:");
    }

    #[test]
    fn credentials_flag_implies_open_binary() {
        let registration = Registration::parse(r":x:M::\x7fELF::/bin/q:C").expect("valid");
        assert!(registration.flags().open_binary);
        assert_eq!(registration.flags().to_string(), "C");
    }

    #[test]
    fn rejects_with_column_and_rule() {
        let cases: &[(&str, usize, &str)] = &[
            (":a:M::\x7f:", 1, "at least 11"),
            ("::M::\\x7fELF::/bin/q:", 2, "name is empty"),
            (":.:M::\\x7fELF::/bin/q:", 2, "`.` or `..`"),
            (":..:M::\\x7fELF::/bin/q:", 2, "`.` or `..`"),
            (":a/b:M::\\x7fELF::/bin/q:", 2, "contains `/`"),
            (":status:M::\\x7fELF::/bin/q:", 2, "filesystem's own"),
            (":name:X::\\x7fELF::/bin/q:", 7, "`M` (magic) or `E`"),
            (":name:MM::\\x7fELF::/bin/q:", 7, "`M` (magic) or `E`"),
            (":name:M:-1:\\x7fELF::/bin/q:", 9, "non-negative decimal"),
            (":name:M:0x10:\\x7fELF::/bin/q:", 9, "non-negative decimal"),
            (":name:M:::\\xff:/bin/q:", 10, "magic is empty"),
            (":name:M::\\x7g:\\xff:/bin/q:", 10, "two hex digits"),
            (
                ":name:M::ab:\\xff:/bin/q:",
                13,
                "mask is 1 bytes but the magic is 2",
            ),
            (":name:M:255:ab::/bin/q:", 13, "first 256 bytes"),
            (":name:M::ab:::", 14, "interpreter is empty"),
            (":name:M::ab::/bin/q:FX", 22, "`P O C F`"),
            (":name:M::ab::/bin/q:F\n\n", 22, "`P O C F`"),
            (":name:M::ab::/bin/q", 20, "interpreter field"),
            (":name:E::a/b::/bin/q:", 10, "contains `/`"),
            (":name:E::::/bin/q:", 10, "extension is empty"),
        ];
        for (line, column, rule) in cases {
            let error = error_of(line);
            assert_eq!(error.column, *column, "column for {line:?}: {error}");
            assert!(error.rule.contains(rule), "rule for {line:?}: {error}");
        }
    }

    #[test]
    fn rejects_line_longer_than_kernel_limit() {
        let interpreter = format!("/{}", "i".repeat(1910));
        let line = format!(":name:M::\\x7fELF::{interpreter}:F");
        assert!(error_of(&line).rule.contains("at most 1920"));
        let name = EntryName::new("n").expect("valid");
        let rule = Rule::Magic {
            offset: 0,
            magic: vec![0x7f],
            mask: None,
        };
        assert!(Registration::new(name, rule, interpreter, Flags::default()).is_err());
    }

    #[test]
    fn accepts_magic_ending_exactly_at_buffer_end() {
        let line = format!(":n:M:{}:ab::/bin/q:", BINPRM_BUF_SIZE - 2);
        assert!(Registration::parse(&line).is_ok());
    }

    #[test]
    fn accepts_one_trailing_newline() {
        assert!(Registration::parse(&format!("{DEBIAN_AARCH64}\n")).is_ok());
    }

    #[test]
    fn render_picks_a_free_delimiter() {
        let name = EntryName::new("with:colon").expect("valid");
        let rule = Rule::Magic {
            offset: 0,
            magic: b"ab".to_vec(),
            mask: None,
        };
        let registration =
            Registration::new(name, rule, "/bin/q", Flags::default()).expect("valid");
        assert_eq!(registration.render(), r"|with:colon|M||\x61\x62||/bin/q|");
        assert_eq!(
            Registration::parse(&registration.render()).expect("valid"),
            registration
        );
    }

    #[test]
    fn magic_matching_applies_mask_and_offset() {
        let rule = Rule::Magic {
            offset: 2,
            magic: vec![0x10, 0x20],
            mask: Some(vec![0xf0, 0xff]),
        };
        assert!(rule.matches(&[0, 0, 0x1f, 0x20], None));
        assert!(!rule.matches(&[0, 0, 0x2f, 0x20], None));
        assert!(
            !rule.matches(&[0, 0, 0x10], None),
            "past the end reads as zero"
        );
        let zero = Rule::Magic {
            offset: 1,
            magic: vec![0],
            mask: None,
        };
        assert!(
            zero.matches(&[7], None),
            "short files are padded with zeros"
        );
    }

    #[test]
    fn extension_matching_uses_text_after_last_dot() {
        let rule = Rule::Extension {
            extension: "exe".into(),
        };
        assert!(rule.matches(b"", Some(b"setup.tar.exe")));
        assert!(!rule.matches(b"", Some(b"setup.exe.tar")));
        assert!(!rule.matches(b"", Some(b"exe")));
        assert!(!rule.matches(b"", Some(b"setup.EXE")), "case-sensitive");
    }

    fn registration_strategy() -> impl Strategy<Value = Registration> {
        let name =
            "[a-zA-Z0-9_.:+-]{1,40}".prop_filter("kernel-valid name", |n| name_rule(n).is_none());
        let magic_rule = (
            0usize..200,
            proptest::collection::vec(any::<u8>(), 1..56),
            any::<bool>(),
        )
            .prop_flat_map(|(offset, magic, with_mask)| {
                let length = magic.len();
                (
                    Just(offset),
                    Just(magic),
                    if with_mask {
                        proptest::option::of(proptest::collection::vec(
                            any::<u8>(),
                            length..=length,
                        ))
                        .boxed()
                    } else {
                        Just(None).boxed()
                    },
                )
            })
            .prop_map(|(offset, magic, mask)| Rule::Magic {
                offset,
                magic,
                mask,
            });
        let extension_rule =
            "[a-zA-Z0-9_:-]{1,12}".prop_map(|extension| Rule::Extension { extension });
        let rule = prop_oneof![magic_rule, extension_rule];
        let interpreter = "/[a-zA-Z0-9_/.:-]{1,80}";
        let flags = (any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>()).prop_map(
            |(preserve_argv0, open_binary, credentials, fix_binary)| Flags {
                preserve_argv0,
                open_binary: open_binary || credentials,
                credentials,
                fix_binary,
            },
        );
        (name, rule, interpreter, flags).prop_filter_map(
            "kernel-valid registration",
            |(name, rule, interpreter, flags)| {
                Registration::new(EntryName(name), rule, interpreter, flags).ok()
            },
        )
    }

    proptest! {
        #[test]
        fn render_then_parse_round_trips(registration in registration_strategy()) {
            let line = registration.render();
            let parsed = Registration::parse(&line).map_err(|e| TestCaseError::fail(format!("{line}: {e}")))?;
            prop_assert_eq!(parsed, registration);
        }

        #[test]
        fn entry_file_render_then_parse_round_trips(registration in registration_strategy(), enabled in any::<bool>()) {
            let entry = crate::fs::Entry { enabled, registration };
            let parsed = crate::fs::Entry::parse(entry.name().as_str(), &entry.render())
                .map_err(TestCaseError::fail)?;
            prop_assert_eq!(parsed, entry);
        }

        #[test]
        fn parse_never_panics(line in "\\PC{0,300}") {
            let _ = Registration::parse(&line);
        }

        #[test]
        fn parse_then_render_then_parse_is_stable(line in "[:|][a-z]{1,8}[:|][ME][:|][0-9]{0,3}[:|](\\\\x[0-9a-f]{2}|[a-z]){1,8}[:|](\\\\x[0-9a-f]{2}){0,8}[:|]/[a-z]{1,8}[:|][POCF]{0,4}") {
            if let Ok(first) = Registration::parse(&line) {
                let again = Registration::parse(&first.render()).map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(again, first);
            }
        }

        /// Any bytes (the kernel takes bytes; invalid UTF-8 arrives as U+FFFD), any length up
        /// to past the kernel's limit: an error, never a panic.
        #[test]
        fn parse_of_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
            let _ = Registration::parse(&String::from_utf8_lossy(&bytes));
        }

        /// Seven fields of anything (escapes, other delimiters, non-ASCII) behind any
        /// delimiter: whatever parses renders to a line that parses to the same registration.
        #[test]
        fn any_line_that_parses_round_trips(
            delimiter in prop_oneof![
                proptest::sample::select(DELIMITERS.to_vec()).prop_map(char::from),
                any::<char>(),
            ],
            fields in proptest::collection::vec(
                prop_oneof![
                    "[a-zA-Z0-9_./:|-]{0,12}",
                    "(\\\\x[0-9a-fA-F]{2}){0,12}",
                    "\\PC{0,6}",
                    proptest::sample::select(vec!["M", "E", "0", "3", "POCF", "C", "\\x", "\\x0"])
                        .prop_map(str::to_string),
                ],
                7..=7,
            ),
            kind in proptest::sample::select(vec!["M", "E", "M", "E", "X"]),
        ) {
            // The type field decides which rules apply; most random types would stop there.
            let mut fields = fields;
            fields[1] = kind.to_string();
            let mut line = String::new();
            for field in &fields {
                line.push(delimiter);
                line.push_str(field);
            }
            if let Ok(first) = Registration::parse(&line) {
                let rendered = first.render();
                let again = Registration::parse(&rendered)
                    .map_err(|e| TestCaseError::fail(format!("{line:?} rendered as {rendered:?}: {e}")))?;
                prop_assert_eq!(again, first, "{:?} rendered as {:?}", line, rendered);
            }
        }

        /// An entry file of any lines (what `/proc/sys/fs/binfmt_misc/<name>` could show):
        /// an error or an entry whose rendering parses back to it.
        #[test]
        fn any_entry_file_that_parses_round_trips(
            name in "[a-z0-9_.-]{0,12}",
            status in proptest::sample::select(vec!["enabled", "disabled", "enabled", "Enabled"]),
            interpreter in "(interpreter (/[a-z]{1,8}[\r ]?|\\PC{0,12}))?",
            rule in proptest::sample::select(vec![
                "offset 0\nmagic 7f454c46", "offset 3\nmagic 7f454c46\nmask ffffffff",
                "magic 7f4", "mask zz", "offset 18446744073709551616\nmagic 00",
                "extension .exe", "extension .exe\r", "extension", "extension .a/b", "",
            ]),
            lines in proptest::collection::vec(
                prop_oneof![
                    proptest::sample::select(vec![
                        "flags: OCF", "flags: X", "flags: ", "interpreter ", "offset 1",
                    ]).prop_map(str::to_string),
                    "(interpreter|flags:|offset|magic|mask|extension) \\PC{0,16}",
                    "\\PC{0,20}",
                ],
                0..4,
            ),
        ) {
            let text = [vec![status.to_string(), interpreter, rule.to_string()], lines].concat().join("\n");
            if let Ok(entry) = crate::fs::Entry::parse(&name, &text) {
                let rendered = entry.render();
                let again = crate::fs::Entry::parse(entry.name().as_str(), &rendered)
                    .map_err(|e| TestCaseError::fail(format!("{text:?} rendered as {rendered:?}: {e}")))?;
                prop_assert_eq!(again, entry);
            }
        }
    }
}
