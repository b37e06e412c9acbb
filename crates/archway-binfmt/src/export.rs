//! Registrations in other tools' formats: systemd's `/etc/binfmt.d` (binfmt.d(5)), Debian's
//! update-binfmts(8) format files, a NixOS `boot.binfmt.registrations` snippet, and raw
//! `register` lines.

use std::fmt::Write;

use crate::entry::{escape, Registration, Rule};

/// An export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `/etc/binfmt.d/*.conf` lines, read by systemd-binfmt at boot.
    Systemd,
    /// update-binfmts(8) format files (`/usr/share/binfmts/<name>`), for
    /// `update-binfmts --import`.
    Debian,
    /// A NixOS module snippet setting `boot.binfmt.registrations`.
    Nixos,
    /// The raw lines for `/proc/sys/fs/binfmt_misc/register`.
    Lines,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Format, String> {
        match s {
            "systemd" => Ok(Format::Systemd),
            "debian" => Ok(Format::Debian),
            "nixos" => Ok(Format::Nixos),
            "lines" => Ok(Format::Lines),
            other => Err(format!(
                "unknown format `{other}`: expected systemd, debian, nixos or lines"
            )),
        }
    }
}

/// Renders `registrations` in `format`.
pub fn render(format: Format, registrations: &[Registration]) -> String {
    match format {
        Format::Systemd => systemd(registrations),
        Format::Debian => debian(registrations),
        Format::Nixos => nixos(registrations),
        Format::Lines => registrations
            .iter()
            .map(|registration| format!("{}\n", registration.render()))
            .collect(),
    }
}

/// binfmt.d(5): one registration line each; `#` starts a comment.
pub fn systemd(registrations: &[Registration]) -> String {
    let mut text =
        String::from("# written by archway (`archway binfmt export --format systemd`)\n");
    for registration in registrations {
        let _ = writeln!(text, "{}", registration.render());
    }
    text
}

/// update-binfmts(8) format files, one per registration, each preceded by a comment naming the
/// file (`/usr/share/binfmts/<name>`). update-binfmts has no field for the `O` flag.
pub fn debian(registrations: &[Registration]) -> String {
    let yes_no = |value: bool| if value { "yes" } else { "no" };
    let mut text = String::new();
    for (index, registration) in registrations.iter().enumerate() {
        if index > 0 {
            text.push('\n');
        }
        let flags = registration.flags();
        let _ = writeln!(text, "# /usr/share/binfmts/{}", registration.name());
        let _ = writeln!(text, "package archway");
        let _ = writeln!(text, "interpreter {}", registration.interpreter().display());
        match registration.rule() {
            Rule::Magic {
                offset,
                magic,
                mask,
            } => {
                let _ = writeln!(text, "magic {}", escape(magic));
                let _ = writeln!(text, "offset {offset}");
                if let Some(mask) = mask {
                    let _ = writeln!(text, "mask {}", escape(mask));
                }
            }
            Rule::Extension { extension } => {
                let _ = writeln!(text, "extension {extension}");
            }
        }
        let _ = writeln!(text, "credentials {}", yes_no(flags.credentials));
        let _ = writeln!(text, "fix_binary {}", yes_no(flags.fix_binary));
        let _ = writeln!(text, "preserve {}", yes_no(flags.preserve_argv0));
    }
    text
}

/// Nix string literal for a path or name (`"..."` with `\`, `"` and `${` escaped).
fn nix_string(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace("${", "\\${");
    format!("\"{escaped}\"")
}

/// A NixOS snippet. Magic and mask go in `''...''` strings, where `\x` stays literal for
/// binfmt_misc to decode (as nixos/modules/system/boot/binfmt.nix writes its own table);
/// `wrapInterpreterInShell = false` keeps the interpreter itself as the registered path.
pub fn nixos(registrations: &[Registration]) -> String {
    let mut text = String::from("{\n  boot.binfmt.registrations = {\n");
    for registration in registrations {
        let flags = registration.flags();
        let _ = writeln!(
            text,
            "    {} = {{",
            nix_string(registration.name().as_str())
        );
        let _ = writeln!(
            text,
            "      interpreter = {};",
            nix_string(&registration.interpreter().display().to_string())
        );
        match registration.rule() {
            Rule::Magic {
                offset,
                magic,
                mask,
            } => {
                let _ = writeln!(text, "      recognitionType = \"magic\";");
                let _ = writeln!(text, "      offset = {offset};");
                let _ = writeln!(text, "      magicOrExtension = ''{}'';", escape(magic));
                if let Some(mask) = mask {
                    let _ = writeln!(text, "      mask = ''{}'';", escape(mask));
                }
            }
            Rule::Extension { extension } => {
                let _ = writeln!(text, "      recognitionType = \"extension\";");
                let _ = writeln!(text, "      magicOrExtension = {};", nix_string(extension));
            }
        }
        let _ = writeln!(text, "      preserveArgvZero = {};", flags.preserve_argv0);
        let _ = writeln!(text, "      openBinary = {};", flags.open_binary);
        let _ = writeln!(text, "      matchCredentials = {};", flags.credentials);
        let _ = writeln!(text, "      fixBinary = {};", flags.fix_binary);
        let _ = writeln!(text, "      wrapInterpreterInShell = false;");
        let _ = writeln!(text, "    }};");
    }
    text.push_str("  };\n}\n");
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::{EntryName, Flags};
    use crate::magic::for_qemu;

    fn riscv64() -> Registration {
        for_qemu("riscv64")
            .expect("riscv64")
            .registration(
                EntryName::new("qemu-riscv64").expect("name"),
                "/usr/bin/qemu-riscv64-static",
                Flags {
                    preserve_argv0: true,
                    fix_binary: true,
                    ..Flags::default()
                },
            )
            .expect("valid")
    }

    #[test]
    fn systemd_lines_parse_back() {
        let text = systemd(&[riscv64()]);
        let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(lines.len(), 1);
        assert_eq!(Registration::parse(lines[0]).expect("valid"), riscv64());
    }

    #[test]
    fn debian_format_has_update_binfmts_fields() {
        let text = debian(&[riscv64()]);
        assert!(text.contains("package archway\ninterpreter /usr/bin/qemu-riscv64-static\nmagic \\x7f\\x45\\x4c\\x46\\x02"));
        assert!(text.contains("\noffset 0\nmask \\xff"));
        assert!(text.ends_with("credentials no\nfix_binary yes\npreserve yes\n"));
    }

    #[test]
    fn nixos_snippet_uses_module_option_names() {
        let text = nixos(&[riscv64()]);
        assert!(text.starts_with("{\n  boot.binfmt.registrations = {\n    \"qemu-riscv64\" = {\n"));
        assert!(text.contains("      magicOrExtension = ''\\x7f\\x45\\x4c\\x46"));
        assert!(text.contains("      fixBinary = true;\n"));
        assert!(text.contains("      matchCredentials = false;\n"));
        assert_eq!(nix_string("a\"b${c}"), "\"a\\\"b\\${c}\"");
    }

    #[test]
    fn lines_are_register_lines() {
        let text = render(Format::Lines, &[riscv64()]);
        assert_eq!(text, format!("{}\n", riscv64().render()));
        assert_eq!("lines".parse::<Format>(), Ok(Format::Lines));
        assert!("yaml".parse::<Format>().is_err());
    }
}
