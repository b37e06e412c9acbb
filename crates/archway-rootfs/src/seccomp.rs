//! The sandbox's system call filter: a deny list in the spirit of Docker's default profile,
//! compiled to classic BPF for `bwrap --seccomp FD`.
//!
//! Whose system calls the kernel filters: the host's. A foreign program in an emulated root
//! filesystem runs inside QEMU user mode, an x86_64 process whose system calls are QEMU's own
//! (QEMU translates the guest's), and the root filesystem's native helpers are x86_64 too. So
//! the filter checks `seccomp_data.arch` against the host's ABIs, never the target's:
//! - x86_64 (`AUDIT_ARCH_X86_64`): the deny list below;
//! - x32 (the same `arch`, numbers with `__X32_SYSCALL_BIT` 0x40000000 set): refused with
//!   `ENOSYS`, as on a kernel built without x32;
//! - i386 (`AUDIT_ARCH_I386`, an i386 root filesystem runs natively through IA32 emulation):
//!   the same deny list with the i386 numbers;
//! - anything else: the process is killed (`SECCOMP_RET_KILL_PROCESS`).
//!
//! A denied call fails with `EPERM`, as Docker's profile does, so a build that probes a feature
//! sees an ordinary error; `clone3` fails with `ENOSYS` (its flags live in memory a filter
//! cannot read), so glibc falls back to `clone`, whose flags it can. The numbers are
//! `<asm/unistd_64.h>` and `<asm/unistd_32.h>` of linux-libc-dev (a test compares them when
//! the headers are installed); the layout is the kernel's `struct seccomp_data`
//! (include/uapi/linux/seccomp.h) and `struct sock_filter` (include/uapi/linux/filter.h).
//!
//! ```
//! let program = archway_rootfs::seccomp::Filter::host().map(|filter| filter.to_bytes());
//! # let _ = program;
//! ```

/// One denied system call: its name and its numbers in the x86_64 and i386 tables (`None`
/// where the ABI has no such call).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Denied {
    pub name: &'static str,
    pub x86_64: Option<u32>,
    pub i386: Option<u32>,
}

const fn both(name: &'static str, x86_64: u32, i386: u32) -> Denied {
    Denied {
        name,
        x86_64: Some(x86_64),
        i386: Some(i386),
    }
}

const fn only_x86_64(name: &'static str, x86_64: u32) -> Denied {
    Denied {
        name,
        x86_64: Some(x86_64),
        i386: None,
    }
}

const fn only_i386(name: &'static str, i386: u32) -> Denied {
    Denied {
        name,
        x86_64: None,
        i386: Some(i386),
    }
}

/// Calls a build never needs and that reach past the sandbox: filesystems and mounts, kernel
/// modules and kexec, BPF, the kernel keyring, the clocks, swap and reboot, other processes'
/// memory, file handles (the "shocker" escape through `open_by_handle_at`), namespaces,
/// performance counters, userfaultfd and io_uring (both frequent in kernel exploits), I/O
/// ports and the kernel log.
pub const DENIED: &[Denied] = &[
    both("mount", 165, 21),
    only_i386("umount", 22),
    both("umount2", 166, 52),
    both("pivot_root", 155, 217),
    both("fsopen", 430, 430),
    both("fsconfig", 431, 431),
    both("fsmount", 432, 432),
    both("fspick", 433, 433),
    both("move_mount", 429, 429),
    both("open_tree", 428, 428),
    both("mount_setattr", 442, 442),
    both("swapon", 167, 87),
    both("swapoff", 168, 115),
    both("reboot", 169, 88),
    both("init_module", 175, 128),
    both("finit_module", 313, 350),
    both("delete_module", 176, 129),
    both("kexec_load", 246, 283),
    only_x86_64("kexec_file_load", 320),
    both("bpf", 321, 357),
    both("add_key", 248, 286),
    both("request_key", 249, 287),
    both("keyctl", 250, 288),
    both("clock_settime", 227, 264),
    only_i386("clock_settime64", 404),
    both("settimeofday", 164, 79),
    only_i386("stime", 25),
    both("adjtimex", 159, 124),
    both("clock_adjtime", 305, 343),
    only_i386("clock_adjtime64", 405),
    both("ptrace", 101, 26),
    both("process_vm_readv", 310, 347),
    both("process_vm_writev", 311, 348),
    both("kcmp", 312, 349),
    both("pidfd_getfd", 438, 438),
    both("open_by_handle_at", 304, 342),
    both("name_to_handle_at", 303, 341),
    both("perf_event_open", 298, 336),
    both("userfaultfd", 323, 374),
    both("setns", 308, 346),
    both("acct", 163, 51),
    both("quotactl", 179, 131),
    both("quotactl_fd", 443, 443),
    both("lookup_dcookie", 212, 253),
    both("iopl", 172, 110),
    both("ioperm", 173, 101),
    only_i386("vm86", 166),
    only_i386("vm86old", 113),
    both("vhangup", 153, 111),
    both("syslog", 103, 103),
    both("uselib", 134, 86),
    both("_sysctl", 156, 149),
    both("io_uring_setup", 425, 425),
    both("io_uring_enter", 426, 426),
    both("io_uring_register", 427, 427),
];

/// `clone(2)` and `unshare(2)` are allowed except with `CLONE_NEWUSER`: a new user namespace
/// would give the build every capability again, inside it (the door to most namespace
/// exploits). bwrap's `--disable-userns` closes the same door where the sandbox has its own
/// user namespace; the filter also covers the root-filesystem installs that do not.
const CLONE: (u32, u32) = (56, 120);
const UNSHARE: (u32, u32) = (272, 310);
const CLONE3: u32 = 435;
const IOCTL: (u32, u32) = (16, 54);
/// include/uapi/linux/sched.h
const CLONE_NEWUSER: u32 = 0x1000_0000;
/// `TIOCSTI` pushes input into a terminal, `TIOCLINUX` reads a virtual console's screen
/// (include/uapi/asm-generic/ioctls.h): the ways out of an interactive shell's terminal.
const TERMINAL_INJECTION: [u32; 2] = [0x5412, 0x541C];

/// include/uapi/linux/audit.h
const AUDIT_ARCH_X86_64: u32 = 0xC000_003E;
const AUDIT_ARCH_I386: u32 = 0x4000_0003;
/// arch/x86/include/uapi/asm/unistd.h
const X32_SYSCALL_BIT: u32 = 0x4000_0000;

/// include/uapi/linux/seccomp.h
const SECCOMP_RET_KILL_PROCESS: u32 = 0x8000_0000;
const SECCOMP_RET_ERRNO: u32 = 0x0005_0000;
const SECCOMP_RET_ALLOW: u32 = 0x7fff_0000;
const EPERM: u32 = 1;
const ENOSYS: u32 = 38;

/// Offsets in `struct seccomp_data`: `nr`, `arch`, then `args[6]` of 64 bits from 16; the
/// filter reads the low halves (x86 is little-endian), where flags and ioctl requests live.
const OFFSET_NR: u32 = 0;
const OFFSET_ARCH: u32 = 4;
const fn offset_argument_low(index: u32) -> u32 {
    16 + 8 * index
}

/// include/uapi/linux/bpf_common.h: `BPF_LD | BPF_W | BPF_ABS` (0x00 | 0x00 | 0x20),
/// `BPF_JMP` (0x05) with `BPF_JEQ` 0x10, `BPF_JGE` 0x30, `BPF_JSET` 0x40 (and `BPF_K` 0x00),
/// `BPF_RET | BPF_K` (0x06 | 0x00).
const BPF_LD_W_ABS: u16 = 0x20;
const BPF_JMP_JEQ_K: u16 = 0x15;
const BPF_JMP_JGE_K: u16 = 0x35;
const BPF_JMP_JSET_K: u16 = 0x45;
const BPF_RET_K: u16 = 0x06;

/// One classic BPF instruction (`struct sock_filter`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Instruction {
    pub code: u16,
    pub jump_true: u8,
    pub jump_false: u8,
    pub k: u32,
}

impl Instruction {
    const fn load(offset: u32) -> Instruction {
        Instruction {
            code: BPF_LD_W_ABS,
            jump_true: 0,
            jump_false: 0,
            k: offset,
        }
    }
    const fn jump(code: u16, k: u32, jump_true: u8, jump_false: u8) -> Instruction {
        Instruction {
            code,
            jump_true,
            jump_false,
            k,
        }
    }
    const fn ret(action: u32) -> Instruction {
        Instruction {
            code: BPF_RET_K,
            jump_true: 0,
            jump_false: 0,
            k: action,
        }
    }
}

/// Which ABI's numbers a section of the filter uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Abi {
    X86_64,
    I386,
}

impl Abi {
    fn number(self, pair: (u32, u32)) -> u32 {
        match self {
            Abi::X86_64 => pair.0,
            Abi::I386 => pair.1,
        }
    }
    fn denied(self, denied: &Denied) -> Option<u32> {
        match self {
            Abi::X86_64 => denied.x86_64,
            Abi::I386 => denied.i386,
        }
    }
}

/// A compiled filter, ready to hand to bwrap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    instructions: Vec<Instruction>,
}

impl Filter {
    /// The filter for the machine archway runs on, or `None` where it has none yet (only
    /// x86_64 hosts have one; elsewhere the sandbox runs with capabilities dropped and
    /// without a filter, and says so in the log).
    pub fn host() -> Option<Filter> {
        cfg!(target_arch = "x86_64").then(Filter::x86_64)
    }

    /// The filter for an x86_64 kernel: x86_64 and i386 system calls filtered, x32 refused,
    /// other architectures killed.
    pub fn x86_64() -> Filter {
        let x86_64 = section(Abi::X86_64);
        let i386 = section(Abi::I386);
        let mut instructions = vec![Instruction::load(OFFSET_ARCH)];
        // Not x86_64: jump over the x86_64 section (and its own arch reload) to the i386 one.
        let skip = u8::try_from(x86_64.len()).expect("a section is shorter than 256 instructions");
        instructions.push(Instruction::jump(BPF_JMP_JEQ_K, AUDIT_ARCH_X86_64, 0, skip));
        instructions.extend(x86_64);
        instructions.push(Instruction::jump(BPF_JMP_JEQ_K, AUDIT_ARCH_I386, 1, 0));
        instructions.push(Instruction::ret(SECCOMP_RET_KILL_PROCESS));
        instructions.extend(i386);
        Filter { instructions }
    }

    pub fn instructions(&self) -> &[Instruction] {
        &self.instructions
    }

    /// The program as the kernel reads it: an array of `struct sock_filter` in host order.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(self.instructions.len() * 8);
        for instruction in &self.instructions {
            bytes.extend_from_slice(&instruction.code.to_ne_bytes());
            bytes.push(instruction.jump_true);
            bytes.push(instruction.jump_false);
            bytes.extend_from_slice(&instruction.k.to_ne_bytes());
        }
        bytes
    }

    /// What the filter answers for a call, evaluated as the kernel would (for tests and
    /// `--explain`-style checks): `arch`, `nr` and the low halves of the arguments.
    pub fn evaluate(&self, arch: u32, nr: u32, arguments: [u32; 6]) -> Verdict {
        let mut accumulator = 0u32;
        let mut position = 0usize;
        while let Some(instruction) = self.instructions.get(position) {
            let taken = |condition: bool| {
                usize::from(if condition {
                    instruction.jump_true
                } else {
                    instruction.jump_false
                })
            };
            position += 1;
            match instruction.code {
                BPF_LD_W_ABS => {
                    accumulator = match instruction.k {
                        OFFSET_NR => nr,
                        OFFSET_ARCH => arch,
                        offset => {
                            let index = (offset.saturating_sub(16) / 8) as usize;
                            arguments.get(index).copied().unwrap_or(0)
                        }
                    }
                }
                BPF_JMP_JEQ_K => position += taken(accumulator == instruction.k),
                BPF_JMP_JGE_K => position += taken(accumulator >= instruction.k),
                BPF_JMP_JSET_K => position += taken(accumulator & instruction.k != 0),
                BPF_RET_K => return Verdict::from_action(instruction.k),
                _ => return Verdict::Invalid,
            }
        }
        Verdict::Invalid
    }
}

/// The outcome of [`Filter::evaluate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    Errno(u32),
    KillProcess,
    /// The program fell off its end or used an instruction the evaluator does not know.
    Invalid,
}

impl Verdict {
    fn from_action(action: u32) -> Verdict {
        match action {
            SECCOMP_RET_ALLOW => Verdict::Allow,
            SECCOMP_RET_KILL_PROCESS => Verdict::KillProcess,
            action if action & 0xffff_0000 == SECCOMP_RET_ERRNO => Verdict::Errno(action & 0xffff),
            _ => Verdict::Invalid,
        }
    }
}

/// One ABI's checks, entered with the architecture in the accumulator; every path returns.
fn section(abi: Abi) -> Vec<Instruction> {
    let deny = Instruction::ret(SECCOMP_RET_ERRNO | EPERM);
    let mut instructions = vec![Instruction::load(OFFSET_NR)];
    if abi == Abi::X86_64 {
        instructions.push(Instruction::jump(BPF_JMP_JGE_K, X32_SYSCALL_BIT, 0, 1));
        instructions.push(Instruction::ret(SECCOMP_RET_ERRNO | ENOSYS));
    }
    for number in DENIED.iter().filter_map(|denied| abi.denied(denied)) {
        instructions.push(Instruction::jump(BPF_JMP_JEQ_K, number, 0, 1));
        instructions.push(deny);
    }
    instructions.push(Instruction::jump(BPF_JMP_JEQ_K, CLONE3, 0, 1));
    instructions.push(Instruction::ret(SECCOMP_RET_ERRNO | ENOSYS));
    // The argument checks come last: they replace the number in the accumulator, and each
    // ends in a verdict for its own call.
    for call in [CLONE, UNSHARE] {
        instructions.extend([
            Instruction::jump(BPF_JMP_JEQ_K, abi.number(call), 0, 4),
            Instruction::load(offset_argument_low(0)),
            Instruction::jump(BPF_JMP_JSET_K, CLONE_NEWUSER, 0, 1),
            deny,
            Instruction::ret(SECCOMP_RET_ALLOW),
        ]);
    }
    instructions.extend([
        Instruction::jump(BPF_JMP_JEQ_K, abi.number(IOCTL), 0, 5),
        Instruction::load(offset_argument_low(1)),
        Instruction::jump(BPF_JMP_JEQ_K, TERMINAL_INJECTION[0], 1, 0),
        Instruction::jump(BPF_JMP_JEQ_K, TERMINAL_INJECTION[1], 0, 1),
        deny,
        Instruction::ret(SECCOMP_RET_ALLOW),
    ]);
    instructions.push(Instruction::ret(SECCOMP_RET_ALLOW));
    instructions
}

#[cfg(test)]
mod tests {
    use super::*;

    const NO_ARGUMENTS: [u32; 6] = [0; 6];

    #[test]
    fn every_denied_call_is_refused_with_eperm_in_both_abis() {
        let filter = Filter::x86_64();
        for denied in DENIED {
            if let Some(number) = denied.x86_64 {
                assert_eq!(
                    filter.evaluate(AUDIT_ARCH_X86_64, number, NO_ARGUMENTS),
                    Verdict::Errno(EPERM),
                    "x86_64 {}",
                    denied.name
                );
            }
            if let Some(number) = denied.i386 {
                assert_eq!(
                    filter.evaluate(AUDIT_ARCH_I386, number, NO_ARGUMENTS),
                    Verdict::Errno(EPERM),
                    "i386 {}",
                    denied.name
                );
            }
        }
    }

    #[test]
    fn ordinary_calls_are_allowed() {
        let filter = Filter::x86_64();
        // read, write, openat, execve, wait4, exit_group on x86_64; read, write, execve on i386.
        for number in [0, 1, 257, 59, 61, 231] {
            assert_eq!(
                filter.evaluate(AUDIT_ARCH_X86_64, number, NO_ARGUMENTS),
                Verdict::Allow,
                "{number}"
            );
        }
        for number in [3, 4, 11] {
            assert_eq!(
                filter.evaluate(AUDIT_ARCH_I386, number, NO_ARGUMENTS),
                Verdict::Allow,
                "{number}"
            );
        }
    }

    #[test]
    fn new_user_namespaces_are_refused_other_clones_allowed() {
        let filter = Filter::x86_64();
        // CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD: a thread.
        let thread = [0x0001_0f00, 0, 0, 0, 0, 0];
        let user_namespace = [CLONE_NEWUSER | 0x11, 0, 0, 0, 0, 0];
        for (arch, clone, unshare) in [
            (AUDIT_ARCH_X86_64, CLONE.0, UNSHARE.0),
            (AUDIT_ARCH_I386, CLONE.1, UNSHARE.1),
        ] {
            assert_eq!(filter.evaluate(arch, clone, thread), Verdict::Allow);
            assert_eq!(
                filter.evaluate(arch, clone, user_namespace),
                Verdict::Errno(EPERM)
            );
            assert_eq!(
                filter.evaluate(arch, unshare, user_namespace),
                Verdict::Errno(EPERM)
            );
            assert_eq!(filter.evaluate(arch, unshare, thread), Verdict::Allow);
            assert_eq!(
                filter.evaluate(arch, CLONE3, NO_ARGUMENTS),
                Verdict::Errno(ENOSYS)
            );
        }
    }

    #[test]
    fn terminal_injection_is_refused_other_ioctls_allowed() {
        let filter = Filter::x86_64();
        for request in TERMINAL_INJECTION {
            assert_eq!(
                filter.evaluate(AUDIT_ARCH_X86_64, IOCTL.0, [0, request, 0, 0, 0, 0]),
                Verdict::Errno(EPERM)
            );
        }
        // TCGETS
        assert_eq!(
            filter.evaluate(AUDIT_ARCH_X86_64, IOCTL.0, [0, 0x5401, 0, 0, 0, 0]),
            Verdict::Allow
        );
    }

    #[test]
    fn x32_is_refused_and_foreign_architectures_killed() {
        let filter = Filter::x86_64();
        // x32 mount and x32 read.
        for number in [X32_SYSCALL_BIT | 165, X32_SYSCALL_BIT] {
            assert_eq!(
                filter.evaluate(AUDIT_ARCH_X86_64, number, NO_ARGUMENTS),
                Verdict::Errno(ENOSYS)
            );
        }
        // AUDIT_ARCH_AARCH64: never seen from QEMU user mode on an x86_64 kernel.
        assert_eq!(
            filter.evaluate(0xC000_00B7, 0, NO_ARGUMENTS),
            Verdict::KillProcess
        );
    }

    #[test]
    fn the_program_is_eight_bytes_an_instruction_and_every_jump_lands_inside() {
        let filter = Filter::x86_64();
        let instructions = filter.instructions();
        assert_eq!(filter.to_bytes().len(), instructions.len() * 8);
        assert!(instructions.len() < 4096, "BPF_MAXINSNS");
        for (position, instruction) in instructions.iter().enumerate() {
            if instruction.code & 0x07 == 0x05 {
                for offset in [instruction.jump_true, instruction.jump_false] {
                    assert!(position + 1 + usize::from(offset) < instructions.len());
                }
            }
        }
        assert_eq!(
            instructions.last().map(|last| last.code),
            Some(BPF_RET_K),
            "the program ends in a verdict"
        );
    }

    /// The numbers against linux-libc-dev's headers, when installed (they are on Debian
    /// machines that build C; the table above is the reference otherwise).
    #[test]
    fn numbers_match_the_kernel_headers() {
        let headers = [
            (Abi::X86_64, "/usr/include/x86_64-linux-gnu/asm/unistd_64.h"),
            (Abi::I386, "/usr/include/x86_64-linux-gnu/asm/unistd_32.h"),
        ];
        for (abi, path) in headers {
            let Ok(text) = std::fs::read_to_string(path) else {
                if std::env::var_os("CI").is_some() {
                    panic!("`{path}` is missing under CI: install linux-libc-dev");
                }
                eprintln!("skipping the comparison with `{path}`: not installed");
                continue;
            };
            let number_of = |name: &str| {
                text.lines().find_map(|line| {
                    let mut words = line.split_whitespace();
                    (words.next() == Some("#define")
                        && words.next() == Some(&format!("__NR_{name}")))
                    .then(|| words.next().and_then(|number| number.parse::<u32>().ok()))
                    .flatten()
                })
            };
            for denied in DENIED {
                assert_eq!(
                    abi.denied(denied),
                    number_of(denied.name),
                    "{path} {}",
                    denied.name
                );
            }
            for (name, pair) in [("clone", CLONE), ("unshare", UNSHARE), ("ioctl", IOCTL)] {
                assert_eq!(Some(abi.number(pair)), number_of(name), "{path} {name}");
            }
            assert_eq!(Some(CLONE3), number_of("clone3"), "{path} clone3");
        }
    }
}
