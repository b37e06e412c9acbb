//! The platform's own CPU: nixpkgs' `gcc` attribute set (`arch`, `cpu`, `tune`, `fpu`,
//! `float-abi`, `float`, `abi`, `mode`, `cmodel`, `strict-align`), the compiler flags it
//! becomes, rustc's `-C target-cpu`, and the QEMU CPU model that runs that CPU.
//!
//! Transcribed from nixpkgs `lib/systems/examples.nix` and `lib/systems/platforms.nix` as of
//! commit `abfe176ea5ca903f2315c208b848229f495aec20` (read from the `randomizedcoder/nixpkgs`
//! mirror, whose `examples.nix` is the 26.11 catalog this crate carries). `default.nix`
//! (`elaborate`) sets `gcc = args.gcc or {}`, then `// platforms.select final`, then `// args`:
//! an example's own `gcc` (or the `platforms.*` preset it merges) wins as a whole, else `select`
//! decides from the parsed triple ([`GccSettings::implied_by`]).

use std::borrow::Cow;
use std::fmt::Write as _;

use crate::cpu::Cpu;
use crate::triple::Kernel;

/// nixpkgs' `gcc` attribute set of a platform: what the C compiler targets. Every field is
/// optional; `None` means the compiler's own default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct GccSettings {
    /// `-march=` (`armv6kz`, `armv8-a+crc`, `mips32r2`, `x86-64-v3`, `la64v1.0`).
    pub arch: Option<Cow<'static, str>>,
    /// `-mcpu=` (`cortex-a9`).
    pub cpu: Option<Cow<'static, str>>,
    /// `-mtune=`.
    pub tune: Option<Cow<'static, str>>,
    /// `-mfpu=` (ARM: `vfpv2`, `neon`, `neon-vfpv4`).
    pub fpu: Option<Cow<'static, str>>,
    /// `-mfloat-abi=` (ARM: `soft`, `softfp`, `hard`).
    pub float_abi: Option<Cow<'static, str>>,
    /// GCC's `--with-float`: `soft` (`-msoft-float`) or `hard` (`-mhard-float`).
    pub float: Option<Cow<'static, str>>,
    /// `-mabi=` (MIPS `32`/`n32`/`64`, POWER `elfv2`).
    pub abi: Option<Cow<'static, str>>,
    /// GCC's `--with-mode` (ARM): `arm` (`-marm`) or `thumb` (`-mthumb`).
    pub mode: Option<Cow<'static, str>>,
    /// `-mcmodel=` (LoongArch `medium`).
    pub cmodel: Option<Cow<'static, str>>,
    /// `-mstrict-align` / `-mno-strict-align` (LoongArch).
    pub strict_align: Option<bool>,
}

/// The QEMU CPU model for a platform's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QemuCpu {
    /// The platform has no CPU settings: QEMU's own default model is right.
    Default,
    /// This model runs what the settings' CPU runs (`arm1176` for ARMv6KZ).
    Model(&'static str),
    /// The settings name a CPU QEMU 7.2 has no model for; QEMU's default runs more than the
    /// CPU does, so code it cannot run is not caught. The text says why.
    Unmatched(String),
}

impl QemuCpu {
    /// The model name, if there is one.
    pub fn model(&self) -> Option<&'static str> {
        match self {
            QemuCpu::Model(model) => Some(model),
            QemuCpu::Default | QemuCpu::Unmatched(_) => None,
        }
    }
}

const fn s(value: &'static str) -> Option<Cow<'static, str>> {
    Some(Cow::Borrowed(value))
}

const EMPTY: GccSettings = GccSettings {
    arch: None,
    cpu: None,
    tune: None,
    fpu: None,
    float_abi: None,
    float: None,
    abi: None,
    mode: None,
    cmodel: None,
    strict_align: None,
};

// platforms.nix presets, by their nixpkgs names.
const RASPBERRYPI: GccSettings = GccSettings {
    arch: s("armv6kz"),
    fpu: s("vfpv2"),
    ..EMPTY
};
const SHEEVAPLUG: GccSettings = GccSettings {
    arch: s("armv5te"),
    ..EMPTY
};
const ARMV7L_HF_MULTIPLATFORM: GccSettings = GccSettings {
    arch: s("armv7-a"),
    fpu: s("vfpv3-d16"),
    ..EMPTY
};
const AARCH64_MULTIPLATFORM: GccSettings = GccSettings {
    arch: s("armv8-a"),
    ..EMPTY
};
const APPLE_M1: GccSettings = GccSettings {
    arch: s("armv8.3-a+crypto+sha2+aes+crc+fp16+lse+simd+ras+rdm+rcpc"),
    cpu: s("apple-a13"),
    ..EMPTY
};
const LOONGARCH64_MULTIPLATFORM: GccSettings = GccSettings {
    arch: s("la64v1.0"),
    strict_align: Some(false),
    cmodel: s("medium"),
    ..EMPTY
};
const GCC_MIPS32R2_O32: GccSettings = GccSettings {
    arch: s("mips32r2"),
    abi: s("32"),
    ..EMPTY
};
const GCC_MIPS64R2_N32: GccSettings = GccSettings {
    arch: s("mips64r2"),
    abi: s("n32"),
    ..EMPTY
};
const GCC_MIPS64R2_64: GccSettings = GccSettings {
    arch: s("mips64r2"),
    abi: s("64"),
    ..EMPTY
};

/// The catalog entries whose example sets `gcc` itself (directly, or by merging a
/// `platforms.*` preset), by pkgsCross name. Every other entry gets [`GccSettings::implied_by`].
static EXPLICIT: &[(&str, GccSettings)] = &[
    // platforms.armv7a-android
    (
        "armv7a-android-prebuilt",
        GccSettings {
            arch: s("armv7-a"),
            float_abi: s("softfp"),
            fpu: s("vfpv3-d16"),
            ..EMPTY
        },
    ),
    // `gcc = { arch = "armv5t"; fpu = "vfp"; }` ("GCC8+ does not build without this").
    (
        "armhf-embedded",
        GccSettings {
            arch: s("armv5t"),
            fpu: s("vfp"),
            ..EMPTY
        },
    ),
    // platforms.ben_nanonote
    (
        "ben-nanonote",
        GccSettings {
            arch: s("mips32"),
            float: s("soft"),
            ..EMPTY
        },
    ),
    // platforms.bluefield2 ("Nvidia Bluefield 2 (w. crypto support)")
    (
        "bluefield2",
        GccSettings {
            arch: s("armv8-a+fp+simd+crc+crypto"),
            ..EMPTY
        },
    ),
    // platforms.fuloong2f_n32
    (
        "fuloongminipc",
        GccSettings {
            arch: s("loongson2f"),
            float: s("hard"),
            abi: s("n32"),
            ..EMPTY
        },
    ),
    // `lib.recursiveUpdate platforms.loongarch64-multiplatform { ... }`
    ("loongarch64-linux", LOONGARCH64_MULTIPLATFORM),
    (
        "loongarch64-linux-embedded",
        GccSettings {
            arch: s("loongarch64"),
            strict_align: Some(true),
            cmodel: s("medium"),
            ..EMPTY
        },
    ),
    ("mips-linux-gnu", GCC_MIPS32R2_O32),
    ("mips64-linux-gnuabi64", GCC_MIPS64R2_64),
    ("mips64-linux-gnuabin32", GCC_MIPS64R2_N32),
    ("mips64el-linux-gnuabi64", GCC_MIPS64R2_64),
    ("mips64el-linux-gnuabin32", GCC_MIPS64R2_N32),
    ("mipsel-linux-gnu", GCC_MIPS32R2_O32),
    // `muslpi = raspberryPi // { config = ...; }`
    ("muslpi", RASPBERRYPI),
    ("pogoplug4", SHEEVAPLUG),
    (
        "ppc64-musl",
        GccSettings {
            abi: s("elfv2"),
            ..EMPTY
        },
    ),
    ("raspberryPi", RASPBERRYPI),
    // platforms.zero-gravitas
    (
        "remarkable1",
        GccSettings {
            fpu: s("neon"),
            cpu: s("cortex-a9"),
            ..EMPTY
        },
    ),
    // platforms.zero-sugar
    (
        "remarkable2",
        GccSettings {
            cpu: s("cortex-a7"),
            fpu: s("neon-vfpv4"),
            float_abi: s("hard"),
            ..EMPTY
        },
    ),
    // "z13 (2015) is the minimum for vector extensions (SIMD)."
    (
        "s390x",
        GccSettings {
            arch: s("z13"),
            ..EMPTY
        },
    ),
    ("sheevaplug", SHEEVAPLUG),
];

/// The catalog entry's own `gcc`, when its example sets one.
pub(crate) fn explicit(entry_name: &str) -> Option<&'static GccSettings> {
    EXPLICIT
        .iter()
        .find(|(name, _)| *name == entry_name)
        .map(|(_, settings)| settings)
}

/// The characters a value may have: it reaches compiler command lines and generated files.
pub const VALUE_RULE: &str = "letters, digits, `.`, `_`, `+` and `-` (`[A-Za-z0-9._+-]`)";

impl GccSettings {
    /// The setting names, as nixpkgs spells them, in display order.
    pub const NAMES: [&'static str; 10] = [
        "arch",
        "cpu",
        "tune",
        "fpu",
        "float-abi",
        "float",
        "abi",
        "mode",
        "cmodel",
        "strict-align",
    ];

    /// nixpkgs' `platforms.select`: the settings a parsed triple implies when the example
    /// sets none. ARM by `cpu.version` (below 6: sheevaplug; 6: raspberrypi; 7 and up:
    /// armv7l-hf-multiplatform; no version: none), AArch64 (Darwin: apple-m1), LoongArch64,
    /// and little-endian 32-bit MIPS (examples' `mipsel-linux-gnu`).
    pub fn implied_by(cpu: Cpu, kernel: Kernel) -> GccSettings {
        if cpu.is_aarch32() {
            return match cpu.arm_version() {
                None => EMPTY,
                Some(version) if version < 6 => SHEEVAPLUG,
                Some(6) => RASPBERRYPI,
                Some(_) => ARMV7L_HF_MULTIPLATFORM,
            };
        }
        match cpu {
            Cpu::Aarch64 | Cpu::Aarch64Be if kernel.is_darwin() => APPLE_M1,
            Cpu::Aarch64 | Cpu::Aarch64Be => AARCH64_MULTIPLATFORM,
            Cpu::Loongarch64 => LOONGARCH64_MULTIPLATFORM,
            Cpu::Mipsel => GCC_MIPS32R2_O32,
            _ => EMPTY,
        }
    }

    /// No setting at all.
    pub fn is_empty(&self) -> bool {
        self == &EMPTY
    }

    /// The settings that are set, as `(name, value)` in [`GccSettings::NAMES`] order.
    pub fn entries(&self) -> Vec<(&'static str, String)> {
        let strings = [
            ("arch", &self.arch),
            ("cpu", &self.cpu),
            ("tune", &self.tune),
            ("fpu", &self.fpu),
            ("float-abi", &self.float_abi),
            ("float", &self.float),
            ("abi", &self.abi),
            ("mode", &self.mode),
            ("cmodel", &self.cmodel),
        ];
        let mut entries: Vec<(&'static str, String)> = strings
            .into_iter()
            .filter_map(|(name, value)| value.as_ref().map(|value| (name, value.to_string())))
            .collect();
        if let Some(strict) = self.strict_align {
            entries.push(("strict-align", strict.to_string()));
        }
        entries
    }

    /// `arch=armv6kz fpu=vfpv2`, or `-` when empty.
    pub fn summary(&self) -> String {
        let entries = self.entries();
        if entries.is_empty() {
            return "-".to_string();
        }
        let mut text = String::new();
        for (index, (name, value)) in entries.iter().enumerate() {
            if index > 0 {
                text.push(' ');
            }
            let _ = write!(text, "{name}={value}");
        }
        text
    }

    /// These settings with `over` on top, setting by setting. `arch` and `cpu` both name the
    /// CPU: one given in `over` replaces both of the base's (a configured `arch` next to the
    /// platform's `cpu` would make GCC warn of a conflict, and the user meant the new one).
    pub fn overlaid(&self, over: &GccSettings) -> GccSettings {
        let mut result = self.clone();
        if over.arch.is_some() || over.cpu.is_some() {
            result.arch = None;
            result.cpu = None;
        }
        fn take<T: Clone>(mine: &mut Option<T>, theirs: &Option<T>) {
            if theirs.is_some() {
                mine.clone_from(theirs);
            }
        }
        take(&mut result.arch, &over.arch);
        take(&mut result.cpu, &over.cpu);
        take(&mut result.tune, &over.tune);
        take(&mut result.fpu, &over.fpu);
        take(&mut result.float_abi, &over.float_abi);
        take(&mut result.float, &over.float);
        take(&mut result.abi, &over.abi);
        take(&mut result.mode, &over.mode);
        take(&mut result.cmodel, &over.cmodel);
        take(&mut result.strict_align, &over.strict_align);
        result
    }

    /// Is `value` acceptable for a setting (it reaches compiler command lines unquoted)?
    pub fn is_valid_value(value: &str) -> bool {
        !value.is_empty()
            && !value.starts_with('-')
            && value
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || b"._+-".contains(&byte))
    }

    /// The compiler flags, as nixpkgs' cc-wrapper puts them before every compile
    /// (`pkgs/build-support/cc-wrapper/default.nix`: `-march`, `-mcpu`, `-mfloat-abi`,
    /// `-mfpu`, mode, `-mtune`), plus what nixpkgs bakes into its GCC with `--with-abi`,
    /// `--with-float` and `--with-mode` (Debian's compilers have their own defaults there, so
    /// archway passes them as flags), `-mcmodel` and `-m[no-]strict-align`.
    ///
    /// `aarch32`: on 32-bit ARM a CPU without Thumb-2 (ARMv6 and older, but ARMv6T2) gets
    /// `-marm` unless a mode is set: Debian's armhf GCC defaults to Thumb mode, and Thumb-1
    /// has no hard-float VFP ABI (GCC: "sorry, unimplemented: Thumb-1 hard-float VFP ABI").
    pub fn compiler_flags(&self, aarch32: bool) -> Vec<String> {
        let mut flags = Vec::new();
        if let Some(arch) = &self.arch {
            flags.push(format!("-march={arch}"));
        }
        if let Some(cpu) = &self.cpu {
            flags.push(format!("-mcpu={cpu}"));
        }
        if let Some(float_abi) = &self.float_abi {
            flags.push(format!("-mfloat-abi={float_abi}"));
        }
        if let Some(fpu) = &self.fpu {
            flags.push(format!("-mfpu={fpu}"));
        }
        match self.mode.as_deref() {
            Some("arm") => flags.push("-marm".to_string()),
            Some("thumb") => flags.push("-mthumb".to_string()),
            Some(other) => flags.push(format!("-m{other}")),
            None if aarch32 && !self.has_thumb2() => flags.push("-marm".to_string()),
            None => {}
        }
        if let Some(tune) = &self.tune {
            flags.push(format!("-mtune={tune}"));
        }
        if let Some(abi) = &self.abi {
            flags.push(format!("-mabi={abi}"));
        }
        match self.float.as_deref() {
            Some("soft") => flags.push("-msoft-float".to_string()),
            Some("hard") => flags.push("-mhard-float".to_string()),
            Some(other) => flags.push(format!("-m{other}-float")),
            None => {}
        }
        if let Some(cmodel) = &self.cmodel {
            flags.push(format!("-mcmodel={cmodel}"));
        }
        match self.strict_align {
            Some(true) => flags.push("-mstrict-align".to_string()),
            Some(false) => flags.push("-mno-strict-align".to_string()),
            None => {}
        }
        flags
    }

    /// Whether the (32-bit ARM) CPU has Thumb-2; `true` when the settings name no CPU.
    fn has_thumb2(&self) -> bool {
        // GCC's ARM architectures without Thumb-2 (gcc/config/arm/arm-cpus.in): ARMv4 to
        // ARMv6K/KZ; ARMv6T2 introduced it.
        const ARCHES_WITHOUT: &[&str] = &[
            "armv4", "armv4t", "armv5t", "armv5te", "armv5tej", "armv6", "armv6j", "armv6k",
            "armv6z", "armv6kz", "armv6zk",
        ];
        // GCC's CPUs of those architectures (arm7tdmi ... arm1176jzf-s), except ARM1156T2.
        const CPU_PREFIXES_WITHOUT: &[&str] = &[
            "arm7",
            "arm8",
            "arm9",
            "arm10",
            "arm11",
            "strongarm",
            "xscale",
            "iwmmxt",
            "fa5",
            "fa6",
            "fa7",
            "fmp626",
            "ep9312",
        ];
        if let Some(cpu) = &self.cpu {
            let without = CPU_PREFIXES_WITHOUT
                .iter()
                .any(|prefix| cpu.starts_with(prefix))
                && !cpu.starts_with("arm1156t2");
            return !without;
        }
        match &self.arch {
            Some(arch) => {
                let base = arch.split('+').next().unwrap_or(arch);
                !ARCHES_WITHOUT.contains(&base)
            }
            None => true,
        }
    }

    /// rustc's `-C target-cpu` / `-C target-feature` for these settings, where LLVM knows the
    /// CPU by the name GCC uses (`cortex-a9`, `x86-64-v3`, `mips32r2`, `z13`). Rust's standard
    /// library stays built for the target's baseline; this only tunes the crate's own code.
    pub fn rustc_flags(&self, cpu: Cpu) -> Vec<String> {
        let mut flags = Vec::new();
        let target_cpu = self
            .cpu
            .as_deref()
            .filter(|name| LLVM_CPUS.contains(name))
            .or_else(|| {
                self.arch
                    .as_deref()
                    .filter(|name| LLVM_ARCH_CPUS.contains(name))
            });
        if let Some(name) = target_cpu {
            flags.push(format!("target-cpu={name}"));
        }
        let mut features: Vec<&str> = Vec::new();
        if cpu.is_aarch32() {
            match self.fpu.as_deref() {
                Some("neon") => features.push("+neon"),
                Some("neon-vfpv4") => features.extend(["+neon", "+vfp4"]),
                Some("vfpv4") => features.push("+vfp4"),
                Some("vfp" | "vfpv2") => features.push("+vfp2"),
                _ => {}
            }
        }
        if matches!(cpu, Cpu::Aarch64 | Cpu::Aarch64Be) && target_cpu.is_none() {
            // `armv8.2-a` → LLVM's `v8.2a` feature (rustc's aarch64 feature list).
            let base = self.arch.as_deref().and_then(|arch| arch.split('+').next());
            if let Some(feature) = base.and_then(aarch64_level_feature) {
                features.push(feature);
            }
        }
        if !features.is_empty() {
            flags.push(format!("target-feature={}", features.join(",")));
        }
        flags
            .into_iter()
            .flat_map(|flag| ["-C".to_string(), flag])
            .collect()
    }

    /// The QEMU 7.2 CPU model (`qemu-<arch> -cpu help`) that runs what these settings' CPU
    /// runs, for a platform whose CPU is `cpu`.
    pub fn qemu_cpu(&self, cpu: Cpu) -> QemuCpu {
        if self.is_empty() {
            return QemuCpu::Default;
        }
        let named = self.cpu.as_deref();
        let arch = self
            .arch
            .as_deref()
            .map(|arch| arch.split('+').next().unwrap_or(arch));
        let unmatched = |what: &str| {
            QemuCpu::Unmatched(format!(
                "QEMU 7.2 has no CPU model for {what}; its default model runs more than that \
                 CPU, so instructions the CPU lacks are not caught"
            ))
        };
        let describe = || match (named, arch) {
            (Some(name), _) => format!("`{name}`"),
            (None, Some(arch)) => format!("`{arch}`"),
            (None, None) => "these settings".to_string(),
        };
        let found = if cpu.is_aarch32() {
            named
                .and_then(|name| lookup(QEMU_ARM_CPUS, name))
                .or_else(|| arch.and_then(|arch| lookup(QEMU_ARM_ARCHES, arch)))
        } else if matches!(cpu, Cpu::Aarch64 | Cpu::Aarch64Be) {
            named
                .and_then(|name| lookup(QEMU_AARCH64_CPUS, name))
                .or_else(|| arch.and_then(|arch| lookup(QEMU_AARCH64_ARCHES, arch)))
        } else if cpu.family() == "mips" {
            arch.and_then(|arch| lookup(QEMU_MIPS_ARCHES, arch))
        } else if cpu == Cpu::Loongarch64 {
            // QEMU 7.2's only LoongArch model, the LA464 core (LoongArch64 v1.0).
            matches!(arch, Some("la64v1.0" | "loongarch64" | "la464")).then_some("la464")
        } else if cpu.family() == "power" {
            named
                .or(arch)
                .and_then(|name| lookup(QEMU_POWER_CPUS, name))
        } else if cpu.family() == "s390" {
            // `qemu-s390x -cpu z13` refuses to start under TCG ("Some features requested in
            // the CPU model are not available in the configuration"), checked on QEMU 7.2.
            return QemuCpu::Unmatched(format!(
                "QEMU 7.2's model for {} needs facilities its TCG emulation lacks; its \
                 default model runs instead",
                describe()
            ));
        } else if cpu.family() == "x86" {
            // QEMU's named x86 models (`Haswell`...) ask for features TCG lacks and warn on
            // every start; user mode's default `max` runs every level TCG emulates.
            return QemuCpu::Unmatched(format!(
                "QEMU's x86 models for {} ask for features its TCG emulation lacks; its \
                 default model runs instead, and instructions the CPU lacks are not caught",
                describe()
            ));
        } else {
            None
        };
        match found {
            Some(model) => QemuCpu::Model(model),
            None if named.is_none() && arch.is_none() => QemuCpu::Default,
            None => unmatched(&describe()),
        }
    }
}

fn lookup(table: &[(&str, &'static str)], name: &str) -> Option<&'static str> {
    table
        .iter()
        .find(|(key, _)| *key == name)
        .map(|(_, model)| *model)
}

/// `armv8.2-a` → `+v8.2a`.
fn aarch64_level_feature(arch: &str) -> Option<&'static str> {
    const LEVELS: &[(&str, &str)] = &[
        ("armv8.1-a", "+v8.1a"),
        ("armv8.2-a", "+v8.2a"),
        ("armv8.3-a", "+v8.3a"),
        ("armv8.4-a", "+v8.4a"),
        ("armv8.5-a", "+v8.5a"),
        ("armv8.6-a", "+v8.6a"),
        ("armv8.7-a", "+v8.7a"),
    ];
    lookup(LEVELS, arch)
}

/// GCC `-mcpu` names LLVM knows by the same name (`llc -mcpu=help` / `rustc --print
/// target-cpus`).
const LLVM_CPUS: &[&str] = &[
    "arm1136j-s",
    "arm1136jf-s",
    "arm1176jz-s",
    "arm1176jzf-s",
    "arm926ej-s",
    "cortex-a5",
    "cortex-a7",
    "cortex-a8",
    "cortex-a9",
    "cortex-a15",
    "cortex-a17",
    "cortex-a35",
    "cortex-a53",
    "cortex-a55",
    "cortex-a57",
    "cortex-a72",
    "cortex-a73",
    "cortex-a76",
    "neoverse-n1",
    "power8",
    "power9",
    "power10",
];

/// GCC `-march` names that are also LLVM CPU names.
const LLVM_ARCH_CPUS: &[&str] = &[
    "x86-64",
    "x86-64-v2",
    "x86-64-v3",
    "x86-64-v4",
    "mips32",
    "mips32r2",
    "mips32r6",
    "mips64",
    "mips64r2",
    "mips64r6",
    "loongarch64",
    "z13",
    "z14",
    "z15",
];

// QEMU 7.2 models (`qemu-arm -cpu help`, target/arm/cpu_tcg.c): each the CPU itself, or the
// model implementing exactly that architecture level.
const QEMU_ARM_CPUS: &[(&str, &str)] = &[
    ("arm926ej-s", "arm926"),
    ("arm946e-s", "arm946"),
    ("arm1026ej-s", "arm1026"),
    ("arm1136j-s", "arm1136"),
    ("arm1136jf-s", "arm1136"),
    ("arm1176jz-s", "arm1176"),
    ("arm1176jzf-s", "arm1176"),
    ("mpcore", "arm11mpcore"),
    ("cortex-a7", "cortex-a7"),
    ("cortex-a8", "cortex-a8"),
    ("cortex-a9", "cortex-a9"),
    ("cortex-a15", "cortex-a15"),
    ("cortex-m0", "cortex-m0"),
    ("cortex-m3", "cortex-m3"),
    ("cortex-m4", "cortex-m4"),
    ("cortex-m7", "cortex-m7"),
    ("cortex-m33", "cortex-m33"),
    ("cortex-r5", "cortex-r5"),
];
const QEMU_ARM_ARCHES: &[(&str, &str)] = &[
    // ARM946E-S: ARMv5TE without Jazelle and VFP (QEMU's arm946 has neither).
    ("armv5te", "arm946"),
    ("armv5tej", "arm926"),
    // ARM1136 r0p2: ARMv6; QEMU's arm1136 is r1 (ARMv6K features).
    ("armv6", "arm1136-r2"),
    ("armv6j", "arm1136-r2"),
    ("armv6k", "arm1136"),
    // ARM1176JZF-S (Raspberry Pi 1 and Zero): ARMv6KZ with VFPv2.
    ("armv6kz", "arm1176"),
    ("armv6zk", "arm1176"),
    // Cortex-A8: the first ARMv7-A core (no integer divide, no VFPv4), the baseline
    // QEMU has; it also has NEON, which `vfpv3-d16` platforms lack.
    ("armv7-a", "cortex-a8"),
    // Cortex-A15: ARMv7-A with the virtualization extensions and integer divide.
    ("armv7ve", "cortex-a15"),
];
const QEMU_AARCH64_CPUS: &[(&str, &str)] = &[
    ("cortex-a35", "cortex-a35"),
    ("cortex-a53", "cortex-a53"),
    ("cortex-a57", "cortex-a57"),
    ("cortex-a72", "cortex-a72"),
    ("cortex-a76", "cortex-a76"),
    ("neoverse-n1", "neoverse-n1"),
    ("a64fx", "a64fx"),
];
const QEMU_AARCH64_ARCHES: &[(&str, &str)] = &[
    // Cortex-A53: ARMv8.0-A (with QEMU's CRC and crypto extensions).
    ("armv8-a", "cortex-a53"),
    // Cortex-A76: ARMv8.2-A.
    ("armv8.2-a", "cortex-a76"),
];
// `qemu-mips -cpu help` (target/mips/cpu-defs.c.inc).
const QEMU_MIPS_ARCHES: &[(&str, &str)] = &[
    // 4Kc: MIPS32 release 1 without FPU.
    ("mips32", "4Kc"),
    // 24Kf: MIPS32 release 2 with FPU (QEMU's default for o32 too).
    ("mips32r2", "24Kf"),
    ("mips32r6", "mips32r6-generic"),
    ("mips64r2", "MIPS64R2-generic"),
    ("mips64r6", "I6400"),
    ("loongson2f", "Loongson-2F"),
];
const QEMU_POWER_CPUS: &[(&str, &str)] = &[
    ("power8", "power8"),
    ("power9", "power9"),
    ("power10", "power10"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raspberry_pi_flags_force_arm_mode() {
        assert_eq!(
            RASPBERRYPI.compiler_flags(true),
            ["-march=armv6kz", "-mfpu=vfpv2", "-marm"]
        );
        let thumb = RASPBERRYPI.overlaid(&GccSettings {
            mode: s("thumb"),
            ..EMPTY
        });
        assert_eq!(
            thumb.compiler_flags(true),
            ["-march=armv6kz", "-mfpu=vfpv2", "-mthumb"]
        );
    }

    #[test]
    fn thumb2_cpus_get_no_mode_flag() {
        for settings in [
            ARMV7L_HF_MULTIPLATFORM,
            explicit("remarkable1").cloned().unwrap_or_default(),
        ] {
            assert!(!settings.compiler_flags(true).contains(&"-marm".to_string()));
        }
        let arm1156 = GccSettings {
            cpu: s("arm1156t2f-s"),
            ..EMPTY
        };
        assert!(!arm1156.compiler_flags(true).contains(&"-marm".to_string()));
        let arm1176 = GccSettings {
            cpu: s("arm1176jzf-s"),
            ..EMPTY
        };
        assert_eq!(
            arm1176.compiler_flags(true),
            ["-mcpu=arm1176jzf-s", "-marm"]
        );
        // Not on other CPUs.
        assert_eq!(SHEEVAPLUG.compiler_flags(false), ["-march=armv5te"]);
    }

    #[test]
    fn every_setting_becomes_its_flag() {
        let all = GccSettings {
            arch: s("a"),
            cpu: s("c"),
            tune: s("t"),
            fpu: s("f"),
            float_abi: s("hard"),
            float: s("soft"),
            abi: s("n32"),
            mode: s("arm"),
            cmodel: s("medium"),
            strict_align: Some(false),
        };
        assert_eq!(
            all.compiler_flags(true),
            [
                "-march=a",
                "-mcpu=c",
                "-mfloat-abi=hard",
                "-mfpu=f",
                "-marm",
                "-mtune=t",
                "-mabi=n32",
                "-msoft-float",
                "-mcmodel=medium",
                "-mno-strict-align"
            ]
        );
        assert_eq!(all.entries().len(), 10);
    }

    #[test]
    fn a_configured_arch_replaces_the_platform_cpu() {
        let remarkable1 = explicit("remarkable1").cloned().unwrap_or_default();
        let over = GccSettings {
            arch: s("armv7-a"),
            ..EMPTY
        };
        let merged = remarkable1.overlaid(&over);
        assert_eq!(merged.cpu, None);
        assert_eq!(merged.arch.as_deref(), Some("armv7-a"));
        assert_eq!(merged.fpu.as_deref(), Some("neon"));
    }

    #[test]
    fn values_are_checked_for_command_lines() {
        for good in [
            "armv8.2-a+crc",
            "x86-64-v3",
            "la64v1.0",
            "32",
            "neon-vfpv4",
            "z13",
        ] {
            assert!(GccSettings::is_valid_value(good), "{good}");
        }
        for bad in ["", "-march", "a b", "x;y", "$(id)", "a/b", "é"] {
            assert!(!GccSettings::is_valid_value(bad), "{bad}");
        }
    }

    #[test]
    fn qemu_models_follow_the_cpu() {
        let cases: &[(GccSettings, Cpu, QemuCpu)] = &[
            (RASPBERRYPI, Cpu::Armv6l, QemuCpu::Model("arm1176")),
            (
                ARMV7L_HF_MULTIPLATFORM,
                Cpu::Armv7l,
                QemuCpu::Model("cortex-a8"),
            ),
            (
                AARCH64_MULTIPLATFORM,
                Cpu::Aarch64,
                QemuCpu::Model("cortex-a53"),
            ),
            (GCC_MIPS32R2_O32, Cpu::Mipsel, QemuCpu::Model("24Kf")),
            (
                GCC_MIPS64R2_64,
                Cpu::Mips64el,
                QemuCpu::Model("MIPS64R2-generic"),
            ),
            (
                LOONGARCH64_MULTIPLATFORM,
                Cpu::Loongarch64,
                QemuCpu::Model("la464"),
            ),
            (EMPTY, Cpu::Riscv64, QemuCpu::Default),
        ];
        for (settings, cpu, expected) in cases {
            assert_eq!(&settings.qemu_cpu(*cpu), expected, "{settings:?}");
        }
        let armv5t = GccSettings {
            arch: s("armv5t"),
            ..EMPTY
        };
        assert!(matches!(armv5t.qemu_cpu(Cpu::Arm), QemuCpu::Unmatched(_)));
        let v3 = GccSettings {
            arch: s("x86-64-v3"),
            ..EMPTY
        };
        assert!(matches!(v3.qemu_cpu(Cpu::X86_64), QemuCpu::Unmatched(_)));
        let ppc = GccSettings {
            abi: s("elfv2"),
            ..EMPTY
        };
        assert_eq!(ppc.qemu_cpu(Cpu::Powerpc64), QemuCpu::Default);
    }

    #[test]
    fn rustc_gets_cpus_llvm_knows() {
        let remarkable2 = explicit("remarkable2").cloned().unwrap_or_default();
        assert_eq!(
            remarkable2.rustc_flags(Cpu::Armv7l),
            [
                "-C",
                "target-cpu=cortex-a7",
                "-C",
                "target-feature=+neon,+vfp4"
            ]
        );
        let v3 = GccSettings {
            arch: s("x86-64-v3"),
            ..EMPTY
        };
        assert_eq!(v3.rustc_flags(Cpu::X86_64), ["-C", "target-cpu=x86-64-v3"]);
        let v82 = GccSettings {
            arch: s("armv8.2-a"),
            ..EMPTY
        };
        assert_eq!(
            v82.rustc_flags(Cpu::Aarch64),
            ["-C", "target-feature=+v8.2a"]
        );
        // `la64v1.0` is no LLVM CPU: nothing rather than a wrong name.
        assert!(LOONGARCH64_MULTIPLATFORM
            .rustc_flags(Cpu::Loongarch64)
            .is_empty());
    }
}
