//! Child processes in process groups of their own, killed with culprit.
//!
//! Builds (`make -j` and its compilers), test commands and QEMU run in a
//! process group of their own, so that a time limit kills the whole tree.
//! That also keeps the terminal's Ctrl-C from reaching them, so [`spawn`]
//! records every group it starts in a fixed table until its leader has
//! exited, and the first [`spawn`] installs a handler for SIGINT, SIGTERM
//! and SIGHUP that SIGKILLs every recorded group, after which the process
//! dies of the signal as it would have. A signal the process was started
//! ignoring (`nohup`, a background job of a script) stays ignored, and one
//! that already has a handler keeps it.
//!
//! The handler makes async-signal-safe calls only (atomics, `kill`,
//! `nanosleep`, `signal`, `raise`). A signal that arrives while another
//! thread is starting a group waits for the group to be recorded (the
//! starting thread blocks these signals meanwhile), and no group is started
//! once a signal has arrived.
#![deny(missing_docs)]

use std::io;
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStderr, ChildStdout, Command, ExitStatus};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering::SeqCst};
use std::sync::Once;
use std::time::{Duration, Instant};

/// How many groups can run at once.
const SLOTS: usize = 1024;
/// A free slot.
const FREE: i32 = 0;
/// A slot taken by a spawn that has not recorded its group yet.
const RESERVED: i32 = -1;

/// The groups that run: a group id, [`FREE`] or [`RESERVED`].
static GROUPS: [AtomicI32; SLOTS] = [const { AtomicI32::new(FREE) }; SLOTS];
/// Spawns between their check of [`DYING`] and the recording of their group.
static SPAWNING: AtomicUsize = AtomicUsize::new(0);
/// Set by the handler: start no more groups.
static DYING: AtomicBool = AtomicBool::new(false);

/// The signals that kill the recorded groups.
const SIGNALS: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

/// A child process leading a process group of its own, recorded so that a
/// signal to this process kills the group. Dropping a group whose leader has
/// not been waited for kills the group and waits for the leader.
#[derive(Debug)]
pub struct Group {
    child: Child,
    /// Our slot in [`GROUPS`], until the leader has exited.
    slot: Option<usize>,
    /// The leader's exit status, once it has been waited for.
    status: Option<ExitStatus>,
    /// Kill what is left of the group when the leader exits.
    end_with_leader: bool,
}

/// Spawns `command` (with whatever directory, arguments, environment and
/// standard streams it was given) as the leader of a new process group.
pub fn spawn(command: &mut Command) -> io::Result<Group> {
    install_handlers();
    let slot = reserve_slot()?;
    let spawned = {
        let _blocked = BlockedSignals::block();
        SPAWNING.fetch_add(1, SeqCst);
        let spawned = if DYING.load(SeqCst) {
            Err(io::Error::other(
                "stopping on a signal: not starting a command",
            ))
        } else {
            command.process_group(0).spawn()
        };
        let id = match &spawned {
            Ok(child) => i32::try_from(child.id()).unwrap_or(FREE),
            Err(_) => FREE,
        };
        GROUPS[slot].store(id, SeqCst);
        SPAWNING.fetch_sub(1, SeqCst);
        spawned
    };
    Ok(Group {
        child: spawned?,
        slot: Some(slot),
        status: None,
        end_with_leader: false,
    })
}

impl Group {
    /// The leader's process id, which is also the group's id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// The leader's standard output, if it was piped (once).
    pub fn take_stdout(&mut self) -> Option<ChildStdout> {
        self.child.stdout.take()
    }

    /// The leader's standard error, if it was piped (once).
    pub fn take_stderr(&mut self) -> Option<ChildStderr> {
        self.child.stderr.take()
    }

    /// From now on, when the leader exits, the rest of its group (what it
    /// left running in the background) is killed before the leader is
    /// reaped. For a test run: what it started ends with it.
    pub fn end_with_leader(&mut self) {
        self.end_with_leader = true;
    }

    /// The leader's exit status if it has exited, without blocking. Other
    /// processes of the group may still run (unless
    /// [`Group::end_with_leader`] was asked for); they are no longer killed
    /// by a signal to this process.
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        if self.status.is_some() {
            return Ok(self.status);
        }
        // Seen without reaping: the group id cannot be reused before the
        // slot is free.
        if !leader_exited(&self.child)? {
            return Ok(None);
        }
        if self.end_with_leader {
            if let Ok(id) = libc::pid_t::try_from(self.child.id()) {
                // SAFETY: kill(2) touches no memory; the leader is not
                // reaped yet, so `id` still names the group we created.
                unsafe { libc::kill(-id, libc::SIGKILL) };
            }
        }
        self.release();
        let status = self.child.wait()?;
        self.status = Some(status);
        Ok(Some(status))
    }

    /// Waits for the leader to exit until `deadline`; then kills the whole
    /// group and returns `None`. A deadline too far to represent is
    /// [`wait_for`](Group::wait_for)'s job.
    pub fn wait_until(&mut self, deadline: Instant) -> io::Result<Option<ExitStatus>> {
        let mut pause = Duration::from_millis(1);
        loop {
            if let Some(status) = self.try_wait()? {
                return Ok(Some(status));
            }
            let now = Instant::now();
            if now >= deadline {
                self.kill()?;
                return Ok(None);
            }
            std::thread::sleep(pause.min(deadline - now));
            pause = (pause * 2).min(Duration::from_millis(25));
        }
    }

    /// Waits for the leader at most `limit` (without limit when `limit`
    /// reaches past what the clock can represent).
    pub fn wait_for(&mut self, limit: Duration) -> io::Result<Option<ExitStatus>> {
        self.wait_until(deadline_after(limit))
    }

    /// Kills the whole group (unless the leader was already waited for) and
    /// waits for the leader; returns its exit status.
    pub fn kill(&mut self) -> io::Result<ExitStatus> {
        if let Some(status) = self.status {
            return Ok(status);
        }
        if let Ok(id) = libc::pid_t::try_from(self.child.id()) {
            // SAFETY: kill(2) touches no memory. The leader has not been
            // reaped, so `id` is still the id of the group we created.
            unsafe { libc::kill(-id, libc::SIGKILL) };
        }
        self.release();
        let status = self.child.wait()?;
        self.status = Some(status);
        Ok(status)
    }

    fn release(&mut self) {
        if let Some(slot) = self.slot.take() {
            GROUPS[slot].store(FREE, SeqCst);
        }
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        // `kill` frees the slot before anything can fail.
        let _ = self.kill();
    }
}

/// Kills every recorded group now and starts no more, as a signal would,
/// without dying: for a program that handles SIGINT and SIGTERM itself
/// (a worker finishing its run first) and, asked again, stops at once.
pub fn stop_all() {
    DYING.store(true, SeqCst);
    kill_recorded_groups();
    let deadline = Instant::now() + Duration::from_secs(2);
    while SPAWNING.load(SeqCst) > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    kill_recorded_groups();
}

/// The instant `limit` from now, or about a century from now when the
/// clock cannot represent that (a limit given as "forever").
pub fn deadline_after(limit: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(limit)
        .or_else(|| now.checked_add(Duration::from_secs(100 * 365 * 86_400)))
        .unwrap_or(now)
}

/// Whether the leader has exited, leaving it to be reaped.
fn leader_exited(child: &Child) -> io::Result<bool> {
    let options = libc::WEXITED | libc::WNOHANG | libc::WNOWAIT;
    loop {
        // SAFETY: a zeroed siginfo_t is valid; waitid(2) writes only into it.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: as above; `info` outlives the call.
        let r = unsafe { libc::waitid(libc::P_PID, child.id(), &mut info, options) };
        if r == 0 {
            // SAFETY: waitid filled in a SIGCHLD siginfo, or left it zeroed
            // (no state change).
            return Ok(unsafe { info.si_pid() } != 0);
        }
        let error = io::Error::last_os_error();
        if error.kind() != io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
}

fn reserve_slot() -> io::Result<usize> {
    GROUPS
        .iter()
        .position(|slot| {
            slot.compare_exchange(FREE, RESERVED, SeqCst, SeqCst)
                .is_ok()
        })
        .ok_or_else(|| io::Error::other(format!("more than {SLOTS} commands running at once")))
}

/// Blocks [`SIGNALS`] in this thread while it lives, so that the handler
/// never runs in a thread that is starting a group (it would wait for it).
struct BlockedSignals {
    old: libc::sigset_t,
}

impl BlockedSignals {
    fn block() -> Self {
        // SAFETY: the sets are plain data, initialised by sigemptyset before
        // use; pthread_sigmask only changes this thread's mask. The child's
        // mask is reset by std::process before it runs its program.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            let mut old: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            for signal in SIGNALS {
                libc::sigaddset(&mut set, signal);
            }
            libc::pthread_sigmask(libc::SIG_BLOCK, &set, &mut old);
            BlockedSignals { old }
        }
    }
}

impl Drop for BlockedSignals {
    fn drop(&mut self) {
        // SAFETY: restores the mask saved by `block`; a signal that came
        // meanwhile is delivered now.
        unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &self.old, std::ptr::null_mut()) };
    }
}

fn install_handlers() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        for signal in SIGNALS {
            // SAFETY: sigaction(2) on plain data; the handler only makes
            // async-signal-safe calls.
            unsafe {
                let mut old: libc::sigaction = std::mem::zeroed();
                if libc::sigaction(signal, std::ptr::null(), &mut old) != 0
                    || old.sa_sigaction != libc::SIG_DFL
                {
                    continue;
                }
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
                action.sa_flags = libc::SA_RESTART;
                libc::sigemptyset(&mut action.sa_mask);
                libc::sigaction(signal, &action, std::ptr::null_mut());
            }
        }
    });
}

/// Kills every recorded group, then dies of `signal`.
extern "C" fn on_signal(signal: libc::c_int) {
    DYING.store(true, SeqCst);
    kill_recorded_groups();
    // A group being started is recorded within a fork and an exec; give it
    // two seconds at most.
    let pause = libc::timespec {
        tv_sec: 0,
        tv_nsec: 1_000_000,
    };
    for _ in 0..2000 {
        if SPAWNING.load(SeqCst) == 0 {
            break;
        }
        // SAFETY: nanosleep(2) is async-signal-safe and reads only `pause`.
        unsafe { libc::nanosleep(&pause, std::ptr::null_mut()) };
    }
    kill_recorded_groups();
    // SAFETY: signal(2) and raise(3) are async-signal-safe. The signal is
    // blocked while its handler runs: it is delivered, with its default
    // action, on return.
    unsafe {
        libc::signal(signal, libc::SIG_DFL);
        libc::raise(signal);
    }
}

fn kill_recorded_groups() {
    for slot in &GROUPS {
        let group = slot.load(SeqCst);
        if group > 0 {
            // SAFETY: kill(2) is async-signal-safe and touches no memory.
            unsafe { libc::kill(-group, libc::SIGKILL) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Stdio;
    use std::sync::{Mutex, MutexGuard};

    /// One test at a time: they count slots.
    fn serial() -> MutexGuard<'static, ()> {
        static SERIAL: Mutex<()> = Mutex::new(());
        SERIAL.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn taken() -> usize {
        GROUPS.iter().filter(|s| s.load(SeqCst) != FREE).count()
    }

    #[test]
    fn a_group_is_recorded_until_its_leader_exits() {
        let _serial = serial();
        let mut command = Command::new("cat");
        command.stdin(Stdio::piped());
        let mut group = spawn(&mut command).unwrap();
        let id = group.id() as i32;
        assert!(GROUPS.iter().any(|slot| slot.load(SeqCst) == id));
        assert_eq!(taken(), 1);
        assert_eq!(group.try_wait().unwrap(), None);
        drop(group.child.stdin.take());
        let status = group.wait_until(Instant::now() + Duration::from_secs(10));
        assert!(status.unwrap().unwrap().success());
        assert_eq!(taken(), 0);
    }

    #[test]
    fn a_dropped_group_is_killed_and_forgotten() {
        let _serial = serial();
        let group = spawn(Command::new("sleep").arg("600")).unwrap();
        let id = group.id() as i32;
        drop(group);
        assert_eq!(taken(), 0);
        // SAFETY: signal 0 only checks whether the group exists.
        assert_eq!(unsafe { libc::kill(-id, 0) }, -1);
    }

    #[test]
    fn a_failed_spawn_frees_its_slot() {
        let _serial = serial();
        assert!(spawn(&mut Command::new("/nonexistent/program")).is_err());
        assert_eq!(taken(), 0);
    }

    #[test]
    fn the_child_does_not_inherit_the_blocked_signals() {
        let _serial = serial();
        // std starts children with posix_spawn, or with fork and exec when
        // there is code to run in between (as for QEMU): both reset the mask.
        for pre_exec in [false, true] {
            let mut command = Command::new("sh");
            command
                .args(["-c", "grep '^SigBlk' /proc/self/status"])
                .stdout(Stdio::piped());
            if pre_exec {
                // SAFETY: the closure does nothing.
                unsafe { command.pre_exec(|| Ok(())) };
            }
            let mut group = spawn(&mut command).unwrap();
            let mut out = String::new();
            std::io::Read::read_to_string(&mut group.take_stdout().unwrap(), &mut out).unwrap();
            group
                .wait_until(Instant::now() + Duration::from_secs(10))
                .unwrap();
            assert_eq!(
                out.trim(),
                "SigBlk:\t0000000000000000",
                "pre_exec: {pre_exec}"
            );
        }
    }

    #[test]
    fn the_time_limit_kills_the_whole_group() {
        let _serial = serial();
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("marker");
        let script = format!("(sleep 1; touch {}) & wait", marker.display());
        let mut group = spawn(Command::new("sh").args(["-c", &script])).unwrap();
        let start = Instant::now();
        let status = group
            .wait_until(start + Duration::from_millis(200))
            .unwrap();
        assert_eq!(status, None);
        assert!(start.elapsed() < Duration::from_secs(1));
        assert!(group.kill().is_ok(), "the status is kept");
        assert_eq!(taken(), 0);
        std::thread::sleep(Duration::from_millis(1500));
        assert!(
            !marker.exists(),
            "the background child survived the time limit"
        );
    }
}
