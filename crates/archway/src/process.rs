//! The processes a build starts, and what happens to them when archway is told to stop.
//!
//! Every step runs in its own process group ([`Group::Own`]), so a signal meant for the build
//! reaches the compiler that `make` started and the `sleep` a test started in the background,
//! not only the step's first process. A terminal's Ctrl-C then reaches archway alone (the
//! terminal signals its foreground group, archway's), so archway handles SIGINT, SIGTERM, SIGHUP
//! and SIGQUIT while a step runs: it forwards the signal to the step's group and to every
//! process of the step that left the group (bubblewrap's `--new-session` puts the sandbox in a
//! session of its own), waits for all of them to end, sends SIGKILL after [`GRACE`], and the
//! step ends as [`Ended::Interrupted`]. A second signal sends SIGKILL at once. SIGTSTP (Ctrl-Z)
//! stops the step's group with archway, SIGCONT continues it. Between steps a signal does what
//! it would without the handler: it ends archway, once what would outlive it is undone
//! ([`on_interrupt`]: a temporary binfmt_misc entry).
//!
//! A user's command whose standard input is a terminal keeps archway's group
//! ([`Group::Inherited`]): it may read the terminal and use job control as `archway run` does,
//! and the signals are forwarded to its processes one by one.
//!
//! ```no_run
//! use std::process::Command;
//! use archway::process::{run, Ended, Group};
//!
//! let mut command = Command::new("make");
//! match run(&mut command, Group::Own)? {
//!     Ended::Exited(status) => println!("make exited: {status}"),
//!     Ended::Interrupted { signal } => println!("stopped by signal {signal}"),
//! }
//! # Ok::<(), std::io::Error>(())
//! ```

use std::collections::BTreeSet;
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitStatus};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal};
use signal_hook::consts::signal::{SIGCONT, SIGHUP, SIGINT, SIGKILL, SIGQUIT, SIGTERM, SIGTSTP};

/// How long a step's processes have to end after the forwarded signal before SIGKILL (make
/// removes half-written targets on SIGINT, a test suite its temporary files).
pub const GRACE: Duration = Duration::from_secs(5);

/// How long to wait after SIGKILL before giving up (a process in uninterruptible sleep on a
/// dead NFS server ignores even SIGKILL until the kernel call returns).
const AFTER_KILL: Duration = Duration::from_secs(2);

/// How often to look whether the step's processes are gone.
const POLL: Duration = Duration::from_millis(25);

/// The signals that stop a build: forwarded, then the step ends as interrupted.
const TERMINATING: [i32; 4] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT];

/// Which process group a step's processes are in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// A new group led by the step's first process (`setpgid(0, 0)` in the child).
    Own,
    /// archway's own group: the terminal's job control reaches the step directly.
    Inherited,
}

/// How a step's process ended.
#[derive(Debug)]
pub enum Ended {
    /// On its own, with this status.
    Exited(ExitStatus),
    /// archway received `signal` while the step ran, forwarded it, and every process of the
    /// step has ended.
    Interrupted { signal: i32 },
}

/// Starts `command` in `group`, waits for it, and forwards the terminating signals archway
/// receives meanwhile (see the module's documentation). `Err` only when it could not be
/// started. Once archway was interrupted, no further command starts: this returns
/// [`Ended::Interrupted`] at once.
pub fn run(command: &mut Command, group: Group) -> std::io::Result<Ended> {
    let supervisor = supervisor();
    let interrupted = supervisor.interrupted.load(Ordering::SeqCst);
    if interrupted != 0 {
        return Ok(Ended::Interrupted {
            signal: interrupted,
        });
    }
    if group == Group::Own {
        command.process_group(0);
    }
    let mut child = {
        // Spawned under the lock: a signal that comes meanwhile waits until the child is
        // registered, so it is either forwarded to it or ends archway before it starts.
        let mut running = supervisor.running();
        let child = command.spawn()?;
        // Linux pids stop at PID_MAX_LIMIT (2^22, include/linux/threads.h): the cast is exact.
        let leader = child.id() as i32;
        *running = Some(Running {
            leader,
            group: (group == Group::Own).then_some(leader),
            tree: Vec::new(),
        });
        child
    };
    let status = child.wait();
    let interrupted = supervisor.interrupted.load(Ordering::SeqCst);
    if interrupted != 0 {
        supervisor.wait_for_the_rest();
    }
    *supervisor.running() = None;
    let status = status?;
    Ok(if interrupted != 0 {
        Ended::Interrupted {
            signal: interrupted,
        }
    } else {
        Ended::Exited(status)
    })
}

/// Runs `undo` on the signal thread before a terminating signal ends archway between steps,
/// for what would outlive archway otherwise (its temporary binfmt_misc entries). A signal
/// during a step needs none of it: the step ends as [`Ended::Interrupted`] and the caller's
/// destructors undo. Signals are handled from now on. `undo` must not wait for the thread
/// that runs the steps; it runs at most once per signal, so register each kind of work once.
pub fn on_interrupt(undo: fn()) {
    supervisor();
    undoers().push(undo);
}

/// What [`on_interrupt`] was given.
fn undoers() -> MutexGuard<'static, Vec<fn()>> {
    static UNDO: Mutex<Vec<fn()>> = Mutex::new(Vec::new());
    // A panic while holding it leaves a complete list: `push` does not unwind halfway.
    UNDO.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The signal archway was interrupted by, if it was (0 never is a signal).
pub fn interrupted() -> Option<i32> {
    SUPERVISOR
        .get()
        .map(|supervisor| supervisor.interrupted.load(Ordering::SeqCst))
        .filter(|signal| *signal != 0)
}

/// The step that runs now.
#[derive(Debug)]
struct Running {
    /// The step's first process (the one archway started).
    leader: i32,
    /// Its group, when it has its own ([`Group::Own`]).
    group: Option<i32>,
    /// The step's processes when the first signal came, and those they started since.
    tree: Vec<ProcessEntry>,
}

#[derive(Debug)]
struct Supervisor {
    running: Mutex<Option<Running>>,
    /// The first terminating signal received; 0 until one is.
    interrupted: AtomicI32,
}

static SUPERVISOR: OnceLock<Supervisor> = OnceLock::new();

/// The supervisor, its signal thread started on first use: signals are only handled once a
/// step has run or [`on_interrupt`] was called (before that they do what they always did).
fn supervisor() -> &'static Supervisor {
    SUPERVISOR.get_or_init(|| {
        if let Err(error) = start_signal_thread() {
            tracing::warn!(%error, "signals will not be forwarded to the build's processes");
        }
        Supervisor {
            running: Mutex::new(None),
            interrupted: AtomicI32::new(0),
        }
    })
}

fn start_signal_thread() -> std::io::Result<()> {
    let mut signals =
        signal_hook::iterator::Signals::new(TERMINATING.iter().copied().chain([SIGTSTP, SIGCONT]))?;
    std::thread::Builder::new()
        .name("archway-signals".to_string())
        .spawn(move || {
            for signal in signals.forever() {
                supervisor().handle(signal);
            }
        })?;
    Ok(())
}

impl Supervisor {
    fn running(&self) -> MutexGuard<'_, Option<Running>> {
        // A panic while holding it cannot leave it inconsistent: it is one `Option`.
        self.running
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// On the signal thread: what `signal` does to the step that runs.
    fn handle(&self, signal: i32) {
        let mut running = self.running();
        let Some(step) = running.as_mut() else {
            drop(running);
            // Nothing of ours to stop: what the signal would do without a handler (end
            // archway for the terminating ones, stop it for SIGTSTP).
            if TERMINATING.contains(&signal) {
                let undo = undoers().clone();
                for undo in undo {
                    undo();
                }
            }
            default_action(signal);
            return;
        };
        match signal {
            SIGCONT => step.send(SIGCONT),
            SIGTSTP => {
                step.send(SIGTSTP);
                drop(running);
                default_action(SIGTSTP);
            }
            _ => {
                let first = self
                    .interrupted
                    .compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst)
                    .is_ok();
                step.refresh(&all_processes());
                if first {
                    step.send(signal);
                    // A stopped process (Ctrl-Z earlier, or SIGTTIN) acts on it only once
                    // continued (signal(7)).
                    step.send(SIGCONT);
                    // The step's first process may ignore the signal too: then nothing else
                    // would end the wait for it.
                    let leader = step.leader;
                    let escalation = std::thread::Builder::new()
                        .name("archway-grace".to_string())
                        .spawn(move || {
                            std::thread::sleep(GRACE);
                            supervisor().kill(leader);
                        });
                    if let Err(error) = escalation {
                        tracing::warn!(%error, "no SIGKILL after the grace period");
                    }
                } else {
                    step.send(SIGKILL);
                }
            }
        }
    }

    /// [`GRACE`] after the first signal: SIGKILL to what is left of the step led by `leader`
    /// (if it still runs).
    fn kill(&self, leader: i32) {
        let mut running = self.running();
        if let Some(step) = running.as_mut().filter(|step| step.leader == leader) {
            step.refresh(&all_processes());
            step.send(SIGKILL);
        }
    }

    /// After an interrupted step's first process ended: waits until the rest of its
    /// processes have too (the grace thread sends SIGKILL after [`GRACE`]).
    fn wait_for_the_rest(&self) {
        let started = Instant::now();
        loop {
            let remaining = {
                let mut running = self.running();
                let Some(step) = running.as_mut() else {
                    return;
                };
                step.refresh(&all_processes());
                if step.tree.is_empty() {
                    return;
                }
                if started.elapsed() >= GRACE + AFTER_KILL {
                    tracing::warn!(
                        processes = ?step.tree.iter().map(|p| p.pid).collect::<Vec<_>>(),
                        "processes of the interrupted step did not end after SIGKILL"
                    );
                    return;
                }
                step.tree.len()
            };
            tracing::debug!(remaining, "waiting for the interrupted step's processes");
            std::thread::sleep(POLL);
        }
    }
}

impl Running {
    /// Keeps, of the step's processes, those still alive, and adds every live process of its
    /// group and every descendant of those (`processes`: the system's, from /proc).
    fn refresh(&mut self, processes: &[ProcessEntry]) {
        let mut roots: Vec<ProcessEntry> = processes
            .iter()
            .filter(|process| {
                process.pid == self.leader
                    || self.group == Some(process.group)
                    || self.tree.iter().any(|known| known.same_process(process))
            })
            .copied()
            .collect();
        roots.retain(|process| !process.zombie);
        self.tree = tree_of(&roots, processes);
    }

    /// Sends `signal` to the step's group (when it has one) and to each of its processes
    /// outside the group. Errors are ignored: a process may end at any time.
    fn send(&self, signal: i32) {
        let Some(signal) = Signal::from_raw(signal) else {
            return;
        };
        if let Some(group) = self.group.and_then(Pid::from_raw) {
            let _ = rustix::process::kill_process_group(group, signal);
        }
        let own = rustix::process::getpid().as_raw_nonzero().get();
        for process in &self.tree {
            if Some(process.group) == self.group || process.pid == own {
                continue;
            }
            if let Some(pid) = Pid::from_raw(process.pid) {
                let _ = rustix::process::kill_process(pid, signal);
            }
        }
        if self.group.is_none() {
            if let Some(pid) = Pid::from_raw(self.leader) {
                let _ = rustix::process::kill_process(pid, signal);
            }
        }
    }
}

/// What the signal does by default (signal(7)): end archway, or stop it.
fn default_action(signal: i32) {
    if signal_hook::low_level::emulate_default_handler(signal).is_err() && signal != SIGTSTP {
        std::process::exit(128 + signal);
    }
}

/// One process, from `/proc/<pid>/stat` (proc_pid_stat(5)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ProcessEntry {
    pid: i32,
    parent: i32,
    group: i32,
    /// In clock ticks since boot: with the pid, names one process even when pids are reused.
    start: u64,
    /// Ended but not yet reaped (state `Z`): it runs nothing any more.
    zombie: bool,
}

impl ProcessEntry {
    /// Parses a `stat` line: `pid (comm) state ppid pgrp session ... starttime(22nd) ...`. The
    /// command name may hold spaces and parentheses, so fields are counted after the last `)`.
    fn parse(stat: &str) -> Option<ProcessEntry> {
        let (head, tail) = stat.rsplit_once(')')?;
        let pid = head.split_once('(')?.0.trim().parse().ok()?;
        let fields: Vec<&str> = tail.split_whitespace().collect();
        Some(ProcessEntry {
            pid,
            zombie: *fields.first()? == "Z",
            parent: fields.get(1)?.parse().ok()?,
            group: fields.get(2)?.parse().ok()?,
            start: fields.get(19)?.parse().ok()?,
        })
    }

    fn same_process(&self, other: &ProcessEntry) -> bool {
        self.pid == other.pid && self.start == other.start
    }
}

/// Every process this namespace shows in `/proc`.
fn all_processes() -> Vec<ProcessEntry> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|entry| {
            entry
                .file_name()
                .to_str()
                .is_some_and(|name| name.bytes().all(|byte| byte.is_ascii_digit()))
        })
        .filter_map(|entry| std::fs::read_to_string(entry.path().join("stat")).ok())
        .filter_map(|stat| ProcessEntry::parse(&stat))
        .collect()
}

/// `roots` and all their live descendants among `processes`.
fn tree_of(roots: &[ProcessEntry], processes: &[ProcessEntry]) -> Vec<ProcessEntry> {
    let mut seen: BTreeSet<i32> = roots.iter().map(|process| process.pid).collect();
    let mut tree = roots.to_vec();
    let mut index = 0;
    while let Some(parent) = tree.get(index).map(|process| process.pid) {
        for process in processes {
            if process.parent == parent && !process.zombie && seen.insert(process.pid) {
                tree.push(*process);
            }
        }
        index += 1;
    }
    tree
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(pid: i32, parent: i32, group: i32) -> ProcessEntry {
        ProcessEntry {
            pid,
            parent,
            group,
            start: 1000 + pid as u64,
            zombie: false,
        }
    }

    #[test]
    fn stat_lines_parse_with_spaces_and_parentheses_in_the_name() {
        let line =
            "4242 (a (weird) name) S 4200 4242 4100 34816 4242 4194560 110 0 0 0 0 0 0 0 20 \
                    0 1 0 987654 2244608 205 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0";
        assert_eq!(
            ProcessEntry::parse(line),
            Some(ProcessEntry {
                pid: 4242,
                parent: 4200,
                group: 4242,
                start: 987654,
                zombie: false,
            })
        );
        let zombie = line.replace(") S ", ") Z ");
        assert!(ProcessEntry::parse(&zombie).is_some_and(|process| process.zombie));
        assert_eq!(ProcessEntry::parse("4242 (truncated) S 1"), None);
        assert_eq!(ProcessEntry::parse(""), None);
    }

    #[test]
    fn this_process_is_found_in_proc() {
        let own = rustix::process::getpid().as_raw_nonzero().get();
        let processes = all_processes();
        let me = processes
            .iter()
            .find(|process| process.pid == own)
            .expect("this process in /proc");
        assert_eq!(
            me.group,
            rustix::process::getpgrp().as_raw_nonzero().get(),
            "{me:?}"
        );
    }

    #[test]
    fn a_tree_holds_the_descendants_and_not_the_rest() {
        // 10 ─ 11 ─ 13 (left the group: a sandbox's own session)
        //   └─ 12 (a zombie)        20 ─ 21 (another tree)
        let mut zombie = entry(12, 10, 10);
        zombie.zombie = true;
        let processes = [
            entry(10, 1, 10),
            entry(11, 10, 10),
            zombie,
            entry(13, 11, 13),
            entry(20, 1, 20),
            entry(21, 20, 20),
        ];
        let tree: Vec<i32> = tree_of(&processes[..1], &processes)
            .iter()
            .map(|process| process.pid)
            .collect();
        assert_eq!(tree, [10, 11, 13]);
    }

    #[test]
    fn refresh_keeps_processes_that_left_the_group_and_drops_the_ended() {
        let mut running = Running {
            leader: 10,
            group: Some(10),
            tree: Vec::new(),
        };
        running.refresh(&[entry(10, 1, 10), entry(11, 10, 11), entry(12, 11, 11)]);
        assert_eq!(running.tree.len(), 3);
        // The leader ended: 11 was reparented to init, and is still the step's.
        running.refresh(&[entry(11, 1, 11), entry(12, 11, 11), entry(30, 1, 30)]);
        let pids: Vec<i32> = running.tree.iter().map(|process| process.pid).collect();
        assert_eq!(pids, [11, 12]);
        // A new process under 11's reused pid is not the step's.
        let mut reused = entry(11, 1, 11);
        reused.start += 1;
        running.refresh(&[reused]);
        assert!(running.tree.is_empty());
    }

    #[test]
    fn a_step_runs_in_its_own_group_and_its_status_is_returned() {
        let mut command = Command::new("sh");
        command.args([
            "-c",
            "test \"$(cut -d' ' -f5 /proc/$$/stat)\" -eq $$ && exit 3",
        ]);
        match run(&mut command, Group::Own).expect("started") {
            Ended::Exited(status) => assert_eq!(status.code(), Some(3)),
            Ended::Interrupted { signal } => panic!("interrupted by {signal}"),
        }
        let mut command = Command::new("sh");
        command.args([
            "-c",
            "test \"$(cut -d' ' -f5 /proc/$$/stat)\" -ne $$ && exit 4",
        ]);
        match run(&mut command, Group::Inherited).expect("started") {
            Ended::Exited(status) => assert_eq!(status.code(), Some(4)),
            Ended::Interrupted { signal } => panic!("interrupted by {signal}"),
        }
    }
}
